"""LuongAttention against NumPy written from Luong et al. 2015, eqs. 7-8."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.layers import LuongAttention
from tests.layer_test_case import run_layer_test

B, T, S, DQ, DV = 3, 4, 6, 5, 7


def _inputs(dq=DQ, dv=DV, seed=0):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, T, dq)).astype("float32")
    values = rng.normal(size=(B, S, dv)).astype("float32")
    # Real lengths 6, 3 and 0 (an all-padding row).
    lengths = np.array([6, 3, 0])
    mask = np.arange(S)[None, :] < lengths[:, None]
    return query, values, mask


def _kernel(layer, name):
    for w in layer.weights:
        if w.path.endswith(f"{name}/kernel"):
            return ops.convert_to_numpy(w).astype("float64")
    paths = [w.path for w in layer.weights]
    raise AssertionError(f"no weight {name} in {paths}")


def numpy_scores(layer, query, values):
    """score(q_t, h_s) for every t, s, written from Luong et al. 2015 eq. 8."""
    q = query.astype("float64")
    h = values.astype("float64")
    b, t, s = q.shape[0], q.shape[1], h.shape[1]
    out = np.zeros((b, t, s))
    if layer.score == "general":
        w_a = _kernel(layer, "general_dense").T  # (DQ, DV)
    if layer.score == "concat":
        # W_a [q; h] with W_a = [W_q, W_h] of shape (units, DQ + DV).
        w_a = np.concatenate(
            [_kernel(layer, "query_dense"), _kernel(layer, "value_dense")], 0
        ).T
        v_a = _kernel(layer, "score_dense")[:, 0]
    for i in range(b):
        for j in range(t):
            for k in range(s):
                if layer.score == "dot":
                    out[i, j, k] = q[i, j] @ h[i, k]
                elif layer.score == "general":
                    out[i, j, k] = q[i, j] @ w_a @ h[i, k]
                else:
                    qh = np.concatenate([q[i, j], h[i, k]])
                    out[i, j, k] = v_a @ np.tanh(w_a @ qh)
    return out


def numpy_attention(scores, values, mask):
    """a_t(s) = softmax over unmasked s; c_t = sum_s a_t(s) h_s (eq. 5)."""
    weights = np.zeros_like(scores)
    for i in range(scores.shape[0]):
        real = np.flatnonzero(mask[i])
        if real.size == 0:
            continue
        for j in range(scores.shape[1]):
            e = np.exp(scores[i, j, real] - scores[i, j, real].max())
            weights[i, j, real] = e / e.sum()
    context = np.einsum("bts,bsd->btd", weights, values.astype("float64"))
    return context, weights


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_all_steps_matches_numpy(score):
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq)
    layer = LuongAttention(score=score)
    context, weights = layer(query, values, mask=mask)
    assert context.shape == (B, T, DV) and weights.shape == (B, T, S)
    ref_c, ref_w = numpy_attention(
        numpy_scores(layer, query, values), values, mask
    )
    np.testing.assert_allclose(ops.convert_to_numpy(weights), ref_w, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(context), ref_c, atol=1e-5)
    # Padded positions are exactly zero; the all-padding row is all zero.
    w = ops.convert_to_numpy(weights)
    assert np.all(w[~np.broadcast_to(mask[:, None], w.shape)] == 0.0)
    assert np.all(w[2] == 0.0)
    assert np.all(ops.convert_to_numpy(context)[2] == 0.0)
    assert np.all(np.isfinite(ops.convert_to_numpy(context)))


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_single_step_matches_numpy(score):
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq, seed=1)
    layer = LuongAttention(score=score, units=3 if score == "concat" else None)
    context, weights = layer(query[:, 2], values, mask=mask)
    assert context.shape == (B, DV) and weights.shape == (B, S)
    ref_c, ref_w = numpy_attention(
        numpy_scores(layer, query[:, 2:3], values), values, mask
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(weights), ref_w[:, 0], atol=1e-5
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(context), ref_c[:, 0], atol=1e-5
    )
    # One step of the all-steps call equals the single-step call.
    all_c, all_w = layer(query, values, mask=mask)
    np.testing.assert_allclose(
        ops.convert_to_numpy(all_w)[:, 2],
        ops.convert_to_numpy(weights),
        atol=1e-6,
    )


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_precomputed_keys_match_numpy(score):
    # A decoder computes the source side of the score once
    # (`precompute_values`) and passes `keys=` at every step.
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq, seed=2)
    layer = LuongAttention(score=score, units=3 if score == "concat" else None)
    with pytest.raises(ValueError, match="call the layer once"):
        layer.precompute_values(values)
    layer(query, values, mask=mask)  # builds the weights
    keys = layer.precompute_values(values)
    expected = {"dot": values, "general": None, "concat": None}[score]
    if expected is None:
        name = "general_dense" if score == "general" else "value_dense"
        expected = values.astype("float64") @ _kernel(layer, name)
    np.testing.assert_allclose(ops.convert_to_numpy(keys), expected, atol=1e-5)
    ref_c, ref_w = numpy_attention(
        numpy_scores(layer, query, values), values, mask
    )
    for t in range(T):
        context, weights = layer(query[:, t], values, mask=mask, keys=keys)
        np.testing.assert_allclose(
            ops.convert_to_numpy(weights), ref_w[:, t], atol=1e-5
        )
        np.testing.assert_allclose(
            ops.convert_to_numpy(context), ref_c[:, t], atol=1e-5
        )
    bad_keys = np.zeros((B, S, 11), "float32")
    with pytest.raises(ValueError, match=r"Received: keys.shape=\(3, 6, 11\)"):
        layer(query, values, mask=mask, keys=bad_keys)


def test_concat_units_sets_hidden_size():
    query, values, mask = _inputs()
    layer = LuongAttention(score="concat", units=11)
    layer(query, values, mask=mask)
    assert _kernel(layer, "query_dense").shape == (DQ, 11)
    assert _kernel(layer, "value_dense").shape == (DV, 11)
    assert _kernel(layer, "score_dense").shape == (11, 1)
    default = LuongAttention(score="concat")
    default(query, values, mask=mask)
    assert _kernel(default, "query_dense").shape == (DQ, DQ)


def test_no_mask_is_plain_softmax():
    query, values, _ = _inputs(dq=DV)
    layer = LuongAttention(score="dot")
    context, weights = layer(query, values)
    ref_c, ref_w = numpy_attention(
        numpy_scores(layer, query, values), values, np.ones((B, S), bool)
    )
    np.testing.assert_allclose(ops.convert_to_numpy(weights), ref_w, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(context), ref_c, atol=1e-5)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_independent_of_padding_and_other_rows(score):
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq, seed=2)
    layer = LuongAttention(score=score)
    context, weights = layer(query, values, mask=mask)
    # Row 1 alone, its padding cut to its real length 3, then padded to 9
    # with large garbage: same context, same weights on the real positions.
    for extra in (0, 3):
        v = values[1:2, :3]
        pad = np.full((1, extra, DV), 1e3, "float32")
        v = np.concatenate([v, pad], axis=1)
        m = np.arange(3 + extra)[None] < 3
        c1, w1 = layer(query[1:2], v, mask=m)
        np.testing.assert_allclose(
            ops.convert_to_numpy(c1)[0],
            ops.convert_to_numpy(context)[1],
            atol=1e-5,
        )
        np.testing.assert_allclose(
            ops.convert_to_numpy(w1)[0, :, :3],
            ops.convert_to_numpy(weights)[1, :, :3],
            atol=1e-6,
        )
        assert np.all(ops.convert_to_numpy(w1)[0, :, 3:] == 0.0)


def test_fully_masked_row_has_finite_zero_gradient():
    import tensorflow as tf

    query, values, mask = _inputs(dq=DV)
    layer = LuongAttention(score="general", units=None)
    layer(query, values, mask=mask)
    q = tf.constant(query)
    with tf.GradientTape() as tape:
        tape.watch(q)
        context, _ = layer(q, values, mask=mask)
        loss = tf.reduce_sum(context)
    grads = tape.gradient(loss, [q] + layer.trainable_weights)
    for g in grads:
        assert np.all(np.isfinite(g.numpy()))
    assert np.all(grads[0].numpy()[2] == 0.0)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_run_layer_test(score, tmp_path):
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq)
    run_layer_test(
        LuongAttention,
        {"score": score, "units": 4 if score == "concat" else None},
        (query, values),
        {"mask": mask},
        expected_output_shape=((B, T, DV), (B, T, S)),
        tmp_dir=str(tmp_path),
    )
    run_layer_test(
        LuongAttention,
        {"score": score},
        (query[:, 0], values),
        {"mask": mask},
        expected_output_shape=((B, DV), (B, S)),
        tmp_dir=str(tmp_path),
        check_mixed_precision=False,
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: score='bilinear'"):
        LuongAttention(score="bilinear")
    with pytest.raises(ValueError, match="Received: units=0"):
        LuongAttention(score="concat", units=0)
    with pytest.raises(ValueError, match="Received: units=4"):
        LuongAttention(score="dot", units=4)
    query, values, mask = _inputs()
    with pytest.raises(ValueError, match="score='dot' needs"):
        LuongAttention(score="dot")(query, values, mask=mask)
    layer = LuongAttention(score="general")
    with pytest.raises(ValueError, match="Received: query.shape"):
        layer(query[0, 0], values, mask=mask)
    with pytest.raises(ValueError, match="Received: values.shape"):
        layer(query, values[0], mask=mask)
    with pytest.raises(ValueError, match="Received: mask.dtype=float32"):
        layer(query, values, mask=mask.astype("float32"))
    with pytest.raises(ValueError, match="Received: mask.shape"):
        layer(query, values, mask=mask[:, :4])
    with pytest.raises(ValueError, match="Received: mask.shape"):
        layer(query, values, mask=mask[0])
    with pytest.raises(ValueError, match="Received: mask.shape"):
        layer(query, values, mask=mask[:2])
    with pytest.raises(ValueError, match="same batch size"):
        layer(query[:2], values, mask=mask)
    with pytest.raises(ValueError, match="Received: query.dtype=int"):
        layer(query.astype("int32"), values, mask=mask)


def test_keras_mask_of_values_is_used():
    ids = np.array([[4, 5, 6, 0, 0], [7, 0, 0, 0, 0]])
    embedding = keras.layers.Embedding(10, DV, mask_zero=True)
    values = embedding(ids)
    query = np.random.default_rng(3).normal(size=(2, DV)).astype("float32")
    _, weights = LuongAttention()(query, values)
    w = ops.convert_to_numpy(weights)
    np.testing.assert_array_equal(w[:, 3:], 0.0)
    assert w[1, 0] == pytest.approx(1.0)


def test_dot_matches_keras_attention():
    # keras.layers.Attention (use_scale=False) is Luong's dot score; it is
    # an independent reference for rows that have at least one real token.
    query, values, mask = _inputs(dq=DV, seed=4)
    context, weights = LuongAttention(score="dot")(query, values, mask=mask)
    ref_c, ref_w = keras.layers.Attention()(
        [query, values],
        mask=[np.ones((B, T), bool), mask],
        return_attention_scores=True,
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(weights)[:2],
        ops.convert_to_numpy(ref_w)[:2],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(context)[:2],
        ops.convert_to_numpy(ref_c)[:2],
        atol=1e-5,
    )
