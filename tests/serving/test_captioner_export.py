"""The exported Captioner, checked through the paths TF Serving uses."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from serving_fixtures import run_op_check
from serving_fixtures import session_run

from keras_seq.datasets import SHAPES_VOCABULARY
from keras_seq.datasets import encode_shapes_captions
from keras_seq.datasets import generate_shapes_captions
from keras_seq.export import captioner_export
from keras_seq.export.warmup import WARMUP_FILENAME
from keras_seq.layers import ImageFeatureEncoder
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
from keras_seq.models import Captioner
from keras_seq.models import ShowAttendTellCaptioner

# The export trains a small captioner first (about a minute).
pytestmark = pytest.mark.slow
SIZE = 32
MAX_LENGTH = 10


def _png(image):
    return tf.io.encode_png(np.round(image * 255).astype("uint8")).numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    data = generate_shapes_captions(600, seed=0, image_size=SIZE, max_objects=2)
    target_in, target_out = encode_shapes_captions(data["captions"], MAX_LENGTH)
    encoder = ImageFeatureEncoder((SIZE, SIZE, 3), filters=[16, 32])
    model = ShowAttendTellCaptioner(
        encoder,
        len(SHAPES_VOCABULARY),
        embedding_dim=16,
        hidden_dim=32,
        attention_units=16,
        max_caption_length=MAX_LENGTH,
    )
    model.compile(
        keras.optimizers.Adam(5e-3), MaskedSparseCategoricalCrossentropy()
    )
    model.fit(
        {"images": data["images"], "target_in": target_in},
        target_out,
        batch_size=32,
        epochs=4,
        verbose=0,
    )
    captioner = Captioner(model, SHAPES_VOCABULARY)
    path = str(tmp_path_factory.mktemp("captioner") / "captioner" / "1")
    captioner.export(path)
    return {"captioner": captioner, "model": model, "export_dir": path}


def test_layout_and_warmup_record(exported):
    path = exported["export_dir"]
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    warmup = os.path.join(path, "assets.extra", WARMUP_FILENAME)
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(tf.data.TFRecordDataset(warmup).as_numpy_iterator())
    assert len(records) == 1
    log = prediction_log_pb2.PredictionLog.FromString(records[0])
    request = log.predict_log.request
    assert request.model_spec.name == "captioner"
    assert request.model_spec.signature_name == "serving_default"
    images = tf.make_ndarray(request.inputs["images"])
    assert images.shape == (1,)
    assert tf.io.decode_png(images[0]).shape == (32, 32, 3)
    # The warm-up request runs through the exported graph.
    outputs = session_run(path, "serving_default", {"images": images})
    assert outputs["caption"].shape == (1,)
    with pytest.raises(ValueError, match="already holds a SavedModel"):
        exported["captioner"].export(path)


def test_signature(exported):
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(
            sess, ["serve"], exported["export_dir"]
        )
    signature = meta.signature_def["serving_default"]
    assert set(signature.inputs) == {"images"}
    assert signature.inputs["images"].dtype == tf.string.as_datatype_enum
    assert set(signature.outputs) == {"caption", "score"}
    assert signature.outputs["caption"].dtype == tf.string.as_datatype_enum


def test_session_path_equals_python_caption_on_100_images(exported):
    data = generate_shapes_captions(100, seed=7, image_size=SIZE, max_objects=2)
    pngs = [_png(image) for image in data["images"]]
    outputs = session_run(
        exported["export_dir"],
        "serving_default",
        {"images": np.array(pngs, dtype=object)},
    )
    served = [c.decode("utf-8") for c in outputs["caption"]]
    python = exported["captioner"].caption(pngs, return_scores=True)
    assert served == [r["caption"] for r in python]
    np.testing.assert_allclose(
        outputs["score"], [r["score"] for r in python], atol=1e-4
    )
    # And the captions are the model's greedy decoding of the PNGs, read
    # back here and mapped to words independently of the graph.
    decoded = np.stack(
        [tf.io.decode_png(p).numpy().astype("float32") / 255 for p in pngs]
    )
    ids = np.asarray(exported["model"].generate(decoded)["token_ids"])
    expected = []
    for row in ids.tolist():
        words = []
        for token in row:
            if token in (0, 3):
                break
            words.append(SHAPES_VOCABULARY[token])
        expected.append(" ".join(words))
    assert served == expected
    assert sum(bool(s) for s in served) > 50, "the model should caption"


def test_grey_rgba_and_empty_batch_in_graph(exported):
    rgb = generate_shapes_captions(1, seed=9, image_size=SIZE)["images"][0]
    grey = np.round(rgb[..., :1] * 255).astype("uint8")
    alpha = np.full((SIZE, SIZE, 1), 255, "uint8")
    alpha[:, : SIZE // 2] = 64
    rgba = np.concatenate([np.round(rgb * 255).astype("uint8"), alpha], -1)
    pngs = [tf.io.encode_png(grey).numpy(), tf.io.encode_png(rgba).numpy()]
    outputs = session_run(
        exported["export_dir"],
        "serving_default",
        {"images": np.array(pngs, dtype=object)},
    )
    served = [c.decode("utf-8") for c in outputs["caption"]]
    assert served == exported["captioner"].caption(pngs)
    assert np.all(np.isfinite(outputs["score"]))
    empty = session_run(
        exported["export_dir"],
        "serving_default",
        {"images": np.array([], dtype=object)},
    )
    assert empty["caption"].shape == (0,)
    assert empty["score"].shape == (0,)


def test_undecodable_bytes_fail_with_invalid_argument(exported):
    # Documented: in the graph a bad image fails the request with TF's
    # InvalidArgumentError (caption() raises a ValueError instead).
    for bad in (b"not an image", b""):
        with pytest.raises(tf.errors.InvalidArgumentError):
            session_run(
                exported["export_dir"],
                "serving_default",
                {"images": np.array([bad], dtype=object)},
            )
        with pytest.raises(ValueError, match="images"):
            exported["captioner"].caption([bad])


def test_every_op_passes_the_op_check(exported):
    result = run_op_check(exported["export_dir"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_warmup_png_is_a_small_png():
    data = captioner_export.warmup_png()
    image = tf.io.decode_png(data).numpy()
    assert image.shape == (32, 32, 3)
    assert image.dtype == np.uint8
