"""Tests of the Flickr8k / COCO readers and image decoding on local files."""

import json
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.datasets import decode_image
from keras_seq.datasets import decode_image_tensor
from keras_seq.datasets import load_coco_captions
from keras_seq.datasets import load_flickr8k
from keras_seq.datasets import load_image
from keras_seq.datasets import read_coco_captions
from keras_seq.datasets import read_flickr8k_captions


def _write_png(path, pixels):
    """`pixels` uint8/uint16 (H, W, C) -> PNG file (encoded by TensorFlow)."""
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return path


def _write_jpeg(path, pixels):
    path.write_bytes(tf.io.encode_jpeg(pixels, quality=95).numpy())
    return path


def _gradient(height=20, width=30):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [x * 255 // (width - 1), y * 255 // (height - 1), 128 + 0 * x], -1
    ).astype("uint8")


def _png_header(width, height):
    """A PNG signature + IHDR chunk claiming `width` x `height` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


@pytest.fixture
def flickr(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    _write_jpeg(images / "dog.jpg", _gradient())
    _write_png(images / "cat.png", _gradient(10, 10))
    captions = tmp_path / "Flickr8k.token.txt"
    captions.write_text(
        "dog.jpg#1\tA dog runs on the grass .\n"
        "dog.jpg#0\tA brown dog .\n"
        "\n"
        "cat.png#0\tA cat sleeps .\n",
        encoding="utf-8",
    )
    return captions, images


def test_decode_rgb_png_exactly():
    pixels = _gradient()
    data = tf.io.encode_png(pixels).numpy()
    image = decode_image(data, (20, 30))  # same size: no resampling
    np.testing.assert_allclose(image, pixels / 255.0, atol=1e-6)
    assert image.dtype == np.float32


def test_resize_keeps_a_uniform_image_uniform():
    pixels = np.full((40, 60, 3), 200, "uint8")
    image = decode_image(tf.io.encode_png(pixels).numpy(), (8, 8))
    assert image.shape == (8, 8, 3)
    np.testing.assert_allclose(image, 200 / 255.0, atol=1e-5)


def test_grey_and_alpha_conversions(tmp_path):
    grey = np.arange(12, dtype="uint8").reshape(3, 4, 1) * 20
    image = load_image(_write_png(tmp_path / "g.png", grey), (3, 4))
    np.testing.assert_allclose(image, np.repeat(grey, 3, -1) / 255.0, atol=1e-6)

    rgba = np.zeros((2, 2, 4), "uint8")
    rgba[..., 0] = 255  # red
    rgba[..., 3] = [[255, 0], [51, 255]]  # opaque, transparent, 20%
    image = load_image(_write_png(tmp_path / "a.png", rgba), (2, 2))
    alpha = rgba[..., 3:] / 255.0
    # Composited over white: rgb * alpha + (1 - alpha).
    expected = (rgba[..., :3] / 255.0) * alpha + (1.0 - alpha)
    np.testing.assert_allclose(image, expected, atol=1e-6)

    grey_alpha = np.stack(
        [np.full((2, 2), 100, "uint8"), np.full((2, 2), 0, "uint8")], -1
    )
    image = load_image(_write_png(tmp_path / "ga.png", grey_alpha), (2, 2))
    np.testing.assert_allclose(image, 1.0, atol=1e-6)  # fully transparent

    deep = (np.arange(6, dtype="uint16").reshape(1, 2, 3) * 13000).astype(
        "uint16"
    )
    image = load_image(_write_png(tmp_path / "d.png", deep), (1, 2))
    np.testing.assert_allclose(image, deep / 65535.0, atol=1e-5)


def test_bad_images_raise_value_errors_naming_the_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.jpg is empty"):
        load_image(empty, (8, 8))
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ValueError, match="Cannot decode image .*garbage.jpg"):
        load_image(garbage, (8, 8))
    truncated = tmp_path / "truncated.png"
    data = tf.io.encode_png(_gradient()).numpy()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.png"):
        load_image(truncated, (8, 8))
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(100_000, 100_000) + b"\x00" * 64)
    with pytest.raises(ValueError, match="bomb.png is 100000x100000"):
        load_image(bomb, (8, 8))
    big = _write_jpeg(tmp_path / "big.jpg", _gradient(60, 80))
    with pytest.raises(ValueError, match="big.jpg is 60x80 = 4800 pixels"):
        load_image(big, (8, 8), max_pixels=1000)
    with pytest.raises(ValueError, match="Received: path="):
        load_image(tmp_path / "missing.png", (8, 8))
    with pytest.raises(ValueError, match="got a folder. Received: path="):
        load_image(tmp_path, (8, 8))
    with pytest.raises(ValueError, match="Received: image_size"):
        load_image(big, (8, 0))


def test_load_flickr8k(flickr):
    captions_file, image_dir = flickr
    assert read_flickr8k_captions(captions_file) == {
        "dog.jpg": ["A brown dog .", "A dog runs on the grass ."],
        "cat.png": ["A cat sleeps ."],
    }
    data = load_flickr8k(captions_file, image_dir, image_size=(16, 16))
    assert data["image_files"] == ["dog.jpg", "cat.png"]
    assert data["captions"][1] == ["A cat sleeps ."]
    assert data["images"].shape == (2, 16, 16, 3)
    assert np.all(np.isfinite(data["images"]))
    expected = decode_image(
        (image_dir / "dog.jpg").read_bytes(), (16, 16), name="dog"
    )
    np.testing.assert_array_equal(data["images"][0], expected)
    one = load_flickr8k(captions_file, image_dir, (16, 16), max_images=1)
    assert one["image_files"] == ["dog.jpg"]


def test_flickr8k_bad_image_is_named_or_skipped(flickr):
    captions_file, image_dir = flickr
    (image_dir / "cat.png").write_bytes(b"")
    with pytest.raises(ValueError, match="cat.png is empty"):
        load_flickr8k(captions_file, image_dir, (16, 16))
    data = load_flickr8k(
        captions_file, image_dir, (16, 16), skip_bad_images=True
    )
    assert data["image_files"] == ["dog.jpg"]
    assert data["skipped"][0][0] == "cat.png"


@pytest.mark.parametrize(
    "line",
    ["dog.jpg\tno index", "dog.jpg#x\tbad index", "dog.jpg#0 no tab"],
)
def test_malformed_flickr8k_lines(tmp_path, line):
    path = tmp_path / "captions.txt"
    path.write_text("dog.jpg#0\tfine .\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"captions.txt:2: .*Received: line="):
        read_flickr8k_captions(path)


def test_non_utf8_flickr8k_line_is_named(tmp_path):
    path = tmp_path / "captions.txt"
    path.write_bytes(b"dog.jpg#0\tfine .\ncat.png#0\ta \xff cat\n")
    with pytest.raises(
        ValueError, match=r"captions.txt:2: not valid UTF-8 .*at byte 12"
    ):
        read_flickr8k_captions(path)


def test_load_coco(tmp_path):
    image_dir = tmp_path / "val2014"
    image_dir.mkdir()
    _write_jpeg(image_dir / "COCO_val2014_000000000042.jpg", _gradient())
    _write_png(image_dir / "COCO_val2014_000000000073.png", _gradient(8, 8))
    annotations = {
        "info": {},
        "images": [
            {"id": 42, "file_name": "COCO_val2014_000000000042.jpg"},
            {"id": 73, "file_name": "COCO_val2014_000000000073.png"},
            {"id": 99, "file_name": "no_captions.jpg"},
        ],
        "annotations": [
            {"id": 1, "image_id": 73, "caption": "A plate of food. "},
            {"id": 2, "image_id": 42, "caption": "A train at a station."},
            {"id": 3, "image_id": 42, "caption": "Trains."},
        ],
    }
    path = tmp_path / "captions_val2014.json"
    path.write_text(json.dumps(annotations), encoding="utf-8")
    assert read_coco_captions(path) == {
        "COCO_val2014_000000000042.jpg": ["A train at a station.", "Trains."],
        "COCO_val2014_000000000073.png": ["A plate of food."],
    }
    data = load_coco_captions(path, image_dir, image_size=(12, 12))
    assert data["images"].shape == (2, 12, 12, 3)
    assert data["captions"][0] == ["A train at a station.", "Trains."]


def test_bad_coco_files(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_coco_captions(path)
    path.write_text(json.dumps({"images": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="Received: keys"):
        read_coco_captions(path)
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.jpg"}],
                "annotations": [{"id": 5, "image_id": 2, "caption": "x"}],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="Received: image_id=2"):
        read_coco_captions(path)
    path.write_text(
        json.dumps({"images": [{"id": 1}], "annotations": []}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="file_name"):
        read_coco_captions(path)


def test_decode_image_tensor_in_a_graph_equals_decode_image(tmp_path):
    rgba = np.zeros((6, 5, 4), "uint8")
    rgba[..., 1] = 200
    rgba[..., 3] = np.arange(30).reshape(6, 5) * 8
    grey = np.arange(30, dtype="uint8").reshape(6, 5, 1) * 8
    files = [
        tf.io.encode_png(_gradient()).numpy(),
        tf.io.encode_jpeg(_gradient()).numpy(),
        tf.io.encode_png(rgba).numpy(),
        tf.io.encode_png(grey).numpy(),
        tf.io.encode_png(np.concatenate([grey, grey], -1)).numpy(),
    ]

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string)])
    def decode(batch):
        return tf.map_fn(
            lambda x: decode_image_tensor(x, (7, 9)),
            batch,
            fn_output_signature=tf.TensorSpec((7, 9, 3), tf.float32),
        )

    images = decode(tf.constant(files)).numpy()
    for image, data in zip(images, files):
        np.testing.assert_allclose(image, decode_image(data, (7, 9)), atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode(tf.constant([b"not an image"]))
