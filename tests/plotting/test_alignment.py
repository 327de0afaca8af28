"""plot_alignment / plot_attention_heads: PNG files, tokens on the axes."""

import struct

import numpy as np
import pytest
from matplotlib.figure import Figure

from keras_seq.plotting import plot_alignment
from keras_seq.plotting import plot_attention_heads

SOURCE = "ein Mann mit einem orangefarbenen Hut . [EOS]".split()
TARGET = "a man in an orange hat . [EOS]".split()


def _weights(shape, seed=0):
    w = np.random.default_rng(seed).random(shape)
    return w / w.sum(-1, keepdims=True)


def _png_size(path):
    with open(path, "rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def _labels(ticks):
    return [t.get_text() for t in ticks]


def test_plot_alignment_png_and_axes(tmp_path):
    weights = _weights((len(TARGET), len(SOURCE)))
    path = tmp_path / "alignment.png"
    figure = plot_alignment(weights, SOURCE, TARGET, path=str(path), title="t")
    assert isinstance(figure, Figure)
    width, height = _png_size(path)
    # 8 x 8 tokens at 100 dpi: a few hundred pixels each way.
    assert 300 <= width <= 2000 and 300 <= height <= 2000, (width, height)
    assert path.stat().st_size > 5_000
    ax = figure.axes[0]
    assert _labels(ax.get_xticklabels()) == SOURCE
    assert _labels(ax.get_yticklabels()) == TARGET
    assert ax.get_title() == "t"
    # The heatmap shows exactly the weights: rows = outputs, cols = source.
    np.testing.assert_array_equal(ax.images[0].get_array(), weights)
    assert len(figure.axes) == 2  # heatmap and colour bar


def test_plot_alignment_accepts_tensor_and_axes():
    import keras

    weights = _weights((3, 5), seed=1)
    figure = Figure()
    ax = figure.add_subplot(1, 2, 2)
    out = plot_alignment(
        keras.ops.convert_to_tensor(weights, "float32"),
        list("abcde"),
        ["x", "y", "z"],
        ax=ax,
    )
    assert out is figure
    np.testing.assert_allclose(ax.images[0].get_array(), weights, rtol=1e-6)
    assert _labels(ax.get_xticklabels()) == list("abcde")


def test_plot_alignment_bad_inputs():
    weights = _weights((len(TARGET), len(SOURCE)))
    with pytest.raises(ValueError, match=r"Received: weights.shape=\(8, 7\)"):
        plot_alignment(weights[:, :7], SOURCE, TARGET)
    with pytest.raises(ValueError, match=r"Received: weights.shape=\(8,\)"):
        plot_alignment(weights[0], SOURCE, TARGET)
    with pytest.raises(ValueError, match="Received: source_tokens='ein"):
        plot_alignment(weights, " ".join(SOURCE), TARGET)
    with pytest.raises(ValueError, match="Received: target_tokens=\\[\\]"):
        plot_alignment(weights, SOURCE, [])
    bad = weights.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        plot_alignment(bad, SOURCE, TARGET)


def test_plot_attention_heads(tmp_path):
    heads = _weights((3, len(TARGET), len(SOURCE)), seed=2)
    path = tmp_path / "heads.png"
    figure = plot_attention_heads(
        heads, SOURCE, TARGET, path=str(path), title="layer 0"
    )
    width, height = _png_size(path)
    assert 500 <= width <= 4000 and 500 <= height <= 4000, (width, height)
    for h in range(3):
        ax = figure.axes[h]
        assert ax.get_title() == f"head {h}"
        assert _labels(ax.get_xticklabels()) == SOURCE
        assert _labels(ax.get_yticklabels()) == TARGET
        np.testing.assert_array_equal(ax.images[0].get_array(), heads[h])
    # 3 heads on a 2 x 2 grid: the fourth cell is hidden.
    assert not figure.axes[3].get_visible()
    one_row = plot_attention_heads(heads, SOURCE, TARGET, num_columns=3)
    assert all(ax.get_visible() for ax in one_row.axes[:3])


def test_plot_attention_heads_bad_inputs():
    heads = _weights((2, len(TARGET), len(SOURCE)))
    with pytest.raises(ValueError, match=r"Received: weights.shape=\(8, 8\)"):
        plot_attention_heads(heads[0], SOURCE, TARGET)
    with pytest.raises(ValueError, match="Received: weights.shape"):
        plot_attention_heads(heads, SOURCE[:-1], TARGET)
    with pytest.raises(ValueError, match="Received: num_columns=0"):
        plot_attention_heads(heads, SOURCE, TARGET, num_columns=0)
