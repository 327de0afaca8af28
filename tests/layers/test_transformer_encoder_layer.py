"""TransformerEncoderLayer against NumPy written from Vaswani et al. 2017.

Sec. 3.1 and eq. 2: LayerNorm(x + Sublayer(x)) with self-attention and the FFN
max(0, x W1 + b1) W2 + b2; pre-norm x + Sublayer(LayerNorm(x)).
"""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import TransformerEncoderLayer
from tests.layer_test_case import run_layer_test
from tests.layers.test_multi_head_attention import numpy_mha

B, T, D, HEADS, FF = 2, 5, 8, 2, 16


def numpy_layer_norm(x, layer):
    gamma = ops.convert_to_numpy(layer.gamma).astype("float64")
    beta = ops.convert_to_numpy(layer.beta).astype("float64")
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + layer.epsilon) + beta


def numpy_ffn(x, ffn, activation="relu"):
    w1 = ops.convert_to_numpy(ffn.intermediate_dense.kernel).astype("float64")
    b1 = ops.convert_to_numpy(ffn.intermediate_dense.bias).astype("float64")
    w2 = ops.convert_to_numpy(ffn.output_dense.kernel).astype("float64")
    b2 = ops.convert_to_numpy(ffn.output_dense.bias).astype("float64")
    h = x @ w1 + b1
    if activation == "relu":
        h = np.maximum(0.0, h)
    else:  # exact GELU
        from math import erf

        h = 0.5 * h * (1.0 + np.vectorize(erf)(h / np.sqrt(2.0)))
    return h @ w2 + b2


def numpy_encoder_layer(layer, x, mask, activation="relu"):
    x = x.astype("float64")
    attn_norm = layer.self_attention_layer_norm
    ffn_norm = layer.feed_forward_layer_norm
    if layer.normalize_first:
        h = numpy_layer_norm(x, attn_norm)
        x = x + numpy_mha(layer.self_attention, h, h, mask)[0]
        h = numpy_layer_norm(x, ffn_norm)
        return x + numpy_ffn(h, layer.feed_forward, activation)
    x = numpy_layer_norm(
        x + numpy_mha(layer.self_attention, x, x, mask)[0], attn_norm
    )
    return numpy_layer_norm(
        x + numpy_ffn(x, layer.feed_forward, activation), ffn_norm
    )


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, D)).astype("float32")
    padding_mask = np.arange(T)[None, :] < np.array([[5], [3]])
    return x, padding_mask


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_matches_numpy(normalize_first, activation):
    x, padding_mask = _inputs()
    layer = TransformerEncoderLayer(
        HEADS,
        FF,
        activation=activation,
        normalize_first=normalize_first,
        bias_initializer="random_normal",
    )
    out = layer(x, padding_mask=padding_mask)
    mask = np.broadcast_to(padding_mask[:, None, :], (B, T, T))
    expected = numpy_encoder_layer(layer, x, mask, activation)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-4)


def test_padding_does_not_change_real_positions():
    x, padding_mask = _inputs(1)
    layer = TransformerEncoderLayer(HEADS, FF)
    full = ops.convert_to_numpy(layer(x, padding_mask=padding_mask))
    alone = ops.convert_to_numpy(layer(x[1:, :3]))
    np.testing.assert_allclose(full[1:, :3], alone, atol=1e-5)


def test_returns_attention_weights():
    x, padding_mask = _inputs(2)
    layer = TransformerEncoderLayer(HEADS, FF)
    _, w = layer(x, padding_mask=padding_mask, return_attention_scores=True)
    w = ops.convert_to_numpy(w)
    assert w.shape == (B, HEADS, T, T)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    assert np.all(w[1, :, :, 3:] == 0.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_heads": 0, "intermediate_dim": 4}, "num_heads"),
        ({"num_heads": 2, "intermediate_dim": 0}, "intermediate_dim"),
        ({"num_heads": 2, "intermediate_dim": 4, "dropout": -0.1}, "dropout"),
        (
            {"num_heads": 2, "intermediate_dim": 4, "layer_norm_epsilon": 0},
            "layer_norm_epsilon",
        ),
        (
            {"num_heads": 2, "intermediate_dim": 4, "activation": "nope"},
            "activation",
        ),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        TransformerEncoderLayer(**kwargs)


def test_hidden_dim_not_divisible():
    x, _ = _inputs()
    with pytest.raises(ValueError, match="num_heads=3"):
        TransformerEncoderLayer(3, FF)(x)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_run_layer_test(normalize_first):
    x, padding_mask = _inputs()
    run_layer_test(
        TransformerEncoderLayer,
        {
            "num_heads": HEADS,
            "intermediate_dim": FF,
            "dropout": 0.1,
            "normalize_first": normalize_first,
            "activation": "gelu",
            "layer_norm_epsilon": 1e-12,
        },
        [x],
        {"padding_mask": padding_mask},
    )
