"""Tests of GatedSoftAttention and the doubly stochastic penalty vs NumPy."""

import keras
import numpy as np
import pytest
from keras import ops
from layer_test_case import run_layer_test

from keras_seq.layers import GatedSoftAttention
from keras_seq.layers import doubly_stochastic_penalty


def _np(x):
    return ops.convert_to_numpy(x).astype("float64")


def _inputs(batch=3, regions=5, query_dim=6, feature_dim=4, seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, query_dim)).astype("float32")
    features = rng.normal(size=(batch, regions, feature_dim)).astype("float32")
    return query, features


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _reference(layer, query, features):
    """Xu et al. 2015 eqs. 4-5, 13 and sec. 4.2.1, written in NumPy."""
    query = query.astype("float64")
    features = features.astype("float64")
    attention = layer.attention
    if layer.score == "bahdanau":
        w1 = _np(attention.query_dense.kernel)
        w2 = _np(attention.value_dense.kernel)
        v = _np(attention.score_dense.kernel)[:, 0]
        # e_ti = v^T tanh(W_1 h_{t-1} + W_2 a_i)
        hidden = np.tanh((query @ w1)[:, None, :] + features @ w2)
        scores = hidden @ v
    else:  # "general": h^T W_a a_i, kernel = W_a^T (feature_dim, query_dim)
        wa_t = _np(attention.general_dense.kernel)
        scores = np.einsum("bq,blq->bl", query, features @ wa_t)
    alpha = _softmax(scores)  # (B, L)
    context = np.einsum("bl,bld->bd", alpha, features)
    if layer.use_gate:
        kernel = _np(layer.gate_dense.kernel)
        bias = _np(layer.gate_dense.bias)
        beta = _sigmoid(query @ kernel + bias)  # (B, 1)
    else:
        beta = np.ones((query.shape[0], 1))
    return beta * context, alpha, beta


@pytest.mark.parametrize(
    "kwargs",
    [
        {"score": "bahdanau", "units": 7},
        {"score": "bahdanau", "units": 7, "use_gate": False},
        {"score": "general"},
    ],
)
def test_context_matches_numpy(kwargs):
    keras.utils.set_random_seed(0)
    layer = GatedSoftAttention(**kwargs)
    query, features = _inputs()
    # Random non-zero gate bias so that beta is not the same for all rows.
    context, weights, gate = layer(query, features)
    if layer.use_gate:
        layer.gate_dense.bias.assign(np.array([0.7], "float32"))
        context, weights, gate = layer(query, features)
    expected_z, expected_alpha, expected_beta = _reference(
        layer, query, features
    )
    np.testing.assert_allclose(_np(weights), expected_alpha, atol=1e-6)
    np.testing.assert_allclose(_np(gate), expected_beta, atol=1e-6)
    np.testing.assert_allclose(_np(context), expected_z, atol=1e-5)
    np.testing.assert_allclose(_np(weights).sum(-1), 1.0, atol=1e-6)
    # Precomputed region keys give the same result.
    keys = layer.precompute_values(features)
    context_k, weights_k, _ = layer(query, features, keys=keys)
    np.testing.assert_allclose(_np(context_k), _np(context), atol=1e-6)
    np.testing.assert_allclose(_np(weights_k), _np(weights), atol=1e-6)


def test_layer_checks():
    query, features = _inputs()
    run_layer_test(
        GatedSoftAttention,
        {"score": "bahdanau", "units": 8, "use_gate": True},
        [query, features],
    )


def test_mask_gives_zero_weight():
    keras.utils.set_random_seed(0)
    layer = GatedSoftAttention("bahdanau", units=4)
    query, features = _inputs()
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 1, 0]], bool)
    _, weights, _ = layer(query, features, mask=mask)
    weights = _np(weights)
    np.testing.assert_array_equal(weights[~mask], 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_doubly_stochastic_penalty_matches_numpy():
    rng = np.random.default_rng(0)
    alpha = _softmax(rng.normal(size=(2, 4, 6)))  # (B, T, L)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    expected = []
    for b in range(2):
        # Xu et al. 2015 eq. 14: sum_i (1 - sum_t alpha_ti)^2 over real t.
        total = alpha[b][mask[b]].sum(axis=0)
        expected.append(((1.0 - total) ** 2).sum())
    penalty = doubly_stochastic_penalty(alpha.astype("float32"), mask)
    np.testing.assert_allclose(_np(penalty), expected, rtol=1e-5)
    unmasked = doubly_stochastic_penalty(alpha.astype("float32"))
    np.testing.assert_allclose(
        _np(unmasked), ((1.0 - alpha.sum(1)) ** 2).sum(-1), rtol=1e-5
    )
    # Attention summing to exactly 1 per region over the caption: zero.
    exact = np.eye(3, dtype="float32")[None]  # T = L = 3
    np.testing.assert_allclose(_np(doubly_stochastic_penalty(exact)), 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"score": "mlp"}, "score"),
        ({"score": "bahdanau"}, "units"),
        ({"score": "general", "units": 4}, "units"),
        ({"score": "bahdanau", "units": 0}, "units"),
        ({"score": "dot", "use_gate": 1}, "use_gate"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Received: {message}"):
        GatedSoftAttention(**kwargs)


def test_bad_query_rank():
    layer = GatedSoftAttention("bahdanau", units=4)
    query, features = _inputs()
    with pytest.raises(ValueError, match="Received: query.shape"):
        layer(query[:, None, :], features)
