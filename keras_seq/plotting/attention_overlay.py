"""Each word's attention over the image (Xu et al. 2015 figs. 2-5)."""

import math

import numpy as np

from keras_seq.plotting.alignment import _check_tokens
from keras_seq.plotting.alignment import _new_figure
from keras_seq.plotting.alignment import _save
from keras_seq.plotting.alignment import _to_numpy

# Inches per panel.
_PANEL = 1.9


def upsample_attention(weights, grid_shape, image_shape):
    """Bilinear upsampling of one step's weights `(L,)` to the image.

    The weight of region `i` sits at the centre of grid cell `(i // w,
    i % w)` and is interpolated linearly between cell centres (held
    constant beyond the outer centres), like the paper's upsampled maps.

    Args:
        weights: `(L,)` attention weights, `L = h * w`.
        grid_shape: `(h, w)`.
        image_shape: `(height, width)` of the image.

    Returns:
        float64 `(height, width)`.
    """
    h, w = grid_shape
    height, width = image_shape[:2]
    grid = np.asarray(weights, "float64").reshape(h, w)
    centres_y = (np.arange(h) + 0.5) * height / h
    centres_x = (np.arange(w) + 0.5) * width / w
    pixels_y = np.arange(height) + 0.5
    pixels_x = np.arange(width) + 0.5
    rows = np.stack(
        [np.interp(pixels_x, centres_x, grid[r]) for r in range(h)]
    )  # (h, width)
    return np.stack(
        [np.interp(pixels_y, centres_y, rows[:, x]) for x in range(width)],
        axis=1,
    )  # (height, width)


def _check_image(image):
    image = _to_numpy(image, "image")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(
            "`image` must be (height, width, 3) or (height, width). "
            f"Received: image.shape={image.shape}"
        )
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    if not np.all(np.isfinite(image)):
        raise ValueError("`image` contains NaN or infinite values.")
    if image.max(initial=0.0) > 1.0:  # 0-255 pixels
        image = image / 255.0
    return np.clip(image, 0.0, 1.0)


def plot_attention_overlay(
    image,
    words,
    alignment,
    grid_shape,
    path=None,
    title=None,
    gates=None,
    num_columns=5,
    dpi=100,
):
    """One panel per generated word: the image lit where it attended.

    The first panel shows the image; panel t+1 shows word t over the image
    brightened by its upsampled attention map `alpha_t` (dark where the
    model did not look), scaled so each word's peak is fully bright, as
    in Xu et al. (2015) figs. 2-5. A white square marks the peak region.

    Args:
        image: `(height, width, 3)` (or grey `(height, width)`) in `[0, 1]`
            or `[0, 255]`.
        words: list of the generated words (without [EOS] if it is not
            to be shown).
        alignment: `(steps, L)` with `steps >= len(words)`, row t the
            weights used to produce `words[t]` (`generate()["alignment"]`
            of one image); extra rows (after EOS) are ignored.
        grid_shape: `(h, w)` with `h * w = L` (`encoder.grid_shape`).
        path: if given, the figure is saved there as a PNG.
        title: optional title (e.g. the caption).
        gates: optional `(steps,)` gating scalars `beta_t`, shown under
            each word.
        num_columns: panels per row.
        dpi: resolution of the saved PNG.

    Returns:
        The `matplotlib.figure.Figure` (its axes: the image, then one per
        word).

    Raises:
        ValueError: mismatched shapes, NaN/inf weights, empty `words`.
    """
    words = _check_tokens(words, "words")
    image = _check_image(image)
    alignment = _to_numpy(alignment, "alignment")
    if (
        not isinstance(grid_shape, (list, tuple))
        or len(grid_shape) != 2
        or any(not isinstance(d, int) or d <= 0 for d in grid_shape)
    ):
        raise ValueError(
            "`grid_shape` must be (h, w) with positive ints. "
            f"Received: grid_shape={grid_shape!r}"
        )
    num_regions = grid_shape[0] * grid_shape[1]
    if (
        alignment.ndim != 2
        or alignment.shape[0] < len(words)
        or alignment.shape[1] != num_regions
    ):
        raise ValueError(
            "`alignment` must be (steps, L) with steps >= len(words) = "
            f"{len(words)} and L = h * w = {num_regions}. "
            f"Received: alignment.shape={alignment.shape}"
        )
    alignment = alignment[: len(words)]
    if not np.all(np.isfinite(alignment)):
        raise ValueError("`alignment` contains NaN or infinite values.")
    if gates is not None:
        gates = _to_numpy(gates, "gates").reshape(-1)
        if gates.shape[0] < len(words):
            raise ValueError(
                "`gates` needs one value per word. "
                f"Received: gates.shape={gates.shape}"
            )
    if (
        not isinstance(num_columns, int)
        or isinstance(num_columns, bool)
        or num_columns <= 0
    ):
        raise ValueError(
            "`num_columns` must be a positive int. "
            f"Received: num_columns={num_columns!r}"
        )
    num_panels = len(words) + 1
    num_columns = min(num_columns, num_panels)
    num_rows = math.ceil(num_panels / num_columns)
    figure = _new_figure(
        _PANEL * num_columns, _PANEL * num_rows + (0.5 if title else 0.2)
    )
    figure.set_layout_engine("constrained")
    axes = figure.subplots(num_rows, num_columns, squeeze=False).ravel()
    height, width = image.shape[:2]
    cell_h, cell_w = height / grid_shape[0], width / grid_shape[1]
    for ax in axes:
        ax.set_axis_off()
    axes[0].imshow(image, interpolation="nearest")
    axes[0].set_title("image", fontsize=9)
    for t, word in enumerate(words):
        ax = axes[t + 1]
        up = upsample_attention(alignment[t], grid_shape, (height, width))
        peak = up.max()
        light = up / peak if peak > 0 else np.zeros_like(up)
        ax.imshow(image * (0.15 + 0.85 * light[..., None]))
        row, column = divmod(int(np.argmax(alignment[t])), grid_shape[1])
        ax.add_patch(
            _rectangle(
                column * cell_w - 0.5, row * cell_h - 0.5, cell_w, cell_h
            )
        )
        label = word if gates is None else f"{word}\nβ={gates[t]:.2f}"
        ax.set_title(label, fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    _save(figure, path, dpi)
    return figure


def _rectangle(x, y, width, height):
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x, y), width, height, fill=False, edgecolor="white", linewidth=1.0
    )
