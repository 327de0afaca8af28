"""Heatmaps of attention weights: alignments (Bahdanau et al. 2015 fig. 3).

The figures are drawn on `matplotlib.figure.Figure` objects with the Agg
canvas directly, so plotting neither needs a display nor changes the global
pyplot backend or state (safe in tests, notebooks and servers).
"""

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_seq.validation import check_int

# Inches per token along an axis, and the limits of the figure size.
_CELL = 0.42
_MIN_SIZE, _MAX_SIZE = 3.0, 30.0


def _to_numpy(weights, name):
    if hasattr(weights, "numpy") and not isinstance(weights, np.ndarray):
        weights = weights.numpy()
    try:
        array = np.asarray(weights, dtype="float64")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` must be an array of numbers. "
            f"Received: {name}={weights!r}"
        ) from error
    return array


def _check_tokens(tokens, name):
    if isinstance(tokens, str):
        raise ValueError(
            f"`{name}` must be a list of tokens, not one string (split it "
            f"first). Received: {name}={tokens!r}"
        )
    try:
        tokens = [str(t) for t in tokens]
    except TypeError as error:
        raise ValueError(
            f"`{name}` must be a list of tokens. Received: {name}={tokens!r}"
        ) from error
    if not tokens:
        raise ValueError(f"`{name}` must not be empty. Received: {name}=[]")
    return tokens


def _check_weights(weights, source_tokens, target_tokens, name, rank):
    weights = _to_numpy(weights, name)
    if weights.ndim != rank:
        layout = "(target_length, source_length)"
        if rank == 3:
            layout = "(num_heads, target_length, source_length)"
        raise ValueError(
            f"`{name}` must have shape {layout}. "
            f"Received: {name}.shape={weights.shape}"
        )
    expected = (len(target_tokens), len(source_tokens))
    if weights.shape[-2:] != expected:
        raise ValueError(
            f"`{name}` must have one row per target token and one column "
            f"per source token, i.e. shape (..., {expected[0]}, "
            f"{expected[1]}) for {expected[0]} target_tokens and "
            f"{expected[1]} source_tokens (crop the padding first). "
            f"Received: {name}.shape={weights.shape}"
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError(
            f"`{name}` contains NaN or infinite values. "
            f"Received: {name} with {int(np.sum(~np.isfinite(weights)))} "
            "non-finite entries"
        )
    return weights


def _font_size(num_tokens):
    # Shrink the tick labels a little for long sentences, never below 6 pt.
    return max(6.0, min(10.0, 220.0 / max(num_tokens, 1)))


def _draw_heatmap(ax, weights, source_tokens, target_tokens, vmin, vmax, cmap):
    image = ax.imshow(
        weights,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_xticks(np.arange(len(source_tokens)))
    ax.set_xticklabels(
        source_tokens,
        rotation=60,
        ha="right",
        rotation_mode="anchor",
        fontsize=_font_size(len(source_tokens)),
    )
    ax.set_yticks(np.arange(len(target_tokens)))
    ax.set_yticklabels(target_tokens, fontsize=_font_size(len(target_tokens)))
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    # Thin white lines between the cells keep neighbouring words apart.
    ax.set_xticks(np.arange(len(source_tokens) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(target_tokens) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    return image


def _value_range(weights, vmin, vmax):
    if vmin is None:
        vmin = 0.0 if weights.min() >= 0.0 else float(weights.min())
    if vmax is None:
        vmax = 1.0 if weights.max() <= 1.0 else float(weights.max())
    return vmin, vmax


def _new_figure(width, height):
    clip = lambda x: min(max(x, _MIN_SIZE), _MAX_SIZE)  # noqa: E731
    figure = Figure(figsize=(clip(width), clip(height)))
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path, dpi):
    if path is not None:
        figure.savefig(path, format="png", dpi=dpi, bbox_inches="tight")


def plot_alignment(
    weights,
    source_tokens,
    target_tokens,
    path=None,
    title=None,
    ax=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
    dpi=100,
):
    """Heatmap of one sentence's alignment `a_t(s)`, with a colour bar.

    Source words run along the x axis, output words down the y axis (as in
    Bahdanau et al. 2015 fig. 3 and Luong et al. 2015 fig. 7); cell (t, s)
    is the weight output word t gave to source word s.

    Args:
        weights: array `(target_length, source_length)` (NumPy or a
            backend tensor), e.g. `generate(...)["alignment"][i]` cropped to
            the sentence's real lengths.
        source_tokens: list of `source_length` strings (x axis).
        target_tokens: list of `target_length` strings (y axis).
        path: if given, the figure is saved there as a PNG.
        title: optional title.
        ax: optional `matplotlib.axes.Axes` to draw in; its figure is
            returned. A new figure sized to the sentence is made otherwise.
        cmap: matplotlib colour map.
        vmin, vmax: colour range; default `[0, 1]` for weights in `[0, 1]`
            so that figures are comparable.
        dpi: resolution of the saved PNG.

    Returns:
        The `matplotlib.figure.Figure`.

    Raises:
        ValueError: if `weights` is not 2-D, does not match the token lists,
            or holds NaN/inf; or a token list is empty or a plain string.
    """
    source_tokens = _check_tokens(source_tokens, "source_tokens")
    target_tokens = _check_tokens(target_tokens, "target_tokens")
    weights = _check_weights(
        weights, source_tokens, target_tokens, "weights", rank=2
    )
    vmin, vmax = _value_range(weights, vmin, vmax)
    if ax is None:
        figure = _new_figure(
            _CELL * len(source_tokens) + 2.5, _CELL * len(target_tokens) + 1.8
        )
        ax = figure.add_subplot(1, 1, 1)
    else:
        figure = ax.figure
    image = _draw_heatmap(
        ax, weights, source_tokens, target_tokens, vmin, vmax, cmap
    )
    figure.colorbar(image, ax=ax, label="attention weight", fraction=0.05)
    if title:
        ax.set_title(title)
    _save(figure, path, dpi)
    return figure


def plot_attention_heads(
    weights,
    source_tokens,
    target_tokens,
    path=None,
    title=None,
    num_columns=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
    dpi=100,
):
    """Grid of heatmaps, one per attention head, sharing one colour bar.

    For multi-head attention (Vaswani et al. 2017 sec. 3.2.2): pass the
    weights of one layer for one sentence. For self-attention the source
    and target tokens are the same list.

    Args:
        weights: array `(num_heads, target_length, source_length)`.
        source_tokens: list of `source_length` strings (x axes).
        target_tokens: list of `target_length` strings (y axes).
        path: if given, the figure is saved there as a PNG.
        title: optional title of the whole figure.
        num_columns: heads per row; default `ceil(sqrt(num_heads))`.
        cmap, vmin, vmax, dpi: as in `plot_alignment`.

    Returns:
        The `matplotlib.figure.Figure`; its first `num_heads` axes are the
        heads in order (titled "head 0", "head 1", ...).

    Raises:
        ValueError: if `weights` is not 3-D, does not match the token lists,
            holds NaN/inf, or `num_columns` is not a positive integer.
    """
    source_tokens = _check_tokens(source_tokens, "source_tokens")
    target_tokens = _check_tokens(target_tokens, "target_tokens")
    weights = _check_weights(
        weights, source_tokens, target_tokens, "weights", rank=3
    )
    num_heads = weights.shape[0]
    if num_heads == 0:
        raise ValueError(
            "`weights` must hold at least one head. "
            f"Received: weights.shape={weights.shape}"
        )
    if num_columns is None:
        num_columns = math.ceil(math.sqrt(num_heads))
    num_columns = check_int("num_columns", num_columns)
    num_columns = min(num_columns, num_heads)
    num_rows = math.ceil(num_heads / num_columns)
    vmin, vmax = _value_range(weights, vmin, vmax)
    cell_w = _CELL * len(source_tokens) + 1.6
    cell_h = _CELL * len(target_tokens) + 1.6
    figure = _new_figure(
        cell_w * num_columns + 1.0, cell_h * num_rows + (0.6 if title else 0)
    )
    figure.set_layout_engine("constrained")
    axes = figure.subplots(num_rows, num_columns, squeeze=False)
    image = None
    for head in range(num_rows * num_columns):
        ax = axes[head // num_columns][head % num_columns]
        if head >= num_heads:
            ax.set_visible(False)
            continue
        image = _draw_heatmap(
            ax, weights[head], source_tokens, target_tokens, vmin, vmax, cmap
        )
        ax.set_title(f"head {head}")
        if head % num_columns:
            ax.set_ylabel("")
        if head // num_columns < num_rows - 1 and head + num_columns < (
            num_heads
        ):
            ax.set_xlabel("")
    figure.colorbar(
        image, ax=axes.ravel().tolist(), label="attention weight", shrink=0.8
    )
    if title:
        figure.suptitle(title)
    _save(figure, path, dpi)
    return figure
