"""BahdanauAttention against NumPy: v^T tanh(W_1 q + W_2 h) (Bahdanau A.1.2)."""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import BahdanauAttention
from tests.layer_test_case import run_layer_test

B, T, S, DQ, DV, U = 3, 4, 6, 5, 7, 8


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, T, DQ)).astype("float32")
    values = rng.normal(size=(B, S, DV)).astype("float32")
    lengths = np.array([6, 2, 0])  # the last row is all padding
    mask = np.arange(S)[None, :] < lengths[:, None]
    return query, values, mask


def numpy_bahdanau(layer, query, values, mask):
    w1 = ops.convert_to_numpy(layer.query_dense.kernel).astype("float64").T
    w2 = ops.convert_to_numpy(layer.value_dense.kernel).astype("float64").T
    v = ops.convert_to_numpy(layer.score_dense.kernel).astype("float64")[:, 0]
    q, h = query.astype("float64"), values.astype("float64")
    b, t, s = q.shape[0], q.shape[1], h.shape[1]
    weights = np.zeros((b, t, s))
    for i in range(b):
        real = np.flatnonzero(mask[i])
        for j in range(t):
            if real.size == 0:
                continue
            e = np.array(
                [v @ np.tanh(w1 @ q[i, j] + w2 @ h[i, k]) for k in real]
            )
            e = np.exp(e - e.max())
            weights[i, j, real] = e / e.sum()
    return np.einsum("bts,bsd->btd", weights, h), weights


def test_all_steps_matches_numpy():
    query, values, mask = _inputs()
    layer = BahdanauAttention(units=U)
    context, weights = layer(query, values, mask=mask)
    assert context.shape == (B, T, DV) and weights.shape == (B, T, S)
    assert layer.query_dense.kernel.shape == (DQ, U)
    assert layer.value_dense.kernel.shape == (DV, U)
    assert layer.score_dense.kernel.shape == (U, 1)
    assert len(layer.weights) == 3  # no biases, as in the paper
    ref_c, ref_w = numpy_bahdanau(layer, query, values, mask)
    w = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(w, ref_w, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(context), ref_c, atol=1e-5)
    assert np.all(w[~np.broadcast_to(mask[:, None], w.shape)] == 0.0)
    assert np.all(w[2] == 0.0)
    assert np.all(ops.convert_to_numpy(context)[2] == 0.0)


def test_single_step_with_precomputed_keys():
    query, values, mask = _inputs(1)
    layer = BahdanauAttention(units=U)
    layer(query, values, mask=mask)
    keys = layer.precompute_values(values)
    assert keys.shape == (B, S, U)
    ref_c, ref_w = numpy_bahdanau(layer, query, values, mask)
    for t in range(T):
        for k in (None, keys):
            context, weights = layer(query[:, t], values, mask=mask, keys=k)
            assert context.shape == (B, DV) and weights.shape == (B, S)
            np.testing.assert_allclose(
                ops.convert_to_numpy(weights), ref_w[:, t], atol=1e-5
            )
            np.testing.assert_allclose(
                ops.convert_to_numpy(context), ref_c[:, t], atol=1e-5
            )


def test_independent_of_padding_and_other_rows():
    query, values, mask = _inputs(2)
    layer = BahdanauAttention(units=U)
    context, weights = layer(query, values, mask=mask)
    for extra in (0, 5):
        v = np.concatenate(
            [values[1:2, :2], np.full((1, extra, DV), -50.0, "float32")], 1
        )
        m = np.arange(2 + extra)[None] < 2
        c1, w1 = layer(query[1:2], v, mask=m)
        np.testing.assert_allclose(
            ops.convert_to_numpy(c1)[0],
            ops.convert_to_numpy(context)[1],
            atol=1e-5,
        )
        np.testing.assert_allclose(
            ops.convert_to_numpy(w1)[0, :, :2],
            ops.convert_to_numpy(weights)[1, :, :2],
            atol=1e-6,
        )
        assert np.all(ops.convert_to_numpy(w1)[0, :, 2:] == 0.0)


def test_run_layer_test(tmp_path):
    query, values, mask = _inputs()
    run_layer_test(
        BahdanauAttention,
        {"units": U},
        (query, values),
        {"mask": mask},
        expected_output_shape=((B, T, DV), (B, T, S)),
        tmp_dir=str(tmp_path),
    )
    run_layer_test(
        BahdanauAttention,
        {"units": U},
        (query[:, 0], values),
        {"mask": mask},
        expected_output_shape=((B, DV), (B, S)),
        tmp_dir=str(tmp_path),
        check_mixed_precision=False,
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: units=0"):
        BahdanauAttention(units=0)
    with pytest.raises(ValueError, match="Received: units=None"):
        BahdanauAttention(units=None)
    query, values, mask = _inputs()
    layer = BahdanauAttention(units=U)
    with pytest.raises(ValueError, match="call the layer once"):
        layer.precompute_values(values)
    with pytest.raises(ValueError, match="Received: values.shape"):
        layer(query, values[:, 0], mask=mask)
    with pytest.raises(ValueError, match="Received: mask.dtype=int"):
        layer(query, values, mask=mask.astype("int64"))
    with pytest.raises(ValueError, match="Received: values.dtype=int"):
        layer(query, values.astype("int64"), mask=mask)
    layer(query, values, mask=mask)
    with pytest.raises(ValueError, match="Received: keys.shape"):
        layer(query, values, mask=mask, keys=values)
