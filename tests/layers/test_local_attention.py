"""LocalAttention against NumPy written from Luong et al. 2015 eqs. 9-10.

The reference: window = integer s with p_t - D <= s <= p_t + D that are real
tokens; align = softmax of the Luong score over the window only; weights =
align * exp(-(s - p_t)^2 / (2 sigma^2)), sigma = D / 2; zero elsewhere.
"""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import LocalAttention
from tests.layer_test_case import run_layer_test
from tests.layers.test_luong_attention import numpy_scores

B, T, S, DQ, DV, D = 3, 6, 9, 5, 7, 2
LENGTHS = np.array([9, 4, 0])  # full, padded, all padding


def _inputs(dq=DQ, seed=0, lengths=LENGTHS):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(B, T, dq)).astype("float32")
    values = rng.normal(size=(B, S, DV)).astype("float32")
    mask = np.arange(S)[None, :] < lengths[:, None]
    return query, values, mask


def _np(x):
    return ops.convert_to_numpy(x).astype("float64")


def numpy_positions(layer, query, mask, step=0):
    b, t = query.shape[:2]
    if layer.mode == "local-m":
        step = np.broadcast_to(np.asarray(step, "float64"), (b,))
        return step[:, None] + np.arange(t)[None, :]
    w_p = _np(layer.position_dense.kernel).T  # (units, DQ)
    v_p = _np(layer.position_score_dense.kernel)[:, 0]
    lengths = mask.sum(-1).astype("float64")
    p = np.zeros((b, t))
    for i in range(b):
        for j in range(t):
            z = v_p @ np.tanh(w_p @ query[i, j].astype("float64"))
            p[i, j] = lengths[i] / (1.0 + np.exp(-z))
    return p


def numpy_local(scores, positions, values, mask, window):
    b, t, s = scores.shape
    sigma = window / 2.0
    weights = np.zeros((b, t, s))
    for i in range(b):
        for j in range(t):
            p = positions[i, j]
            inside = [
                k
                for k in range(s)
                if mask[i, k] and p - window <= k <= p + window
            ]
            if not inside:
                continue
            e = np.exp(scores[i, j, inside] - scores[i, j, inside].max())
            align = e / e.sum()
            gauss = np.exp(-((np.array(inside) - p) ** 2) / (2 * sigma**2))
            weights[i, j, inside] = align * gauss
    return np.einsum("bts,bsd->btd", weights, values.astype("float64")), (
        weights
    )


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_local_m_all_steps_matches_numpy(score):
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq)
    layer = LocalAttention(window=D, mode="local-m", score=score)
    context, weights = layer(query, values, mask=mask)
    assert context.shape == (B, T, DV) and weights.shape == (B, T, S)
    p = numpy_positions(layer, query, mask)
    ref_c, ref_w = numpy_local(
        numpy_scores(layer, query, values), p, values, mask, D
    )
    w = _np(weights)
    np.testing.assert_allclose(w, ref_w, atol=1e-5)
    np.testing.assert_allclose(_np(context), ref_c, atol=1e-5)
    # Left edge, t = 0: window [-2, 2] clipped to 0..2.
    assert np.all(w[0, 0, 3:] == 0.0) and np.all(w[0, 0, :3] > 0.0)
    # t = 4 of row 0: positions 2..6 exactly, the rest exactly zero.
    assert np.all(w[0, 4, 2:7] > 0.0)
    assert np.all(w[0, 4, :2] == 0.0) and np.all(w[0, 4, 7:] == 0.0)
    # Right edge by real length (4): t = 5 sees only s = 3; padding is 0.
    assert np.all(w[1, :, 4:] == 0.0)
    assert w[1, 5, 3] > 0.0 and np.all(w[1, 5, :3] == 0.0)
    # The window holds one token: align = 1, weight = Gaussian at distance 2.
    assert w[1, 5, 3] == pytest.approx(np.exp(-4 / (2 * (D / 2) ** 2)))
    # All-padding row: zeros, not NaN.
    assert np.all(w[2] == 0.0) and np.all(_np(context)[2] == 0.0)


def test_local_m_single_step_needs_and_uses_step():
    query, values, mask = _inputs(seed=1)
    layer = LocalAttention(window=D, mode="local-m", score="general")
    all_c, all_w = layer(query, values, mask=mask)
    c, w = layer(query[:, 3], values, mask=mask, step=3)
    assert c.shape == (B, DV) and w.shape == (B, S)
    np.testing.assert_allclose(_np(w), _np(all_w)[:, 3], atol=1e-6)
    np.testing.assert_allclose(_np(c), _np(all_c)[:, 3], atol=1e-6)
    # A (batch,) step: each row at its own position.
    steps = np.array([0, 5, 2], "int32")
    q = query[np.arange(B), steps]
    c, w = layer(q, values, mask=mask, step=steps)
    np.testing.assert_allclose(
        _np(w), _np(all_w)[np.arange(B), steps], atol=1e-6
    )
    # An all-steps query starting at step 2 = steps 2.. of the full pass.
    c, w = layer(query[:, 2:], values, mask=mask, step=2)
    np.testing.assert_allclose(_np(w), _np(all_w)[:, 2:], atol=1e-6)
    with pytest.raises(ValueError, match="Received: step=None"):
        layer(query[:, 0], values, mask=mask)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_local_p_matches_numpy(score):
    dq = DV if score == "dot" else DQ
    query, values, mask = _inputs(dq=dq, seed=2)
    layer = LocalAttention(
        window=D, mode="local-p", score=score, return_positions=True
    )
    context, weights, positions = layer(query, values, mask=mask)
    assert positions.shape == (B, T)
    p = numpy_positions(layer, query, mask)
    np.testing.assert_allclose(_np(positions), p, atol=1e-5)
    # 0 <= p_t <= S_b, with S_b the real length of each sequence.
    assert np.all(p >= 0.0) and np.all(p <= LENGTHS[:, None])
    assert np.all(p[2] == 0.0)
    ref_c, ref_w = numpy_local(
        numpy_scores(layer, query, values), p, values, mask, D
    )
    np.testing.assert_allclose(_np(weights), ref_w, atol=1e-5)
    np.testing.assert_allclose(_np(context), ref_c, atol=1e-5)
    assert np.all(_np(weights)[1, :, 4:] == 0.0)
    assert np.all(np.isfinite(_np(context)))
    # Single step: same as the corresponding row of the all-steps call.
    c1, w1, p1 = layer(query[:, 4], values, mask=mask)
    assert p1.shape == (B,)
    np.testing.assert_allclose(_np(w1), ref_w[:, 4], atol=1e-5)
    np.testing.assert_allclose(_np(p1), p[:, 4], atol=1e-5)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_local_p_clips_at_both_edges(sign):
    # A positive query with W_p = I and v_p = +-50 saturates the sigmoid:
    # p_t -> S_b (right edge) or p_t -> 0 (left edge).
    query, values, mask = _inputs(seed=3)
    query = np.abs(query) + 0.5
    layer = LocalAttention(
        window=D, mode="local-p", score="general", return_positions=True
    )
    layer(query, values, mask=mask)
    layer.position_dense.kernel.assign(np.eye(DQ, dtype="float32"))
    layer.position_score_dense.kernel.assign(
        np.full((DQ, 1), 50.0 * sign, "float32")
    )
    context, weights, positions = layer(query, values, mask=mask)
    p = numpy_positions(layer, query, mask)
    np.testing.assert_allclose(_np(positions), p, atol=1e-4)
    expected_p = LENGTHS[:, None] * (1.0 if sign > 0 else 0.0)
    np.testing.assert_allclose(
        p, np.broadcast_to(expected_p, p.shape), atol=1e-6
    )
    ref_c, ref_w = numpy_local(
        numpy_scores(layer, query, values), p, values, mask, D
    )
    w = _np(weights)
    np.testing.assert_allclose(w, ref_w, atol=1e-5)
    np.testing.assert_allclose(_np(context), ref_c, atol=1e-5)
    if sign > 0:  # window [S_b - 2, S_b + 2] clipped to S_b - 2 .. S_b - 1
        assert np.all(w[0, :, 7:] > 0) and np.all(w[0, :, :7] == 0)
        assert np.all(w[1, :, 2:4] > 0) and np.all(w[1, :, :2] == 0)
        assert np.all(w[1, :, 4:] == 0)
    else:  # window [-2, 2] clipped to 0 .. 2
        assert np.all(w[:2, :, :3] > 0) and np.all(w[:2, :, 3:] == 0)


def test_local_p_gradient_reaches_position_weights():
    import tensorflow as tf

    query, values, mask = _inputs(seed=4)
    layer = LocalAttention(window=D, mode="local-p", score="general")
    layer(query, values, mask=mask)
    with tf.GradientTape() as tape:
        context, _ = layer(query, values, mask=mask)
        loss = tf.reduce_sum(context * values[:, :1])
    grads = tape.gradient(
        loss,
        [layer.position_dense.kernel, layer.position_score_dense.kernel],
    )
    for g in grads:
        g = g.numpy()
        assert np.all(np.isfinite(g))
        assert np.abs(g).max() > 1e-6
    # And they agree with a finite difference on v_p.
    v_p = layer.position_score_dense.kernel
    base = v_p.numpy()
    eps = 1e-3
    delta = np.zeros_like(base)
    delta[0, 0] = eps
    losses = []
    for sgn in (1, -1):
        v_p.assign(base + sgn * delta)
        c, _ = layer(query, values, mask=mask)
        losses.append(float(tf.reduce_sum(c * values[:, :1])))
    v_p.assign(base)
    numeric = (losses[0] - losses[1]) / (2 * eps)
    assert grads[1].numpy()[0, 0] == pytest.approx(numeric, rel=2e-2, abs=1e-3)


@pytest.mark.parametrize("mode", ["local-m", "local-p"])
def test_independent_of_padding_and_other_rows(mode):
    query, values, mask = _inputs(seed=5)
    layer = LocalAttention(window=D, mode=mode, score="general")
    context, weights = layer(query, values, mask=mask)
    for extra in (0, 4):
        v = np.concatenate(
            [values[1:2, :4], np.full((1, extra, DV), 30.0, "float32")], 1
        )
        m = np.arange(4 + extra)[None] < 4
        c1, w1 = layer(query[1:2], v, mask=m)
        np.testing.assert_allclose(_np(c1)[0], _np(context)[1], atol=1e-5)
        np.testing.assert_allclose(
            _np(w1)[0, :, :4], _np(weights)[1, :, :4], atol=1e-6
        )
        assert np.all(_np(w1)[0, :, 4:] == 0.0)


def test_fully_masked_rows_have_finite_gradients():
    import tensorflow as tf

    query, values, mask = _inputs(seed=6)
    layer = LocalAttention(window=D, mode="local-p", score="concat")
    layer(query, values, mask=mask)
    with tf.GradientTape() as tape:
        context, weights = layer(query, values, mask=mask)
        loss = tf.reduce_sum(context) + tf.reduce_sum(weights)
    for g in tape.gradient(loss, layer.trainable_weights):
        assert np.all(np.isfinite(g.numpy()))


@pytest.mark.parametrize(
    "init, kwargs",
    [
        ({"window": D, "mode": "local-m", "score": "general"}, {}),
        ({"window": 1, "mode": "local-m", "score": "dot"}, {}),
        (
            {
                "window": D,
                "mode": "local-p",
                "score": "concat",
                "units": 3,
                "position_units": 4,
                "return_positions": True,
            },
            {},
        ),
    ],
)
def test_run_layer_test(init, kwargs, tmp_path):
    dq = DV if init["score"] == "dot" else DQ
    query, values, mask = _inputs(dq=dq)
    shapes = ((B, T, DV), (B, T, S))
    if init.get("return_positions"):
        shapes = shapes + ((B, T),)
    run_layer_test(
        LocalAttention,
        init,
        (query, values),
        {"mask": mask, **kwargs},
        expected_output_shape=shapes,
        tmp_dir=str(tmp_path),
    )


def test_run_layer_test_single_step(tmp_path):
    query, values, mask = _inputs()
    run_layer_test(
        LocalAttention,
        {"window": D, "mode": "local-m", "score": "general"},
        (query[:, 0], values),
        {"mask": mask, "step": 3},
        expected_output_shape=((B, DV), (B, S)),
        tmp_dir=str(tmp_path),
        check_mixed_precision=False,
    )
    run_layer_test(
        LocalAttention,
        {"window": D, "mode": "local-p", "return_positions": True},
        (query[:, 0], values),
        {"mask": mask},
        expected_output_shape=((B, DV), (B, S), (B,)),
        tmp_dir=str(tmp_path),
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: window=0"):
        LocalAttention(window=0)
    with pytest.raises(ValueError, match="Received: window=2.5"):
        LocalAttention(window=2.5)
    with pytest.raises(ValueError, match="Received: mode='local-x'"):
        LocalAttention(window=2, mode="local-x")
    with pytest.raises(ValueError, match="Received: score='location'"):
        LocalAttention(window=2, score="location")
    with pytest.raises(ValueError, match="Received: position_units=4"):
        LocalAttention(window=2, mode="local-m", position_units=4)
    with pytest.raises(ValueError, match="Received: position_units=-1"):
        LocalAttention(window=2, mode="local-p", position_units=-1)
    query, values, mask = _inputs()
    layer = LocalAttention(window=2, mode="local-m")
    with pytest.raises(ValueError, match="Received: step.shape"):
        layer(query, values, mask=mask, step=np.zeros((B, 1), "int32"))
    with pytest.raises(ValueError, match="Received: mask.dtype"):
        layer(query, values, mask=mask.astype("float32"))
