"""AttentionalHiddenState against NumPy: tanh(W_c [c_t; q_t]) (Luong eq. 5)."""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import AttentionalHiddenState
from tests.layer_test_case import run_layer_test

B, T, DC, DQ, H = 2, 3, 5, 4, 6


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    context = rng.normal(size=(B, T, DC)).astype("float32")
    query = rng.normal(size=(B, T, DQ)).astype("float32")
    return context, query


def _numpy(layer, context, query, activation=np.tanh):
    kernel = ops.convert_to_numpy(layer.combine_dense.kernel).astype("float64")
    w_c = kernel.T  # (H, DC + DQ)
    out = np.zeros(context.shape[:-1] + (layer.hidden_dim,))
    for idx in np.ndindex(*context.shape[:-1]):
        cq = np.concatenate([context[idx], query[idx]]).astype("float64")
        z = w_c @ cq
        if layer.use_bias:
            z = z + ops.convert_to_numpy(layer.combine_dense.bias)
        out[idx] = activation(z)
    return out


def test_all_steps_and_single_step_match_numpy():
    context, query = _inputs()
    layer = AttentionalHiddenState(hidden_dim=H)
    out = layer(context, query)
    assert out.shape == (B, T, H)
    assert layer.combine_dense.kernel.shape == (DC + DQ, H)
    assert len(layer.weights) == 1  # no bias, as in Luong eq. 5
    np.testing.assert_allclose(
        ops.convert_to_numpy(out), _numpy(layer, context, query), atol=1e-5
    )
    step = layer(context[:, 1], query[:, 1])
    assert step.shape == (B, H)
    np.testing.assert_allclose(
        ops.convert_to_numpy(step),
        _numpy(layer, context[:, 1], query[:, 1]),
        atol=1e-5,
    )


def test_bias_and_activation():
    context, query = _inputs(1)
    layer = AttentionalHiddenState(
        hidden_dim=H, activation="relu", use_bias=True
    )
    layer(context, query)
    layer.combine_dense.bias.assign(np.linspace(-1, 1, H).astype("float32"))
    out = layer(context, query)
    np.testing.assert_allclose(
        ops.convert_to_numpy(out),
        _numpy(layer, context, query, lambda z: np.maximum(z, 0.0)),
        atol=1e-5,
    )


def test_run_layer_test(tmp_path):
    context, query = _inputs()
    run_layer_test(
        AttentionalHiddenState,
        {"hidden_dim": H, "activation": "tanh", "use_bias": True},
        (context, query),
        expected_output_shape=(B, T, H),
        tmp_dir=str(tmp_path),
    )
    run_layer_test(
        AttentionalHiddenState,
        {"hidden_dim": H},
        (context[:, 0], query[:, 0]),
        expected_output_shape=(B, H),
        tmp_dir=str(tmp_path),
        check_mixed_precision=False,
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: hidden_dim=0"):
        AttentionalHiddenState(hidden_dim=0)
    with pytest.raises(ValueError, match="Received: hidden_dim='8'"):
        AttentionalHiddenState(hidden_dim="8")
    with pytest.raises(ValueError, match="Received: activation='nope'"):
        AttentionalHiddenState(hidden_dim=4, activation="nope")
    context, query = _inputs()
    layer = AttentionalHiddenState(hidden_dim=4)
    with pytest.raises(ValueError, match="Received: context.shape"):
        layer(context, query[:, 0])
    with pytest.raises(ValueError, match="Received: context.shape"):
        layer(context[:, :2], query)
    with pytest.raises(ValueError, match="Received: context.shape"):
        layer(context[0, 0], query[0, 0])
