"""Tests of RNNEncoder against a NumPy LSTM/GRU written from the equations."""

import numpy as np
import pytest
from keras import ops
from layer_test_case import run_layer_test

from keras_seq.layers import RNNEncoder


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_lstm(x, kernel, recurrent, bias):
    """LSTM (Hochreiter & Schmidhuber 1997), Keras gate order i, f, c, o."""
    units = recurrent.shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    outputs = []
    for x_t in x:
        z = x_t @ kernel + h @ recurrent + bias
        i = _sigmoid(z[:units])
        f = _sigmoid(z[units : 2 * units])
        g = np.tanh(z[2 * units : 3 * units])
        o = _sigmoid(z[3 * units :])
        c = f * c + i * g
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs), [h, c]


def _np_gru(x, kernel, recurrent, bias):
    """GRU (Cho et al. 2014) with reset_after=True, Keras gate order z, r, h."""
    units = recurrent.shape[0]
    h = np.zeros(units)
    outputs = []
    for x_t in x:
        xz = x_t @ kernel + bias[0]
        hz = h @ recurrent + bias[1]
        z = _sigmoid(xz[:units] + hz[:units])
        r = _sigmoid(xz[units : 2 * units] + hz[units : 2 * units])
        hh = np.tanh(xz[2 * units :] + r * hz[2 * units :])
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return np.stack(outputs), [h]


def _np_rnn(cell, x, weights):
    kernel, recurrent, bias = (np.asarray(w, "float64") for w in weights)
    fn = _np_lstm if cell == "lstm" else _np_gru
    return fn(x, kernel, recurrent, bias)


TOKENS = np.array([[4, 9, 7, 5, 0, 0], [3, 8, 0, 0, 0, 0]], "int32")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_standard_layer_checks(cell, bidirectional):
    run_layer_test(
        RNNEncoder,
        {
            "vocabulary_size": 12,
            "embedding_dim": 5,
            "hidden_dim": 6,
            "cell": cell,
            "num_layers": 2,
            "bidirectional": bidirectional,
            "dropout": 0.1,
        },
        [TOKENS],
        expected_output_shape=(
            (2, 6, 6),
            [[(2, 6)] * (2 if cell == "lstm" else 1)] * 2,
        ),
    )


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_matches_numpy_recurrence(cell):
    encoder = RNNEncoder(12, 5, 6, cell=cell, bidirectional=True)
    outputs, states = encoder(TOKENS)
    outputs = ops.convert_to_numpy(outputs)
    table = ops.convert_to_numpy(encoder.token_embedding.embeddings)
    rnn = encoder.rnn_layers[0]
    forward_w = [ops.convert_to_numpy(w) for w in rnn.forward_layer.weights]
    backward_w = [ops.convert_to_numpy(w) for w in rnn.backward_layer.weights]
    for b, row in enumerate(TOKENS):
        length = int(np.sum(row != 0))
        x = table[row[:length]].astype("float64")
        fwd, fwd_state = _np_rnn(cell, x, forward_w)
        bwd, bwd_state = _np_rnn(cell, x[::-1], backward_w)
        expected = np.concatenate([fwd, bwd[::-1]], axis=-1)
        np.testing.assert_allclose(outputs[b, :length], expected, atol=1e-5)
        # Padded positions are exactly zero.
        np.testing.assert_array_equal(outputs[b, length:], 0.0)
        for got, f, bk in zip(states[0], fwd_state, bwd_state):
            np.testing.assert_allclose(
                ops.convert_to_numpy(got)[b],
                np.concatenate([f, bk]),
                atol=1e-5,
            )


def test_final_state_is_last_top_layer_output():
    # Unidirectional: c = h_Tx is the output at the last real token.
    encoder = RNNEncoder(12, 5, 6, num_layers=2)
    outputs, states = encoder(TOKENS)
    outputs = ops.convert_to_numpy(outputs)
    h_top = ops.convert_to_numpy(states[-1][0])
    np.testing.assert_allclose(h_top[0], outputs[0, 3], atol=1e-6)
    np.testing.assert_allclose(h_top[1], outputs[1, 1], atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_outputs_do_not_depend_on_padding_or_batch(cell):
    encoder = RNNEncoder(12, 5, 6, cell=cell, num_layers=2, bidirectional=True)
    single, single_states = encoder(TOKENS[:1, :4])
    # Same sentence, more padding, next to another sentence; and garbage
    # ids under an explicit padding mask.
    garbage = TOKENS.copy()
    garbage[0, 4:] = [11, 2]
    mask = TOKENS != 0
    for ids, kwargs in ((TOKENS, {}), (garbage, {"padding_mask": mask})):
        batch, batch_states = encoder(ids, **kwargs)
        np.testing.assert_allclose(
            ops.convert_to_numpy(batch)[0, :4],
            ops.convert_to_numpy(single)[0],
            atol=1e-6,
        )
        for layer_a, layer_b in zip(batch_states, single_states):
            for a, b in zip(layer_a, layer_b):
                np.testing.assert_allclose(
                    ops.convert_to_numpy(a)[0],
                    ops.convert_to_numpy(b)[0],
                    atol=1e-6,
                )


def test_all_padding_row_gives_zeros():
    encoder = RNNEncoder(12, 5, 6, bidirectional=True)
    outputs, states = encoder(np.array([[0, 0, 0], [4, 5, 0]], "int32"))
    outputs = ops.convert_to_numpy(outputs)
    assert np.all(np.isfinite(outputs))
    np.testing.assert_array_equal(outputs[0], 0.0)
    for s in states[0]:
        np.testing.assert_array_equal(ops.convert_to_numpy(s)[0], 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_size": 0}, "vocabulary_size=0"),
        ({"hidden_dim": 2.5}, "hidden_dim=2.5"),
        ({"cell": "rnn"}, "cell='rnn'"),
        ({"num_layers": 0}, "num_layers=0"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"bidirectional": "yes"}, "bidirectional='yes'"),
        ({"bidirectional": True, "hidden_dim": 7}, "hidden_dim=7"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"vocabulary_size": 10, "embedding_dim": 4, "hidden_dim": 6}
    args.update(kwargs)
    with pytest.raises(
        ValueError,
        match="Received: " + message.replace("(", r"\(").replace(".", r"\."),
    ):
        RNNEncoder(**args)


def test_bad_inputs():
    encoder = RNNEncoder(10, 4, 6)
    with pytest.raises(ValueError, match="token_ids.shape"):
        encoder(np.zeros((2,), "int32"))
    with pytest.raises(ValueError, match=r"token_ids.shape=\(2, 0\)"):
        encoder(np.zeros((2, 0), "int32"))
