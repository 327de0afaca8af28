"""Tests of TransformerCaptioner: cached decoding, saving, training."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_seq.layers import ImageFeatureEncoder
from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
from keras_seq.models import TransformerCaptioner

VOCAB = 12
TARGET_IN = np.array([[2, 5, 6, 7], [2, 8, 0, 0], [2, 9, 10, 0]], "int32")
TARGET_OUT = np.array([[5, 6, 7, 3], [8, 3, 0, 0], [9, 10, 3, 0]], "int32")
LENGTHS = (TARGET_IN != 0).sum(1)


def _np(x):
    return ops.convert_to_numpy(x)


def _images(batch=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, 16, 16, 3)).astype("float32")


def _model(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    args = {
        "hidden_dim": 8,
        "num_layers": 2,
        "num_heads": 2,
        "intermediate_dim": 16,
        "dropout": 0.0,
        "max_caption_length": 6,
    }
    args.update(kwargs)
    encoder = ImageFeatureEncoder((16, 16, 3), filters=[4, 6])
    return TransformerCaptioner(encoder, VOCAB, **args)


def _inputs(images=None, target_in=TARGET_IN):
    images = _images() if images is None else images
    return {"images": images, "target_in": target_in}


@pytest.mark.parametrize("num_encoder_layers", [0, 1])
def test_decode_step_equals_full_pass(num_encoder_layers):
    model = _model(num_encoder_layers=num_encoder_layers)
    images = _images()
    logits, alignments = model(_inputs(images), return_alignments=True)
    assert tuple(logits.shape) == (3, 4, VOCAB)
    assert tuple(alignments.shape) == (3, 4, model.num_regions)
    np.testing.assert_allclose(_np(alignments).sum(-1), 1.0, atol=1e-5)
    state = model.initial_decoding_state(images, max_length=6)
    for t in range(4):
        step_logits, state, aux = model.decode_step(
            TARGET_IN[:, t], state, np.int32(t)
        )
        real = LENGTHS > t  # padded positions differ by design
        np.testing.assert_allclose(
            _np(step_logits)[real], _np(logits)[real, t], atol=1e-5
        )
        np.testing.assert_allclose(
            _np(aux["alignment"])[real], _np(alignments)[real, t], atol=1e-5
        )


def test_rows_do_not_depend_on_padding_or_other_rows():
    model = _model()
    images = _images()
    logits = _np(model(_inputs(images)))
    single = _np(
        model(
            {
                "images": images[1:2],
                "target_in": np.pad(TARGET_IN[1:2], ((0, 0), (0, 2))),
            }
        )
    )
    np.testing.assert_allclose(single[0, :2], logits[1, :2], atol=1e-5)


def test_greedy_and_beam_match_teacher_forcing():
    model = _model(seed=2)
    images = _images()
    for strategy, kw in (("greedy", {}), ("beam", {"beam_width": 3})):
        out = model.generate(images, strategy=strategy, max_length=5, **kw)
        tokens = _np(out["token_ids"])
        assert _np(out["alignment"]).shape == (3, 5, model.num_regions)
        target_in = np.concatenate(
            [np.full((3, 1), 2, "int32"), tokens[:, :-1]], axis=1
        )
        log_probs = _np(
            ops.log_softmax(model(_inputs(images, target_in)), axis=-1)
        )
        key = "scores" if strategy == "greedy" else "log_probs"
        for b in range(3):
            n = _np(out["lengths"])[b]
            score = log_probs[b, np.arange(n), tokens[b, :n]].sum()
            np.testing.assert_allclose(_np(out[key])[b], score, atol=1e-4)
            if strategy == "greedy":
                np.testing.assert_array_equal(
                    log_probs[b, :n].argmax(-1), tokens[b, :n]
                )


def test_generate_in_a_graph_with_unknown_batch_size():
    # What a serving signature does: images of any batch size -> captions.
    model = _model()
    images = _images()
    expected = model.generate(images, max_length=6)

    @tf.function(input_signature=[tf.TensorSpec((None, 16, 16, 3))])
    def caption(images):
        out = model.generate(images, max_length=6)
        return out["token_ids"], out["alignment"]

    token_ids, alignment = caption(images)
    np.testing.assert_array_equal(_np(token_ids), _np(expected["token_ids"]))
    np.testing.assert_allclose(
        _np(alignment), _np(expected["alignment"]), atol=1e-6
    )


def test_config_round_trip_and_keras_save_load(tmp_path):
    model = _model(num_encoder_layers=1, normalize_first=True)
    images = _images()
    expected = _np(model(_inputs(images)))
    config = model.get_config()
    json.dumps(config)
    assert TransformerCaptioner.from_config(config).get_config() == config
    model.compile("adam", MaskedSparseCategoricalCrossentropy())
    path = str(tmp_path / "captioner.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_np(loaded(_inputs(images))), expected, atol=0)
    np.testing.assert_array_equal(
        _np(loaded.generate(images)["token_ids"]),
        _np(model.generate(images)["token_ids"]),
    )


def test_fit_with_xla_reduces_the_loss():
    model = _model()
    model.compile(
        keras.optimizers.Adam(0.01),
        MaskedSparseCategoricalCrossentropy(),
        jit_compile=True,
    )
    history = model.fit(_inputs(), TARGET_OUT, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.5, losses


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden_dim": 10, "num_heads": 4}, "hidden_dim"),
        ({"num_encoder_layers": -1}, "num_encoder_layers"),
        ({"dropout": -0.1}, "dropout"),
        ({"num_layers": 0}, "num_layers"),
        ({"encoder": None}, "encoder"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {
        "encoder": ImageFeatureEncoder((16, 16, 3), filters=[4]),
        "vocabulary_size": VOCAB,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"Received: {message}"):
        TransformerCaptioner(**args)


def test_bad_inputs():
    model = _model()
    with pytest.raises(ValueError, match="Received: target_in.shape"):
        model(_inputs(target_in=np.zeros((3, 7), "int32")))
    with pytest.raises(ValueError, match="Received: max_length=0"):
        model.generate(_images(), max_length=0)
