"""A built-in, seeded image-captioning corpus of coloured shapes.

Each image (64x64 RGB by default) shows 1-3 shapes (circle, square,
triangle) in four colours on a dark, slightly noisy background. The
image is divided into a 3x3 layout grid and every shape sits, at a random
size and offset, inside its own cell. The caption names the shapes from
left to right (by layout column, then top to bottom within a column) and
joins consecutive ones with their true relation: "left of" when the next
one is in a column further right, "above" when it is lower in the same
column, e.g. "a red circle left of a blue square above a green triangle".
So the caption is a function of the image (an exact match is decidable),
and the generator returns every shape's pixel box, so attention can be
checked: `attention_localization` measures how often a captioner looks
at the shape it names.

NumPy only (no TensorFlow), so it imports with any Keras backend.
"""

import numpy as np

SHAPES = ("circle", "square", "triangle")
COLOURS = {
    "red": (0.86, 0.16, 0.16),
    "green": (0.16, 0.67, 0.24),
    "blue": (0.2, 0.32, 0.9),
    "yellow": (0.9, 0.8, 0.16),
}
RELATIONS = ("left of", "above")
# Reserved ids first, as in every keras_seq vocabulary (docs/design.md).
SHAPES_VOCABULARY = (
    ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "a", "left", "of", "above"]
    + sorted(COLOURS)
    + list(SHAPES)
)
_LAYOUT = 3  # the layout grid is _LAYOUT x _LAYOUT cells
_BOS_ID, _EOS_ID = 2, 3


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}"
        )


def _shape_mask(shape, size, cy, cx, radius):
    """Boolean `(size, size)` mask of one shape centred at (cy, cx)."""
    yy, xx = np.mgrid[0:size, 0:size].astype("float64") + 0.5
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return dy**2 + dx**2 <= radius**2
    if shape == "square":
        half = radius * 0.85  # about the area of the circle
        return (np.abs(dy) <= half) & (np.abs(dx) <= half)
    # Upward triangle: apex at (cy - r, cx), base on y = cy + r.
    return (np.abs(dy) <= radius) & (np.abs(dx) <= (dy + radius) / 2.0 + 0.5)


def _box(mask):
    """Tight pixel box `(y0, x0, y1, x1)` of a mask (ends exclusive)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (
        int(rows[0]),
        int(cols[0]),
        int(rows[-1]) + 1,
        int(cols[-1]) + 1,
    )


def caption_of(objects):
    """The caption of a scene, from its objects (see the module docstring).

    Args:
        objects: list of dicts with `colour`, `shape` and `cell`
            `(row, column)` of the layout grid.

    Returns:
        The caption string.
    """
    ordered = sorted(objects, key=lambda o: (o["cell"][1], o["cell"][0]))
    words = []
    for i, obj in enumerate(ordered):
        if i:
            previous = ordered[i - 1]["cell"]
            same_column = previous[1] == obj["cell"][1]
            words.append("above" if same_column else "left of")
        words += ["a", obj["colour"], obj["shape"]]
    return " ".join(words)


def generate_shapes_captions(
    num_examples,
    seed=0,
    image_size=64,
    min_objects=1,
    max_objects=3,
    noise=0.03,
):
    """Generates `num_examples` images with their captions and shape boxes.

    Args:
        num_examples: int >= 0.
        seed: int, the NumPy seed; the same seed gives the same corpus.
        image_size: int >= 24, height and width of the images.
        min_objects: int in [1, max_objects].
        max_objects: int in [min_objects, 9].
        noise: float >= 0, standard deviation of the Gaussian pixel noise.

    Returns:
        dict with
        - `images`: float32 `(num_examples, image_size, image_size, 3)` in
          `[0, 1]`;
        - `captions`: list of strings;
        - `objects`: per image, the list of its shapes in caption order,
          dicts with `colour`, `shape`, `cell` `(row, column)` of the 3x3
          layout and `box` `(y0, x0, y1, x1)` in pixels (ends exclusive).

    Example:
    >>> data = generate_shapes_captions(2, seed=1)
    >>> data["captions"][0]  # e.g. 'a blue square left of a red circle'
    """
    _check_int("num_examples", num_examples, 0)
    _check_int("image_size", image_size, 24)
    _check_int("min_objects", min_objects, 1)
    _check_int("max_objects", max_objects, min_objects)
    if max_objects > _LAYOUT * _LAYOUT:
        raise ValueError(
            f"`max_objects` must be at most {_LAYOUT * _LAYOUT} (one shape "
            f"per layout cell). Received: max_objects={max_objects}"
        )
    if isinstance(noise, bool) or not isinstance(noise, (int, float)):
        raise ValueError(f"`noise` must be a number. Received: noise={noise!r}")
    if noise < 0:
        raise ValueError(f"`noise` must be >= 0. Received: noise={noise!r}")
    rng = np.random.default_rng(seed)
    cell = image_size / _LAYOUT
    colours = sorted(COLOURS)
    kinds = [(c, s) for c in colours for s in SHAPES]
    images = np.empty((num_examples, image_size, image_size, 3), "float32")
    captions, all_objects = [], []
    for n in range(num_examples):
        image = np.full((image_size, image_size, 3), 0.12, "float64")
        count = int(rng.integers(min_objects, max_objects + 1))
        cells = rng.choice(_LAYOUT * _LAYOUT, size=count, replace=False)
        # Distinct (colour, shape) pairs, so each caption noun names one
        # shape of the image.
        chosen = rng.choice(len(kinds), size=count, replace=False)
        objects = []
        for index, kind in zip(cells, chosen):
            row, column = divmod(int(index), _LAYOUT)
            colour, shape = kinds[kind]
            radius = cell * rng.uniform(0.3, 0.42)
            margin = radius + 1.0
            cy = (row + 0.5) * cell + rng.uniform(-1, 1) * (cell / 2 - margin)
            cx = (column + 0.5) * cell + rng.uniform(-1, 1) * (
                cell / 2 - margin
            )
            mask = _shape_mask(shape, image_size, cy, cx, radius)
            image[mask] = COLOURS[colour]
            objects.append(
                {
                    "colour": colour,
                    "shape": shape,
                    "cell": (row, column),
                    "box": _box(mask),
                }
            )
        if noise:
            image += rng.normal(0.0, noise, image.shape)
        images[n] = np.clip(image, 0.0, 1.0)
        objects.sort(key=lambda o: (o["cell"][1], o["cell"][0]))
        captions.append(caption_of(objects))
        all_objects.append(objects)
    return {"images": images, "captions": captions, "objects": all_objects}


def encode_shapes_captions(captions, max_length):
    """Captions -> `(target_in, target_out)` int32 `(N, max_length)`.

    `target_in = [BOS] y_1 .. y_n`, `target_out = y_1 .. y_n [EOS]`, both
    padded with 0 (docs/design.md), in `SHAPES_VOCABULARY` ids.

    Raises:
        ValueError: for a word outside the vocabulary or a caption that
            does not fit (`n + 1 > max_length`).
    """
    _check_int("max_length", max_length, 1)
    ids = {word: i for i, word in enumerate(SHAPES_VOCABULARY)}
    target_in = np.zeros((len(captions), max_length), "int32")
    target_out = np.zeros((len(captions), max_length), "int32")
    for row, caption in enumerate(captions):
        words = caption.split()
        unknown = [w for w in words if w not in ids or ids[w] < 4]
        if unknown:
            raise ValueError(
                f"Caption {row} has words outside SHAPES_VOCABULARY: "
                f"{unknown}. Received: caption={caption!r}"
            )
        if len(words) + 1 > max_length:
            raise ValueError(
                f"Caption {row} needs {len(words) + 1} positions with "
                f"[BOS]/[EOS]. Received: max_length={max_length}, "
                f"caption={caption!r}"
            )
        tokens = [ids[w] for w in words]
        target_in[row, : len(tokens) + 1] = [_BOS_ID] + tokens
        target_out[row, : len(tokens) + 1] = tokens + [_EOS_ID]
    return target_in, target_out


def decode_shapes_caption(token_ids):
    """Ids (1-D, e.g. a row of `generate()["token_ids"]`) -> words.

    Stops at the first [EOS] or [PAD]; returns the list of words.
    """
    words = []
    for token in np.asarray(token_ids).reshape(-1):
        token = int(token)
        if token in (0, _EOS_ID):
            break
        if 0 <= token < len(SHAPES_VOCABULARY):
            words.append(SHAPES_VOCABULARY[token])
        else:
            words.append("[UNK]")
    return words


def attention_localization(words, alignments, objects, region_boxes):
    """How often the attention peak of a named shape lies on that shape.

    For every shape noun `words[t]` (circle, square, triangle) preceded by
    a colour, the shape of the image with that colour and shape is looked
    up; the step counts as localized when the region with the largest
    weight `argmax_i alignments[t, i]` has its centre inside the shape's
    box. Nouns naming no shape of the image (a wrong caption) are not
    scored; they are counted in `unmatched`.

    Args:
        words: list (one per image) of lists of generated words.
        alignments: per image, `(steps, L)` attention weights, row t being
            the weights used to produce `words[t]` (`generate()`'s
            `alignment`).
        objects: per image, the `objects` of `generate_shapes_captions`.
        region_boxes: `(L, 4)` pixel boxes `(y0, x0, y1, x1)` of the regions
            (`ImageFeatureEncoder.region_boxes()`).

    Returns:
        dict with `localization` (fraction of scored nouns, NaN when none),
        `scored` and `unmatched` counts.
    """
    region_boxes = np.asarray(region_boxes, "float64")
    centres = np.stack(
        [
            (region_boxes[:, 0] + region_boxes[:, 2]) / 2,
            (region_boxes[:, 1] + region_boxes[:, 3]) / 2,
        ],
        axis=1,
    )
    hits = scored = unmatched = 0
    for image_words, weights, image_objects in zip(words, alignments, objects):
        weights = np.asarray(weights)
        for t, word in enumerate(image_words):
            if word not in SHAPES:
                continue
            colour = image_words[t - 1] if t else None
            matches = [
                o
                for o in image_objects
                if o["shape"] == word and o["colour"] == colour
            ]
            if not matches:
                unmatched += 1
                continue
            y0, x0, y1, x1 = matches[0]["box"]
            cy, cx = centres[int(np.argmax(weights[t]))]
            scored += 1
            hits += int(y0 <= cy < y1 and x0 <= cx < x1)
    return {
        "localization": hits / scored if scored else float("nan"),
        "scored": scored,
        "unmatched": unmatched,
    }
