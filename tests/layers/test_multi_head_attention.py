"""MultiHeadAttention against NumPy written from Vaswani et al. 2017 eq. 1.

Sec. 3.2: Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, per head,
heads concatenated and multiplied by W^O.
"""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import MultiHeadAttention
from keras_seq.layers.attention_ops import causal_mask
from keras_seq.layers.attention_ops import fused_dot_product_attention
from keras_seq.layers.attention_ops import scaled_dot_product_attention
from tests.layer_test_case import run_layer_test

B, T, S, D, HEADS, HK = 3, 4, 6, 8, 2, 5


def _weights(layer):
    w = {}
    for v in layer.weights:
        w["/".join(v.path.split("/")[-2:])] = ops.convert_to_numpy(v).astype(
            "float64"
        )
    return w


def numpy_mha(layer, query, value, mask):
    """Written from the paper, one head at a time, float64.

    mask: bool (B, T, S) or None; a row without any True gives zeros.
    """
    w = _weights(layer)
    q_in, v_in = query.astype("float64"), value.astype("float64")
    out_heads, all_weights = [], []
    for i in range(layer.num_heads):
        wq = w["query_dense/kernel"][:, i, :]
        wk = w["key_dense/kernel"][:, i, :]
        wv = w["value_dense/kernel"][:, i, :]
        q = q_in @ wq + w["query_dense/bias"][i]
        k = v_in @ wk + w["key_dense/bias"][i]
        v = v_in @ wv + w["value_dense/bias"][i]
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])  # (B,T,S)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        m = np.max(scores, axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        e = np.exp(scores - m)
        z = e.sum(-1, keepdims=True)
        a = np.divide(e, z, out=np.zeros_like(e), where=z > 0)
        all_weights.append(a)
        out_heads.append(a @ v)
    concat = np.concatenate(out_heads, axis=-1)  # (B, T, h * d_v)
    wo = w["output_dense/kernel"]  # (h, d_v, D) -> W^O of shape (h d_v, D)
    wo = wo.reshape(-1, wo.shape[-1])
    out = concat @ wo + w["output_dense/bias"]
    return out, np.stack(all_weights, axis=1)  # (B, h, T, S)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, T, D)).astype("float32")
    value = rng.normal(size=(B, S, D)).astype("float32")
    lengths = np.array([6, 3, 0])  # the last sequence is all padding
    value_mask = np.arange(S)[None, :] < lengths[:, None]
    return query, value, value_mask


@pytest.mark.parametrize("use_fused", [True, False])
def test_matches_numpy_with_padding(use_fused):
    query, value, value_mask = _inputs()
    layer = MultiHeadAttention(
        HEADS, HK, use_fused=use_fused, bias_initializer="random_normal"
    )
    out = layer(query, value, value_mask=value_mask)
    out_w, weights = layer(
        query, value, value_mask=value_mask, return_attention_scores=True
    )
    mask = np.broadcast_to(value_mask[:, None, :], (B, T, S))
    expected, expected_w = numpy_mha(layer, query, value, mask)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(out_w), expected, atol=1e-5)
    weights = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights, expected_w, atol=1e-6)
    # Padded keys get exactly zero weight; the empty row is all zeros.
    assert np.all(weights[1, :, :, 3:] == 0.0)
    assert np.all(weights[2] == 0.0)
    assert not np.any(np.isnan(ops.convert_to_numpy(out)))


@pytest.mark.parametrize("use_fused", [True, False])
def test_causal_mask_matches_numpy(use_fused):
    query, _, _ = _inputs(1)
    layer = MultiHeadAttention(HEADS, HK, use_fused=use_fused)
    out = layer(query, query, use_causal_mask=True)
    mask = np.tril(np.ones((T, T), bool))[None]
    expected, expected_w = numpy_mha(layer, query, query, mask)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-5)
    _, w = layer(
        query, query, use_causal_mask=True, return_attention_scores=True
    )
    w = ops.convert_to_numpy(w)
    assert np.all(
        w[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0.0
    )


def test_causal_mask_function():
    np.testing.assert_array_equal(
        ops.convert_to_numpy(causal_mask(3, 5, start_index=2))[0],
        np.arange(5)[None, :] <= (np.arange(3)[:, None] + 2),
    )


def test_fused_agrees_with_explicit_formula():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(2, 5, 3, 4)).astype("float32")
    k = rng.normal(size=(2, 7, 3, 4)).astype("float32")
    v = rng.normal(size=(2, 7, 3, 4)).astype("float32")
    mask = rng.random((2, 1, 5, 7)) > 0.4
    mask[0, 0, 2, :] = False  # one fully masked row
    explicit, _ = scaled_dot_product_attention(q, k, v, mask)
    fused = fused_dot_product_attention(q, k, v, mask)
    np.testing.assert_allclose(
        ops.convert_to_numpy(fused), ops.convert_to_numpy(explicit), atol=1e-5
    )
    assert np.all(ops.convert_to_numpy(fused)[0, 2] == 0.0)


def test_attention_mask_and_query_mask():
    query, value, value_mask = _inputs(2)
    rng = np.random.default_rng(4)
    attention_mask = rng.random((B, T, S)) > 0.3
    query_mask = np.array([[1, 1, 1, 0]] * B, bool)
    layer = MultiHeadAttention(HEADS, HK)
    _, w = layer(
        query,
        value,
        value_mask=value_mask,
        query_mask=query_mask,
        attention_mask=attention_mask,
        return_attention_scores=True,
    )
    mask = attention_mask & value_mask[:, None, :] & query_mask[:, :, None]
    _, expected_w = numpy_mha(layer, query, value, mask)
    np.testing.assert_allclose(ops.convert_to_numpy(w), expected_w, atol=1e-6)


def test_result_independent_of_padding_and_batch():
    query, value, value_mask = _inputs(5)
    layer = MultiHeadAttention(HEADS, HK)
    full = ops.convert_to_numpy(layer(query, value, value_mask=value_mask))
    alone = ops.convert_to_numpy(layer(query[1:2], value[1:2, :3]))
    np.testing.assert_allclose(full[1:2], alone, atol=1e-5)


def test_cache_step_by_step_equals_full_pass():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(B, T, D)).astype("float32")
    layer = MultiHeadAttention(HEADS, HK)
    full = ops.convert_to_numpy(layer(x, x, use_causal_mask=True))
    cache = layer.initial_cache(B, T + 2)  # longer than needed: masked
    steps = []
    for i in range(T):
        out, cache = layer(
            x[:, i : i + 1],
            x[:, i : i + 1],
            use_causal_mask=True,
            cache=cache,
            cache_update_index=i,
        )
        steps.append(ops.convert_to_numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_precomputed_key_value_cache():
    query, value, value_mask = _inputs(7)
    layer = MultiHeadAttention(HEADS, HK)
    full = layer(query, value, value_mask=value_mask)
    kv = layer.compute_key_value(value)
    out, kv_back = layer(query, value, value_mask=value_mask, cache=kv)
    np.testing.assert_allclose(
        ops.convert_to_numpy(out), ops.convert_to_numpy(full), atol=1e-6
    )
    for name in ("key", "value"):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(kv_back[name]), ops.convert_to_numpy(kv[name])
        )


def test_value_dim_and_output_dim():
    query, value, _ = _inputs(8)
    layer = MultiHeadAttention(HEADS, HK, value_dim=3, output_dim=7)
    out = layer(query, value)
    assert tuple(out.shape) == (B, T, 7)
    expected, _ = numpy_mha(layer, query, value, None)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-5)


def test_dropout_only_in_training():
    query, value, _ = _inputs(9)
    layer = MultiHeadAttention(HEADS, HK, dropout=0.5)
    a = ops.convert_to_numpy(layer(query, value, training=False))
    b = ops.convert_to_numpy(layer(query, value, training=False))
    c = ops.convert_to_numpy(layer(query, value, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_heads": 0, "key_dim": 4}, "num_heads"),
        ({"num_heads": 2, "key_dim": -1}, "key_dim"),
        ({"num_heads": 2, "key_dim": 4, "value_dim": 0}, "value_dim"),
        ({"num_heads": 2, "key_dim": 4, "dropout": 1.5}, "dropout"),
        ({"num_heads": 2, "key_dim": 4, "output_dim": 0}, "output_dim"),
        ({"num_heads": 2, "key_dim": 4, "use_fused": "yes"}, "use_fused"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        MultiHeadAttention(**kwargs)


def test_cache_index_without_cache():
    query, value, _ = _inputs()
    with pytest.raises(ValueError, match="cache_update_index"):
        MultiHeadAttention(HEADS, HK)(query, value, cache_update_index=1)


def test_run_layer_test():
    query, value, value_mask = _inputs()
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": HEADS, "key_dim": HK, "dropout": 0.1},
        [query, value],
        {"value_mask": value_mask},
    )
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": HEADS, "key_dim": HK, "use_fused": False},
        [query, value],
        {"value_mask": value_mask, "return_attention_scores": True},
        check_output_shape=False,
        expected_output_shape=[(B, T, D), (B, HEADS, T, S)],
    )


def test_mixed_bfloat16_no_nan():
    query, value, value_mask = _inputs()
    layer = MultiHeadAttention(HEADS, HK, dtype="mixed_bfloat16")
    out = layer(query, value, value_mask=value_mask)
    assert out.dtype == "bfloat16"
    assert np.all(np.isfinite(ops.convert_to_numpy(ops.cast(out, "float32"))))


def test_use_fused_auto_picks_the_path_by_backend_and_devices(monkeypatch):
    import keras

    from keras_seq.layers import multi_head_attention as mha

    assert mha.fused_is_faster(True) and not mha.fused_is_faster(False)
    on_cpu_tf = keras.backend.backend() == "tensorflow" and all(
        d.startswith("cpu") for d in keras.distribution.list_devices()
    )
    assert mha.fused_is_faster("auto") == (not on_cpu_tf)
    # The choice is made in _attend: with "auto" on CPU TensorFlow the
    # explicit formula runs (the fused op is never called).
    calls = []
    monkeypatch.setattr(
        mha,
        "fused_dot_product_attention",
        lambda *a, **k: calls.append(1) or fused_dot_product_attention(*a, **k),
    )
    layer = MultiHeadAttention(HEADS, HK)
    assert layer.use_fused == "auto"
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype("float32")
    layer(x, x)
    assert bool(calls) == mha.fused_is_faster("auto")
    MultiHeadAttention(HEADS, HK, use_fused=True)(x, x)
    assert calls
