"""Readers of real image-caption corpora: Flickr8k/30k and COCO captions.

- Flickr8k (and Flickr30k's `results_20130124.token`): a text file of
  `<image file>#<k><TAB><caption>` lines with the images in one folder.
- COCO: `captions_<split>.json`, with an `images` list (`id`,
  `file_name`) and an `annotations` list (`image_id`, `caption`).

Images are decoded and resized with TensorFlow (`tf.io.decode_image`,
`tf.image.resize`), imported inside the functions so that the rest of
`keras_seq.datasets` imports without it. Every image becomes float32 RGB
in `[0, 1]`, the input of `keras_seq.layers.ImageFeatureEncoder`, with
these documented conversions:

- grey-scale -> RGB (the grey value copied to the three channels);
- grey + alpha and RGBA -> RGB composited over a white background
  (`rgb * alpha + 1 - alpha`), how a viewer shows a transparent image;
- 16-bit PNGs are scaled to `[0, 1]` like 8-bit ones;
- animated GIFs: the first frame.

An empty (0-byte) file, bytes that do not decode, or an image with more
than `max_pixels` pixels (checked from the file header before decoding
when the format allows it, so a "decompression bomb" is never
allocated) raise a `ValueError` naming the file.
"""

import json
import os
import struct

import numpy as np

# 50 megapixels (e.g. 8660 x 5773): larger images are rejected before
# decoding; pass `max_pixels=None` to accept anything.
DEFAULT_MAX_PIXELS = 50_000_000


def _check_image_size(image_size):
    if (
        not isinstance(image_size, (list, tuple))
        or len(image_size) != 2
        or any(
            not isinstance(d, int) or isinstance(d, bool) or d <= 0
            for d in image_size
        )
    ):
        raise ValueError(
            "`image_size` must be (height, width) with positive ints. "
            f"Received: image_size={image_size!r}"
        )
    return tuple(image_size)


def _header_dimensions(data):
    """`(height, width)` read from a PNG, GIF, BMP or JPEG header, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return height, width
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return height, width
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(height), abs(width)
    if data[:3] == b"\xff\xd8\xff":
        # Walk the JPEG markers up to the first start-of-frame (SOF0-15,
        # except DHT/JPG/DAC), whose payload holds the height and width.
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return height, width
            i += 2 + length
    return None


def _too_large(name, height, width, max_pixels):
    return ValueError(
        f"Image {name} is {height}x{width} = {height * width} pixels, more "
        f"than max_pixels={max_pixels}; shrink it first or raise "
        f"max_pixels. Received: image {name}"
    )


def decode_image(data, image_size, name="<bytes>", max_pixels=None):
    """Encoded image bytes -> float32 `(height, width, 3)` RGB in `[0, 1]`.

    Args:
        data: the encoded bytes (JPEG, PNG, GIF or BMP).
        image_size: `(height, width)` of the result (resized with
            antialiasing; the aspect ratio is not kept, as the CNN input has
            a fixed size).
        name: how the error messages name the image (e.g. its path).
        max_pixels: int or None; larger images raise a `ValueError`.
            Defaults to `DEFAULT_MAX_PIXELS`.

    Returns:
        NumPy float32 `(height, width, 3)`, finite, in `[0, 1]`.

    Raises:
        ValueError: empty, undecodable or too large images (see the
            module docstring for the conversions applied instead).
    """
    import tensorflow as tf

    image_size = _check_image_size(image_size)
    if max_pixels is None:
        max_pixels = DEFAULT_MAX_PIXELS
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError(
            f"`data` of image {name} must be bytes. "
            f"Received: data={type(data).__name__}"
        )
    if len(data) == 0:
        raise ValueError(
            f"Image {name} is empty (0 bytes). Received: image {name}"
        )
    dimensions = _header_dimensions(bytes(data[:65536]))
    if dimensions is not None and dimensions[0] * dimensions[1] > max_pixels:
        raise _too_large(name, *dimensions, max_pixels)
    try:
        image = tf.io.decode_image(
            bytes(data), channels=0, dtype=tf.float32, expand_animations=False
        )
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        message = str(error).strip().splitlines()[0][:200]
        raise ValueError(
            f"Cannot decode image {name} ({message}). It is not a valid "
            f"JPEG, PNG, GIF or BMP file. Received: image {name}"
        ) from None
    height, width, channels = (int(d) for d in image.shape)
    if height * width == 0:
        raise ValueError(
            f"Image {name} has no pixels ({height}x{width}). "
            f"Received: image {name}"
        )
    if height * width > max_pixels:
        raise _too_large(name, height, width, max_pixels)
    if channels in (2, 4):
        # Composite over white: what a viewer shows for transparency.
        alpha = image[..., -1:]
        image = image[..., :-1] * alpha + (1.0 - alpha)
    if image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    image = tf.image.resize(image, image_size, antialias=True)
    image = tf.clip_by_value(image, 0.0, 1.0).numpy()
    if not np.all(np.isfinite(image)):  # pragma: no cover - decoder bug
        raise ValueError(f"Image {name} decoded to non-finite values.")
    return image.astype("float32")


def decode_image_tensor(encoded, image_size):
    """`decode_image` as TensorFlow ops, for a `tf.function` / SavedModel.

    The same conversions (grey -> RGB, alpha composited over white, 16-bit
    scaled) and resizing as `decode_image`, on a scalar `tf.string`
    tensor, so that a serving signature can take encoded JPEG/PNG bytes
    (map it over a batch with `tf.map_fn`). Inside a graph a bad image
    cannot raise a Python `ValueError`: undecodable bytes fail the call
    with TensorFlow's `InvalidArgumentError` instead, and no pixel-count
    check is made (check the size of the request instead).

    Args:
        encoded: scalar `tf.string`, the encoded image.
        image_size: `(height, width)`.

    Returns:
        float32 `(height, width, 3)` tensor in `[0, 1]`.
    """
    import tensorflow as tf

    image_size = _check_image_size(image_size)
    image = tf.io.decode_image(
        encoded, channels=0, dtype=tf.float32, expand_animations=False
    )
    channels = tf.shape(image)[-1]

    def composite():  # grey + alpha or RGBA over white
        alpha = image[..., -1:]
        return image[..., :-1] * alpha + (1.0 - alpha)

    image = tf.cond(
        tf.equal(channels % 2, 0), composite, lambda: image
    )  # 2 or 4 channels -> 1 or 3
    image = tf.cond(
        tf.equal(tf.shape(image)[-1], 1),
        lambda: tf.tile(image, [1, 1, 3]),
        lambda: image,
    )
    image = tf.ensure_shape(image, (None, None, 3))
    image = tf.image.resize(image, image_size, antialias=True)
    return tf.clip_by_value(image, 0.0, 1.0)


def read_image_file(path, received=None):
    """The bytes of the image file `path`; a missing file or a folder is a
    `ValueError` naming it (`received`: how the error shows the path)."""
    path = os.fspath(path)
    received = received or f"path={path!r}"
    if os.path.isdir(path):
        raise ValueError(
            f"Expected an image file, got a folder. Received: {received}"
        )
    if not os.path.isfile(path):
        raise ValueError(f"Image file not found. Received: {received}")
    with open(path, "rb") as file:
        return file.read()


def load_image(path, image_size, max_pixels=None):
    """Reads and decodes one image file; see `decode_image`."""
    path = os.fspath(path)
    data = read_image_file(path)
    return decode_image(data, image_size, name=path, max_pixels=max_pixels)


def read_flickr8k_captions(captions_file):
    """Parses a Flickr8k-style captions file.

    Each non-empty line is `<image file>#<k><TAB><caption>` (e.g.
    `1000268201_693b08cb0e.jpg#0\\tA child in a pink dress ...`).

    Returns:
        dict `{image file: [caption, ...]}` in file order (captions in
        `k` order).

    Raises:
        ValueError: a malformed line or one that is not UTF-8 (named by
            file and line number).
    """
    captions_file = os.fspath(captions_file)
    if not os.path.isfile(captions_file):
        raise ValueError(
            "Captions file not found. "
            f"Received: captions_file={captions_file!r}"
        )
    captions = {}
    with open(captions_file, "rb") as file:
        for number, raw in enumerate(file, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{captions_file}:{number}: not valid UTF-8 "
                    f"({error.reason} at byte {error.start}). Received: "
                    f"line={raw[:120]!r}"
                ) from None
            if not line.strip():
                continue
            key, tab, caption = line.partition("\t")
            image, hash_sign, index = key.partition("#")
            if not tab or not hash_sign or not image or not caption.strip():
                raise ValueError(
                    f"{captions_file}:{number}: expected "
                    "'<image file>#<k><TAB><caption>'. "
                    f"Received: line={line[:120]!r}"
                )
            if not index.strip().isdigit():
                raise ValueError(
                    f"{captions_file}:{number}: the caption index after '#' "
                    f"must be an integer. Received: line={line[:120]!r}"
                )
            captions.setdefault(image, []).append((int(index), caption.strip()))
    return {
        image: [c for _, c in sorted(entries, key=lambda e: e[0])]
        for image, entries in captions.items()
    }


def read_coco_captions(annotations_file):
    """Parses a COCO `captions_*.json` file.

    Returns:
        dict `{file_name: [caption, ...]}` in the order of `images`
        (images without captions are left out).

    Raises:
        ValueError: invalid JSON, missing keys, or a caption whose
            `image_id` is not in `images`.
    """
    annotations_file = os.fspath(annotations_file)
    if not os.path.isfile(annotations_file):
        raise ValueError(
            "Annotations file not found. "
            f"Received: annotations_file={annotations_file!r}"
        )
    try:
        with open(annotations_file, encoding="utf-8") as file:
            data = json.load(file)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{annotations_file} is not valid JSON ({error}). "
            f"Received: annotations_file={annotations_file!r}"
        ) from None
    if not isinstance(data, dict) or not {"images", "annotations"} <= set(data):
        raise ValueError(
            f"{annotations_file} must hold a COCO captions object with "
            "'images' and 'annotations'. Received: "
            + (
                f"keys {sorted(data)}"
                if isinstance(data, dict)
                else type(data).__name__
            )
        )
    files = {}
    try:
        for image in data["images"]:
            files[image["id"]] = image["file_name"]
        captions = {}
        for annotation in data["annotations"]:
            image_id = annotation["image_id"]
            if image_id not in files:
                raise ValueError(
                    f"{annotations_file}: annotation {annotation.get('id')} "
                    "refers to an image missing from 'images'. "
                    f"Received: image_id={image_id!r}"
                )
            captions.setdefault(image_id, []).append(
                str(annotation["caption"]).strip()
            )
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{annotations_file}: an entry lacks a COCO field ({error!r}); "
            "images need 'id' and 'file_name', annotations 'image_id' and "
            f"'caption'. Received: annotations_file={annotations_file!r}"
        ) from None
    return {
        files[image_id]: captions[image_id]
        for image_id in files
        if image_id in captions
    }


def _load_images(
    captions, image_dir, image_size, max_images, max_pixels, skip_bad_images
):
    image_dir = os.fspath(image_dir)
    if not os.path.isdir(image_dir):
        raise ValueError(
            f"Image folder not found. Received: image_dir={image_dir!r}"
        )
    if max_images is not None and (
        isinstance(max_images, bool)
        or not isinstance(max_images, int)
        or max_images < 1
    ):
        raise ValueError(
            "`max_images` must be a positive int or None. "
            f"Received: max_images={max_images!r}"
        )
    image_size = _check_image_size(image_size)
    images, texts, files, skipped = [], [], [], []
    for name, image_captions in captions.items():
        if max_images is not None and len(files) >= max_images:
            break
        path = os.path.join(image_dir, name)
        try:
            images.append(load_image(path, image_size, max_pixels))
        except ValueError as error:
            if not skip_bad_images:
                raise
            skipped.append((name, str(error)))
            continue
        texts.append(image_captions)
        files.append(name)
    array = np.stack(images) if images else np.zeros((0, *image_size, 3))
    return {
        "images": array.astype("float32"),
        "captions": texts,
        "image_files": files,
        "skipped": skipped,
    }


def load_flickr8k(
    captions_file,
    image_dir,
    image_size=(224, 224),
    max_images=None,
    max_pixels=None,
    skip_bad_images=False,
):
    """Loads a Flickr8k-style corpus: captions file + image folder.

    Args:
        captions_file: path of the `<image>#<k><TAB><caption>` file.
        image_dir: folder holding the image files it names.
        image_size: `(height, width)` of the returned images.
        max_images: optional int, load only the first images.
        max_pixels: see `decode_image`.
        skip_bad_images: bool; by default a bad image raises its
            `ValueError`; with True it is left out and listed in
            `skipped`.

    Returns:
        dict with `images` float32 `(N, height, width, 3)` in `[0, 1]`,
        `captions` (list of N lists of strings), `image_files` (N names)
        and `skipped` (list of `(name, reason)`).
    """
    return _load_images(
        read_flickr8k_captions(captions_file),
        image_dir,
        image_size,
        max_images,
        max_pixels,
        skip_bad_images,
    )


def load_coco_captions(
    annotations_file,
    image_dir,
    image_size=(224, 224),
    max_images=None,
    max_pixels=None,
    skip_bad_images=False,
):
    """Loads a COCO captions corpus (`captions_*.json` + image folder).

    Same arguments (with the JSON file) and result as `load_flickr8k`.
    """
    return _load_images(
        read_coco_captions(annotations_file),
        image_dir,
        image_size,
        max_images,
        max_pixels,
        skip_bad_images,
    )
