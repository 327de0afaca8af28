"""Tests of the attention overlay figure."""

import numpy as np
import pytest
from matplotlib.image import imread

from keras_seq.plotting import plot_attention_overlay
from keras_seq.plotting.attention_overlay import upsample_attention


def _image(height=32, width=32):
    rng = np.random.default_rng(0)
    return rng.uniform(0.3, 1.0, (height, width, 3))


def test_upsample_attention_interpolates_between_cell_centres():
    grid = np.array([0.0, 1.0, 2.0, 3.0])  # 2x2, row-major
    up = upsample_attention(grid, (2, 2), (4, 4))
    # Cell centres are at pixel centres 1 and 3 (pixels 0.5 .. 3.5):
    # linear in between, constant outside.
    expected_row0 = np.interp([0.5, 1.5, 2.5, 3.5], [1.0, 3.0], [0.0, 1.0])
    np.testing.assert_allclose(up[0], expected_row0)
    np.testing.assert_allclose(up[:, 0], 2 * expected_row0)
    np.testing.assert_allclose(up[3, 3], 3.0)
    # Pixel (1, 1), a quarter of the way from centre (1, 1) to (3, 3):
    # bilinear weights 0.75 * 0.75, 0.75 * 0.25, 0.25 * 0.75, 0.25 * 0.25.
    bilinear = 0.5625 * 0.0 + 0.1875 * 1.0 + 0.1875 * 2.0 + 0.0625 * 3.0
    np.testing.assert_allclose(up[1, 1], bilinear)


def test_overlay_brightens_the_attended_region(tmp_path):
    image = _image()
    words = ["a", "red", "circle"]
    alignment = np.full((5, 16), 0.01)  # 4x4 grid, extra rows ignored
    peaks = [0, 5, 15]
    for t, region in enumerate(peaks):
        alignment[t, region] = 1.0
    alignment /= alignment.sum(1, keepdims=True)
    path = tmp_path / "overlay.png"
    figure = plot_attention_overlay(
        image,
        words,
        alignment,
        (4, 4),
        path=str(path),
        title="a red circle",
        gates=np.array([0.5, 0.9, 0.1, 0.0, 0.0]),
    )
    visible = [ax for ax in figure.axes if ax.get_images()]
    assert len(visible) == 4  # image + one panel per word
    assert [ax.get_title() for ax in visible[1:]] == [
        "a\nβ=0.50",
        "red\nβ=0.90",
        "circle\nβ=0.10",
    ]
    np.testing.assert_allclose(visible[0].get_images()[0].get_array(), image)
    for ax, region in zip(visible[1:], peaks):
        shown = np.asarray(ax.get_images()[0].get_array())
        ratio = (shown / image).mean(-1)  # brightness kept per pixel
        row, column = divmod(region, 4)
        cell = ratio[row * 8 : row * 8 + 8, column * 8 : column * 8 + 8]
        # The brightest pixels are in the peak cell (its centre is lit at
        # about full brightness), far cells are dimmed.
        y, x = np.unravel_index(np.argmax(ratio), ratio.shape)
        assert (y // 8, x // 8) == (row, column)
        assert cell[3:5, 3:5].min() > 0.85
        assert ratio.min() < 0.3
    png = imread(str(path))
    assert png.ndim == 3 and png.shape[0] > 100 and png.shape[1] > 300


def test_grey_and_255_images_are_accepted():
    grey = np.full((16, 16), 128.0)
    figure = plot_attention_overlay(grey, ["x"], np.full((1, 4), 0.25), (2, 2))
    shown = figure.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(shown, 128.0 / 255.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"words": []}, "words"),
        ({"words": "a red circle"}, "words"),
        ({"alignment": np.zeros((1, 16))}, "alignment.shape"),
        ({"alignment": np.zeros((3, 9))}, "alignment.shape"),
        ({"alignment": np.full((3, 16), np.nan)}, "NaN"),
        ({"grid_shape": (4,)}, "grid_shape"),
        ({"image": np.zeros((4, 4, 2))}, "image.shape"),
        ({"num_columns": 0}, "num_columns"),
        ({"gates": np.ones(1)}, "gates"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {
        "image": _image(),
        "words": ["a", "b", "c"],
        "alignment": np.full((3, 16), 1 / 16),
        "grid_shape": (4, 4),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plot_attention_overlay(**args)
