"""Tests of RNNSeq2Seq: wiring against NumPy, decoding contract, saving."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_seq.models import RNNSeq2Seq

SOURCE = np.array(
    [[5, 6, 7, 8, 9, 0], [4, 11, 0, 0, 0, 0], [12, 13, 14, 0, 0, 0]],
    "int32",
)
TARGET_IN = np.array([[2, 5, 6, 7], [2, 8, 0, 0], [2, 9, 10, 0]], "int32")
TARGET_OUT = np.array([[5, 6, 7, 3], [8, 3, 0, 0], [9, 10, 3, 0]], "int32")

VARIANTS = {
    "sutskever": {"attention": None, "context": "init"},
    "cho_gru": {"attention": None, "context": "every_step", "cell": "gru"},
    "luong_general": {"attention": "luong", "score": "general"},
    "luong_dot_no_feed": {
        "attention": "luong",
        "score": "dot",
        "input_feeding": False,
    },
    "luong_concat_2l_bi": {
        "attention": "luong",
        "score": "concat",
        "num_layers": 2,
        "bidirectional": True,
    },
    "local_p": {"attention": "local", "local_mode": "local-p", "window": 2},
    "local_m_gru": {
        "attention": "local",
        "local_mode": "local-m",
        "window": 1,
        "cell": "gru",
    },
    "bahdanau_bi": {"attention": "bahdanau", "bidirectional": True},
}


def _model(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    args = {
        "source_vocabulary_size": 15,
        "target_vocabulary_size": 12,
        "embedding_dim": 6,
        "hidden_dim": 8,
        "max_source_length": 10,
        "max_target_length": 6,
    }
    args.update(kwargs)
    return RNNSeq2Seq(**args)


def _np(x):
    return ops.convert_to_numpy(x)


def _inputs(source=SOURCE, target_in=TARGET_IN):
    return {"source_ids": source, "target_in": target_in}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shapes_and_finite_outputs(variant):
    model = _model(**VARIANTS[variant])
    logits, alignments = model(_inputs(), return_alignments=True)
    assert tuple(logits.shape) == (3, 4, 12)
    assert tuple(alignments.shape) == (3, 4, 6)
    assert model.compute_output_shape(
        {"source_ids": (3, 6), "target_in": (3, 4)}
    ) == (3, 4, 12)
    assert np.all(np.isfinite(_np(logits)))
    weights = _np(alignments)
    if model.attention is None:
        np.testing.assert_array_equal(weights, 0.0)
    else:
        # Padded source positions get exactly zero weight.
        np.testing.assert_array_equal(weights[1, :, 2:], 0.0)
        np.testing.assert_array_equal(weights[2, :, 3:], 0.0)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_decode_step_equals_teacher_forcing(variant):
    model = _model(**VARIANTS[variant])
    logits, alignments = model(_inputs(), return_alignments=True)
    state = model.initial_decoding_state(SOURCE)
    for t in range(TARGET_IN.shape[1]):
        step_logits, state, aux = model.decode_step(
            TARGET_IN[:, t], state, np.int32(t)
        )
        np.testing.assert_allclose(
            _np(step_logits), _np(logits)[:, t], atol=1e-5
        )
        if model.attention is None:
            assert aux == {}
        else:
            np.testing.assert_allclose(
                _np(aux["alignment"]), _np(alignments)[:, t], atol=1e-6
            )


@pytest.mark.parametrize(
    "variant", ["sutskever", "luong_general", "local_m_gru", "bahdanau_bi"]
)
def test_greedy_is_argmax_of_teacher_forcing_on_its_own_output(variant):
    model = _model(**VARIANTS[variant])
    out = model.generate(SOURCE, max_length=6)
    tokens = _np(out["token_ids"])
    lengths = _np(out["lengths"])
    assert tokens.shape == (3, 6)
    # Teacher forcing on [BOS] + greedy output: the argmax at each position
    # must reproduce the next greedy token.
    target_in = np.concatenate(
        [np.full((3, 1), 2, "int32"), tokens[:, :-1]], axis=1
    )
    logits, alignments = model(
        _inputs(target_in=target_in), return_alignments=True
    )
    argmax = np.argmax(_np(logits), axis=-1)
    log_probs = _np(ops.log_softmax(logits, axis=-1))
    for b in range(3):
        n = lengths[b]
        np.testing.assert_array_equal(tokens[b, :n], argmax[b, :n])
        np.testing.assert_array_equal(tokens[b, n:], 0)
        if n < 6:
            assert tokens[b, n - 1] == 3  # stopped at EOS
        score = log_probs[b, np.arange(n), tokens[b, :n]].sum()
        np.testing.assert_allclose(_np(out["scores"])[b], score, atol=1e-4)
        if model.attention is not None:
            np.testing.assert_allclose(
                _np(out["alignment"])[b, :n],
                _np(alignments)[b, :n],
                atol=1e-5,
            )


def test_greedy_compiles_with_xla():
    model = _model(**VARIANTS["luong_general"])
    eager = model.generate(SOURCE, max_length=6)

    @tf.function(jit_compile=True)
    def generate(source_ids):
        return model.generate(source_ids, max_length=6)

    compiled = generate(tf.constant(SOURCE))
    for key in ("token_ids", "lengths", "alignment"):
        np.testing.assert_allclose(
            _np(compiled[key]), _np(eager[key]), atol=1e-5
        )


# --- Independent NumPy computation of the decoder (Cho et al. 2014 ---
# --- sec. 2.2; Luong et al. 2015 eqs. 5-8). ---


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _lstm_step(x, h, c, cell):
    kernel, recurrent, bias = (_np(w).astype("float64") for w in cell.weights)
    z = x @ kernel + h @ recurrent + bias
    u = h.shape[-1]
    i, f = _sigmoid(z[:, :u]), _sigmoid(z[:, u : 2 * u])
    g, o = np.tanh(z[:, 2 * u : 3 * u]), _sigmoid(z[:, 3 * u :])
    c = f * c + i * g
    return o * np.tanh(c), c


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _encoder_np(model, source):
    values, states = model.encoder(source)
    return (
        _np(values).astype("float64"),
        _np(states[0][0]).astype("float64"),
        _np(states[0][1]).astype("float64"),
    )


def test_luong_general_with_input_feeding_matches_numpy():
    model = _model(**VARIANTS["luong_general"])
    logits, alignments = model(_inputs(), return_alignments=True)
    values, h, c = _encoder_np(model, SOURCE)
    mask = SOURCE != 0
    table = _np(model.target_embedding.embeddings).astype("float64")
    w_a_t = _np(model.attention_layer.general_dense.kernel).astype("float64")
    w_c = _np(model.attentional_hidden_state.combine_dense.kernel).astype(
        "float64"
    )
    w_s = _np(model.output_projection.kernel).astype("float64")
    b_s = _np(model.output_projection.bias).astype("float64")
    feed = np.zeros_like(h)  # q~_0 = 0
    for t in range(TARGET_IN.shape[1]):
        # Input feeding: [y_{t-1}; q~_{t-1}] (Luong et al. 2015 sec. 3.3).
        x = np.concatenate([table[TARGET_IN[:, t]], feed], axis=-1)
        h, c = _lstm_step(x, h, c, model.decoder_cells[0])
        # general score q_t^T W_a h_s; W_a^T is the stored kernel.
        scores = np.einsum("bd,bsd->bs", h, values @ w_a_t)
        scores = np.where(mask, scores, -np.inf)
        a = _softmax(scores)
        context = np.einsum("bs,bsd->bd", a, values)
        q_tilde = np.tanh(np.concatenate([context, h], -1) @ w_c)  # eq. 5
        probs = _softmax(q_tilde @ w_s + b_s)  # eq. 6
        np.testing.assert_allclose(_np(alignments)[:, t], a, atol=1e-5)
        np.testing.assert_allclose(
            _np(ops.softmax(logits[:, t], axis=-1)), probs, atol=1e-5
        )
        feed = q_tilde


@pytest.mark.parametrize("context", ["init", "every_step"])
def test_sutskever_and_cho_match_numpy(context):
    model = _model(attention=None, context=context)
    logits = _np(model(_inputs()))
    values, h, c = _encoder_np(model, SOURCE)
    fixed_context = h.copy()  # c = h_Tx (Cho et al. 2014)
    table = _np(model.target_embedding.embeddings).astype("float64")
    w_s = _np(model.output_projection.kernel).astype("float64")
    b_s = _np(model.output_projection.bias).astype("float64")
    for t in range(TARGET_IN.shape[1]):
        x = table[TARGET_IN[:, t]]
        if context == "every_step":
            x = np.concatenate([x, fixed_context], axis=-1)
        h, c = _lstm_step(x, h, c, model.decoder_cells[0])
        np.testing.assert_allclose(logits[:, t], h @ w_s + b_s, atol=1e-5)


def test_bahdanau_scores_previous_state_and_feeds_context():
    model = _model(attention="bahdanau")
    logits, alignments = model(_inputs(), return_alignments=True)
    values, h, c = _encoder_np(model, SOURCE)
    mask = SOURCE != 0
    layer = model.attention_layer
    w1 = _np(layer.query_dense.kernel).astype("float64")
    w2 = _np(layer.value_dense.kernel).astype("float64")
    v = _np(layer.score_dense.kernel).astype("float64")[:, 0]
    table = _np(model.target_embedding.embeddings).astype("float64")
    w_c = _np(model.attentional_hidden_state.combine_dense.kernel).astype(
        "float64"
    )
    w_s = _np(model.output_projection.kernel).astype("float64")
    b_s = _np(model.output_projection.bias).astype("float64")
    for t in range(TARGET_IN.shape[1]):
        # score v^T tanh(W_1 q_{t-1} + W_2 h_s) (Bahdanau A.1.2).
        hidden = np.tanh((h @ w1)[:, None, :] + values @ w2)
        scores = np.where(mask, hidden @ v, -np.inf)
        a = _softmax(scores)
        context = np.einsum("bs,bsd->bd", a, values)
        x = np.concatenate([table[TARGET_IN[:, t]], context], axis=-1)
        h, c = _lstm_step(x, h, c, model.decoder_cells[0])
        out = np.tanh(np.concatenate([context, h], -1) @ w_c)
        np.testing.assert_allclose(_np(alignments)[:, t], a, atol=1e-5)
        np.testing.assert_allclose(
            _np(logits)[:, t], out @ w_s + b_s, atol=1e-5
        )


@pytest.mark.parametrize(
    "kwargs, input_dim",
    [
        ({"attention": None, "context": "init"}, 6),
        ({"attention": None, "context": "every_step"}, 6 + 8),
        ({"attention": "luong", "input_feeding": True}, 6 + 8),
        ({"attention": "luong", "input_feeding": False}, 6),
        ({"attention": "bahdanau"}, 6 + 8),
    ],
)
def test_decoder_input_wiring(kwargs, input_dim):
    model = _model(**kwargs)
    model(_inputs())
    kernel = model.decoder_cells[0].kernel
    assert tuple(kernel.shape) == (input_dim, 4 * 8)
    assert model.decoder_input_dim == input_dim


def test_cho_output_depends_on_context_at_every_step():
    # Sutskever and Cho with the same weights where shared: changing the
    # context-input half of Cho's kernel changes its logits, so c really
    # enters every step; Sutskever has no such half.
    cho = _model(attention=None, context="every_step")
    logits = _np(cho(_inputs()))
    kernel = _np(cho.decoder_cells[0].kernel)
    kernel[6:] = 0.0
    cho.decoder_cells[0].kernel.assign(kernel)
    changed = _np(cho(_inputs()))
    assert np.abs(logits - changed).max() > 1e-4


# --- Masking, padding, bad inputs. ---


@pytest.mark.parametrize(
    "variant", ["luong_concat_2l_bi", "local_p", "bahdanau_bi", "cho_gru"]
)
def test_outputs_do_not_depend_on_padding_or_other_rows(variant):
    model = _model(**VARIANTS[variant])
    full = _np(model(_inputs()))
    # Row 1 alone, with less source padding and without target padding
    # beyond its own length.
    alone = _np(
        model(_inputs(source=SOURCE[1:2, :3], target_in=TARGET_IN[1:2, :2]))
    )
    np.testing.assert_allclose(full[1, :2], alone[0], atol=1e-5)
    # More source padding.
    padded = np.pad(SOURCE, ((0, 0), (0, 3)))
    np.testing.assert_allclose(
        _np(model(_inputs(source=padded))), full, atol=1e-5
    )


def test_all_padding_source_row_is_finite():
    model = _model(**VARIANTS["luong_general"])
    source = SOURCE.copy()
    source[1] = 0
    logits, alignments = model(_inputs(source=source), return_alignments=True)
    assert np.all(np.isfinite(_np(logits)))
    np.testing.assert_array_equal(_np(alignments)[1], 0.0)
    out = model.generate(source, max_length=4)
    assert np.all(np.isfinite(_np(out["scores"])))


def test_bad_inputs():
    model = _model(**VARIANTS["luong_general"])
    with pytest.raises(ValueError, match=r"max_source_length=10.*Received"):
        model(_inputs(source=np.ones((3, 11), "int32")))
    with pytest.raises(ValueError, match=r"max_source_length=10.*Received"):
        model.generate(np.ones((1, 11), "int32"))
    with pytest.raises(ValueError, match=r"Received: source_ids.shape=\(1, 0"):
        model.generate(np.zeros((1, 0), "int32"))
    with pytest.raises(ValueError, match=r"source_ids.shape=\(6,\)"):
        model.generate(np.ones((6,), "int32"))
    with pytest.raises(ValueError, match="Received: strategy='top'"):
        model.generate(SOURCE, strategy="top")
    with pytest.raises(ValueError, match="Received: inputs=dict"):
        model({"source_ids": SOURCE})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attention": "global"}, "attention='global'"),
        ({"score": "cosine"}, "score='cosine'"),
        ({"cell": "rnn"}, "cell='rnn'"),
        ({"context": "sometimes"}, "context='sometimes'"),
        ({"attention": "luong", "context": "every_step"}, "context="),
        ({"local_mode": "local-x"}, "local_mode='local-x'"),
        ({"window": 0}, "window=0"),
        ({"hidden_dim": 0}, "hidden_dim=0"),
        ({"dropout": -0.1}, "dropout=-0.1"),
        ({"input_feeding": 1}, "input_feeding=1"),
        ({"bidirectional": True, "hidden_dim": 7}, "hidden_dim=7"),
        ({"max_source_length": None}, "max_source_length=None"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Received: " + message):
        _model(**kwargs)


# --- Config, saving, training. ---


@pytest.mark.parametrize("variant", ["luong_concat_2l_bi", "local_m_gru"])
def test_config_round_trip_and_keras_save_load(variant, tmp_path):
    model = _model(dropout=0.1, **VARIANTS[variant])
    logits = _np(model(_inputs()))
    generated = _np(model.generate(SOURCE, max_length=5)["token_ids"])
    config = model.get_config()
    json.dumps(config)
    for key, value in VARIANTS[variant].items():
        assert config[key] == value
    clone = RNNSeq2Seq.from_config(config)
    assert clone.get_config() == config
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, RNNSeq2Seq)
    np.testing.assert_allclose(_np(loaded(_inputs())), logits, atol=1e-6)
    np.testing.assert_array_equal(
        _np(loaded.generate(SOURCE, max_length=5)["token_ids"]), generated
    )


def test_fit_reduces_masked_loss():
    model = _model(attention="luong", dropout=0.1)
    model.compile(
        optimizer=keras.optimizers.Adam(0.03),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=0
        ),
    )
    x = _inputs()
    before = model.evaluate(x, TARGET_OUT, verbose=0)
    model.fit(x, TARGET_OUT, epochs=100, batch_size=3, verbose=0)
    after = model.evaluate(x, TARGET_OUT, verbose=0)
    assert after < 0.5 * before
    # It learned the three pairs: greedy decoding reproduces the targets.
    tokens = _np(model.generate(SOURCE, max_length=4)["token_ids"])
    np.testing.assert_array_equal(tokens, TARGET_OUT)


@pytest.mark.parametrize("variant", ["local_m_gru", "bahdanau_bi"])
def test_unknown_lengths_in_a_graph(variant):
    # tf.data batches padded per batch have (None, None) shapes.
    model = _model(**VARIANTS[variant])
    expected = _np(model(_inputs()))
    spec = tf.TensorSpec((None, None), tf.int32)

    @tf.function(input_signature=[spec, spec])
    def forward(source_ids, target_in):
        return model({"source_ids": source_ids, "target_in": target_in})

    np.testing.assert_allclose(
        _np(forward(SOURCE, TARGET_IN)), expected, atol=1e-5
    )
    np.testing.assert_allclose(
        _np(forward(SOURCE[:, :5], TARGET_IN[:, :3])),
        expected[:, :3],
        atol=1e-5,
    )


def test_beam_search_scores_match_teacher_forcing():
    model = _model(**VARIANTS["luong_general"])
    greedy = model.generate(SOURCE, max_length=6)
    width_one = model.generate(
        SOURCE, strategy="beam", beam_width=1, max_length=6
    )
    np.testing.assert_array_equal(
        _np(width_one["token_ids"]), _np(greedy["token_ids"])
    )
    beam = model.generate(SOURCE, strategy="beam", beam_width=3, max_length=6)
    tokens, lengths = _np(beam["token_ids"]), _np(beam["lengths"])
    target_in = np.concatenate(
        [np.full((3, 1), 2, "int32"), tokens[:, :-1]], axis=1
    )
    logits, alignments = model(
        _inputs(target_in=target_in), return_alignments=True
    )
    log_probs = _np(ops.log_softmax(logits, axis=-1))
    for b in range(3):
        n = lengths[b]
        expected = log_probs[b, np.arange(n), tokens[b, :n]].sum()
        np.testing.assert_allclose(_np(beam["log_probs"])[b], expected, 1e-4)
        np.testing.assert_allclose(
            _np(beam["alignment"])[b, :n], _np(alignments)[b, :n], atol=1e-5
        )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_compiled_forward_and_training_step(variant):
    model = _model(**VARIANTS[variant])
    eager = _np(model(_inputs()))
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=0
        ),
        jit_compile=True,
    )
    np.testing.assert_allclose(
        model.predict_on_batch(_inputs()), eager, atol=1e-5
    )
    loss = model.train_on_batch(_inputs(), TARGET_OUT)
    assert np.isfinite(loss)
    # The XLA-compiled gradients equal the eager ones, for every weight.
    loss_fn = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=0
    )

    def gradients():
        with tf.GradientTape() as tape:
            loss = loss_fn(TARGET_OUT, model(_inputs()))
        return tape.gradient(loss, [w.value for w in model.trainable_weights])

    eager_grads = gradients()
    compiled_grads = tf.function(gradients, jit_compile=True)()
    for w, e, c in zip(model.trainable_weights, eager_grads, compiled_grads):
        assert e is not None, w.path
        np.testing.assert_allclose(_np(c), _np(e), atol=1e-6, err_msg=w.path)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fit_with_xla_from_an_unbuilt_model(variant):
    # The pipeline's --jit-compile path: the model is first built inside
    # the XLA-compiled train step. The gradient of the decoder's while loop
    # must compile (a Dense on 3-D inputs inside the loop once did not: the
    # TF backend's tensordot gradient has a run-time transpose).
    model = _model(**VARIANTS[variant])
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=0
        ),
        jit_compile=True,
    )
    history = model.fit(_inputs(), TARGET_OUT, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses


def test_mixed_precision():
    model = _model(dtype="mixed_float16", **VARIANTS["luong_general"])
    logits, alignments = model(_inputs(), return_alignments=True)
    assert "float32" in str(logits.dtype)
    assert np.all(np.isfinite(_np(logits)))
    for w in model.trainable_weights:
        assert "float32" in str(w.dtype), w.path
    out = model.generate(SOURCE, max_length=5)
    assert np.all(np.isfinite(_np(out["scores"])))
