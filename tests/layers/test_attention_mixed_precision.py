"""Every attention layer under `mixed_float16` matches float32.

Attention scores are dot products of activations: at width 64, inputs of
standard deviation 60 already give scores beyond float16's largest value
(65504), so scores computed in float16 overflow to inf and the softmax
gives NaN. The layers compute scores and softmax in float32 (as Keras does
for numerically sensitive ops) and cast the weights back to the compute
dtype for the context. Each layer here runs under the `mixed_float16`
policy with the weights of the same layer in float32, on activations of
standard deviation up to 1e3, and must give finite outputs equal to the
float32 ones within float16 tolerance.

The float32 reference computes with the numbers the mixed layer computes
with: activations that are float16 values (as a float16 network produces
them) and the weights rounded to float16 (Keras casts a mixed layer's
float32 variables to float16 when its `call` reads them). The comparison
then measures the arithmetic (overflow, rounding of scores and weights),
not the float16 representation of the parameters, to which the additive
scores at std 1e3 are sensitive (float16 spacing there is 0.5, before a
`tanh`).
"""

import keras
import numpy as np
import pytest

from keras_seq.layers import BahdanauAttention
from keras_seq.layers import LocalAttention
from keras_seq.layers import LuongAttention
from keras_seq.layers import MultiHeadAttention

WIDTH = 64
BATCH, TARGET, SOURCE = 2, 5, 7
STDS = (1.0, 60.0, 1e3)
# float16 keeps 11 significant bits (relative rounding ~5e-4); a few
# roundings in the projections and the context sum stay within 1%.
RTOL = 1e-2


def _source_attention_call(layer, query, values, mask):
    return layer(query, values, mask=mask)


def _mha_call(layer, query, values, mask):
    if layer.use_fused is True:
        return (layer(query, values, value_mask=mask),)
    return layer(query, values, value_mask=mask, return_attention_scores=True)


LAYERS = {
    "luong_dot": (
        lambda **kw: LuongAttention(score="dot", **kw),
        _source_attention_call,
    ),
    "luong_general": (
        lambda **kw: LuongAttention(score="general", **kw),
        _source_attention_call,
    ),
    "luong_concat": (
        lambda **kw: LuongAttention(score="concat", **kw),
        _source_attention_call,
    ),
    "local_m": (
        lambda **kw: LocalAttention(
            window=2, mode="local-m", score="general", **kw
        ),
        _source_attention_call,
    ),
    "local_p": (
        lambda **kw: LocalAttention(
            window=2, mode="local-p", score="dot", **kw
        ),
        _source_attention_call,
    ),
    "bahdanau": (
        lambda **kw: BahdanauAttention(units=WIDTH, **kw),
        _source_attention_call,
    ),
    "multi_head": (
        lambda **kw: MultiHeadAttention(
            num_heads=4, key_dim=16, use_fused=False, **kw
        ),
        _mha_call,
    ),
    "multi_head_fused": (
        lambda **kw: MultiHeadAttention(
            num_heads=4, key_dim=16, use_fused=True, **kw
        ),
        _mha_call,
    ),
}


@pytest.fixture
def mixed_float16():
    """Sets the global `mixed_float16` policy and restores the previous."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _inputs(std, seed):
    """Activations as a float16 network produces them: float16 values
    (returned as float32 arrays, so both layers see the same numbers)."""
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((BATCH, TARGET, WIDTH)) * std
    values = rng.standard_normal((BATCH, SOURCE, WIDTH)) * std
    query = query.astype("float16").astype("float32")
    values = values.astype("float16").astype("float32")
    mask = np.ones((BATCH, SOURCE), bool)
    mask[1, 4:] = False  # padding in the second sequence
    return query, values, mask


def _numpy(outputs):
    return [
        np.asarray(keras.ops.convert_to_numpy(x), "float32") for x in outputs
    ]


@pytest.mark.parametrize("std", STDS)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_mixed_float16_matches_float32(name, std, mixed_float16):
    make_layer, call = LAYERS[name]
    seed = int(std) + len(name)
    keras.utils.set_random_seed(seed)
    query, values, mask = _inputs(std, seed)

    # The float32 reference: the same layer, built with float32, with its
    # weights rounded to float16.
    reference_layer = make_layer(dtype="float32")
    call(reference_layer, query, values, mask)  # builds the weights
    weights = [
        w.astype("float16").astype("float32")
        for w in reference_layer.get_weights()
    ]
    reference_layer.set_weights(weights)
    reference = _numpy(call(reference_layer, query, values, mask))

    layer = make_layer()
    assert layer.compute_dtype == "float16"
    call(layer, query, values, mask)
    layer.set_weights(weights)
    outputs = call(layer, query, values, mask)
    assert keras.backend.standardize_dtype(outputs[0].dtype) == "float16"
    mixed = _numpy(outputs)

    assert len(mixed) == len(reference)
    for got, want in zip(mixed, reference):
        assert np.all(np.isfinite(want))
        assert np.all(np.isfinite(got)), f"{name}: non-finite outputs"
        scale = max(np.abs(want).max(), 1.0)
        np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * scale)
