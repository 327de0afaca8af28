"""Tests of ImageFeatureEncoder: the region grid against NumPy, backbones."""

import os

import keras
import numpy as np
import pytest
from keras import ops
from layer_test_case import run_layer_test

from keras_seq.layers import ImageFeatureEncoder


def _np(x):
    return ops.convert_to_numpy(x)


def _images(batch=2, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, size, size, 3)).astype("float32")


def _conv3x3_same_relu(x, kernel, bias):
    """NumPy 3x3 'same' convolution + ReLU, x (H, W, C_in)."""
    height, width, _ = x.shape
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((height, width, kernel.shape[-1]))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum(
                "hwc,co->hwo",
                padded[dy : dy + height, dx : dx + width],
                kernel[dy, dx],
            )
    return np.maximum(out + bias, 0.0)


def _max_pool2(x):
    h, w, c = x.shape
    return (
        x[: h // 2 * 2, : w // 2 * 2]
        .reshape(h // 2, 2, w // 2, 2, c)
        .max(axis=(1, 3))
    )


def test_layer_checks():
    run_layer_test(
        ImageFeatureEncoder,
        {"image_shape": (16, 16, 3), "filters": [4, 6]},
        [_images()],
        expected_output_shape=(2, 16, 6),
    )


def test_coordinate_channels():
    run_layer_test(
        ImageFeatureEncoder,
        {
            "image_shape": (16, 16, 3),
            "filters": [4],
            "coordinate_channels": True,
        },
        [_images()],
        expected_output_shape=(2, 64, 4),
    )
    keras.utils.set_random_seed(0)
    encoder = ImageFeatureEncoder(
        (8, 8, 3), filters=[3], coordinate_channels=True
    )
    # A blank image: without coordinates all interior regions would be
    # equal; with them the CNN reads (row, column) in [-1, 1].
    images = np.zeros((1, 8, 8, 3), "float32")
    features = _np(encoder(images))[0]
    x = np.zeros((8, 8, 5))
    x[..., 3] = np.linspace(-1, 1, 8)[:, None]
    x[..., 4] = np.linspace(-1, 1, 8)[None, :]
    for j in range(2):
        conv = encoder.cnn.get_layer(f"block0_conv{j}")
        x = _conv3x3_same_relu(x, _np(conv.kernel), _np(conv.bias))
    expected = _max_pool2(x).reshape(16, 3)
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_built_in_cnn_matches_numpy_and_regions_are_row_major():
    keras.utils.set_random_seed(1)
    encoder = ImageFeatureEncoder((8, 12, 3), filters=[3, 5])
    rng = np.random.default_rng(2)
    images = rng.random((2, 8, 12, 3)).astype("float32")
    features = _np(encoder(images))
    assert encoder.grid_shape == (2, 3)
    assert features.shape == (2, 6, 5)
    cnn = encoder.cnn
    for b in range(2):
        x = images[b].astype("float64")
        for i in range(2):
            for j in range(2):
                conv = cnn.get_layer(f"block{i}_conv{j}")
                x = _conv3x3_same_relu(
                    x, _np(conv.kernel).astype("float64"), _np(conv.bias)
                )
            x = _max_pool2(x)
        # a_i = feature map cell (i // w, i % w).
        expected = x.reshape(-1, x.shape[-1])
        np.testing.assert_allclose(features[b], expected, atol=1e-5)


def test_one_convolution_per_block_matches_numpy():
    keras.utils.set_random_seed(3)
    encoder = ImageFeatureEncoder(
        (8, 8, 3), filters=[4, 6], convolutions_per_block=1
    )
    images = np.random.default_rng(4).random((1, 8, 8, 3)).astype("float32")
    features = _np(encoder(images))
    cnn = encoder.cnn
    assert [layer.name for layer in cnn.layers if "conv" in layer.name] == [
        "block0_conv0",
        "block1_conv0",
    ]
    x = images[0].astype("float64")
    for i in range(2):
        conv = cnn.get_layer(f"block{i}_conv0")
        x = _conv3x3_same_relu(
            x, _np(conv.kernel).astype("float64"), _np(conv.bias)
        )
        x = _max_pool2(x)
    np.testing.assert_allclose(
        features[0], x.reshape(-1, x.shape[-1]), atol=1e-5
    )
    config = encoder.get_config()
    assert config["convolutions_per_block"] == 1
    assert ImageFeatureEncoder.from_config(config).convolutions_per_block == 1
    with pytest.raises(ValueError, match="convolutions_per_block=0"):
        ImageFeatureEncoder((8, 8, 3), convolutions_per_block=0)


def test_patch_encoder_matches_numpy_and_sees_its_own_patch_only():
    run_layer_test(
        ImageFeatureEncoder,
        {
            "image_shape": (16, 16, 3),
            "filters": [4, 6],
            "patch_size": 4,
            "coordinate_channels": True,
        },
        [_images()],
        expected_output_shape=(2, 16, 6),
    )
    keras.utils.set_random_seed(5)
    encoder = ImageFeatureEncoder(
        (8, 12, 3), filters=[5, 3], patch_size=4, coordinate_channels=True
    )
    images = np.random.default_rng(6).random((2, 8, 12, 3)).astype("float32")
    features = _np(encoder(images))
    assert encoder.grid_shape == (2, 3)
    embedding = encoder.cnn.get_layer("patch_embedding")
    dense = encoder.cnn.get_layer("patch_dense0")
    kernel = _np(embedding.kernel).astype("float64")  # (4, 4, 5, 5)
    rows = np.linspace(-1, 1, 8)[:, None] * np.ones((1, 12))
    columns = np.ones((8, 1)) * np.linspace(-1, 1, 12)[None, :]
    for b in range(2):
        x = np.concatenate(
            [images[b], rows[..., None], columns[..., None]], axis=-1
        )
        for i in range(6):
            r, c = divmod(i, 3)
            patch = x[4 * r : 4 * r + 4, 4 * c : 4 * c + 4]  # (4, 4, 5)
            # Dosovitskiy et al. eq. 1: a linear map E of the flattened patch.
            e = np.maximum(
                np.einsum("hwc,hwco->o", patch, kernel) + _np(embedding.bias),
                0.0,
            )
            expected = np.maximum(
                e @ _np(dense.kernel)[0, 0] + _np(dense.bias), 0.0
            )
            np.testing.assert_allclose(features[b, i], expected, atol=1e-5)
    # Changing every pixel outside cell (1, 2) leaves region 5 unchanged.
    changed = images.copy()
    changed[:, :4] = 0.5
    changed[:, :, :8] = 0.5
    np.testing.assert_allclose(
        _np(encoder(changed))[:, 5], features[:, 5], atol=1e-6
    )
    boxes = encoder.region_boxes()
    np.testing.assert_allclose(boxes[5], [4, 8, 8, 12])
    config = encoder.get_config()
    assert config["patch_size"] == 4
    assert config["convolutions_per_block"] is None
    assert ImageFeatureEncoder.from_config(config).patch_size == 4


def test_region_boxes():
    encoder = ImageFeatureEncoder((16, 24, 3), filters=[4, 4])
    encoder.build()
    boxes = encoder.region_boxes()
    assert encoder.grid_shape == (4, 6)
    assert boxes.shape == (24, 4)
    np.testing.assert_allclose(boxes[0], [0, 0, 4, 4])
    np.testing.assert_allclose(boxes[7], [4, 4, 8, 8])  # row 1, column 1
    np.testing.assert_allclose(boxes[-1], [12, 20, 16, 24])


def test_keras_applications_backbone_with_preprocessing_and_freezing():
    keras.utils.set_random_seed(0)
    encoder = ImageFeatureEncoder(
        (64, 64, 3), backbone="MobileNetV2", freeze_backbone=True
    )
    images = _images(2, 64)
    features = _np(encoder(images))
    assert encoder.grid_shape == (2, 2)
    assert features.shape == (2, 4, 1280)
    assert encoder.trainable_weights == []
    # MobileNetV2 takes [-1, 1] pixels: x / 127.5 - 1 of [0, 255] pixels.
    direct = _np(encoder.cnn(images * 2.0 - 1.0, training=False))
    np.testing.assert_allclose(
        features, direct.reshape(2, 4, 1280), atol=1e-4, rtol=1e-4
    )
    # Frozen: batch normalization stays in inference mode.
    np.testing.assert_allclose(
        _np(encoder(images, training=True)), features, atol=1e-5
    )


def test_feature_layer_reads_an_inner_grid():
    encoder = ImageFeatureEncoder(
        (64, 64, 3), backbone="MobileNetV2", feature_layer="block_6_expand"
    )
    features = encoder(_images(1, 64))
    # block_6_expand runs at stride 8: an 8x8 grid of 192 channels.
    assert encoder.grid_shape == (8, 8)
    assert tuple(features.shape) == (1, 64, 192)
    assert len(encoder.trainable_weights) > 0


def test_weights_file_and_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    first = ImageFeatureEncoder((32, 32, 3), backbone="MobileNetV2")
    first.build()
    weights_path = str(tmp_path / "backbone.weights.h5")
    first.cnn.save_weights(weights_path)
    images = _images(2, 32)
    expected = _np(first(images))

    keras.utils.set_random_seed(4)
    encoder = ImageFeatureEncoder(
        (32, 32, 3), backbone="MobileNetV2", backbone_weights=weights_path
    )
    np.testing.assert_allclose(_np(encoder(images)), expected, atol=1e-5)

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, encoder(inputs))
    path = str(tmp_path / "encoder.keras")
    model.save(path)
    os.remove(weights_path)  # restoring must not read the file again
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_np(loaded(images)), expected, atol=1e-5)
    assert loaded.layers[-1].get_config()["backbone_weights"] == weights_path


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_shape": (32, 32)}, "image_shape"),
        ({"image_shape": (32, 32, 1)}, "image_shape"),
        ({"image_shape": (32, 32, 3), "backbone": "NoSuchNet"}, "backbone"),
        ({"image_shape": (32, 32, 3), "filters": []}, "filters"),
        ({"image_shape": (32, 32, 3), "filters": [8, 0]}, "filters"),
        (
            {"image_shape": (32, 32, 3), "backbone_weights": "imagenet"},
            "backbone_weights",
        ),
        (
            {"image_shape": (32, 32, 3), "freeze_backbone": "yes"},
            "freeze_backbone",
        ),
        (
            {
                "image_shape": (32, 32, 3),
                "backbone": "MobileNetV2",
                "coordinate_channels": True,
            },
            "backbone",
        ),
        ({"image_shape": (32, 32, 3), "patch_size": 5}, "patch_size=5"),
        ({"image_shape": (32, 32, 3), "patch_size": 0}, "patch_size=0"),
        (
            {
                "image_shape": (32, 32, 3),
                "patch_size": 8,
                "convolutions_per_block": 1,
            },
            "convolutions_per_block=1",
        ),
        (
            {
                "image_shape": (32, 32, 3),
                "patch_size": 8,
                "backbone": "MobileNetV2",
            },
            "backbone='MobileNetV2'",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Received: .*{message}"):
        ImageFeatureEncoder(**kwargs)


def test_bad_feature_layer_and_images():
    encoder = ImageFeatureEncoder(
        (32, 32, 3), backbone="MobileNetV2", feature_layer="nope"
    )
    with pytest.raises(ValueError, match="Received: feature_layer='nope'"):
        encoder.build()
    encoder = ImageFeatureEncoder((16, 16, 3), filters=[4])
    with pytest.raises(ValueError, match=r"Received: images.shape=\(2, 8"):
        encoder(np.zeros((2, 8, 8, 3), "float32"))
