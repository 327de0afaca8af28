"""TransformerDecoder stack: layer chain, causality, cached decoding."""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import TransformerDecoder
from tests.layer_test_case import run_layer_test
from tests.layers.test_transformer_decoder_layer import numpy_decoder_layer
from tests.layers.test_transformer_encoder_layer import numpy_layer_norm

B, T, S, D, HEADS, FF = 2, 5, 4, 8, 2, 16


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(B, T, D)).astype("float32")
    x = rng.normal(size=(B, S, D)).astype("float32")
    encoder_mask = np.arange(S)[None, :] < np.array([[4], [3]])
    return y, x, encoder_mask


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_numpy_layer_chain(normalize_first):
    y, x, encoder_mask = _inputs()
    stack = TransformerDecoder(2, HEADS, FF, normalize_first=normalize_first)
    out = stack(y, x, encoder_padding_mask=encoder_mask)
    expected = y.astype("float64")
    for layer in stack.decoder_layers:
        expected = numpy_decoder_layer(
            layer, expected, x.astype("float64"), encoder_mask
        )
    if normalize_first:
        expected = numpy_layer_norm(expected, stack.output_layer_norm)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-4)


@pytest.mark.parametrize("use_cross_attention", [True, False])
def test_cache_equals_full_pass(use_cross_attention):
    y, x, encoder_mask = _inputs(1)
    stack = TransformerDecoder(
        2, HEADS, FF, use_cross_attention=use_cross_attention
    )
    encoder = x if use_cross_attention else None
    mask = encoder_mask if use_cross_attention else None
    full = ops.convert_to_numpy(stack(y, encoder, encoder_padding_mask=mask))
    cache = stack.initial_cache(B, T, encoder)
    steps = []
    for i in range(T):
        out, weights, cache = stack(
            y[:, i : i + 1],
            encoder_padding_mask=mask,
            cache=cache,
            cache_update_index=i,
            return_attention_scores=True,
        )
        steps.append(ops.convert_to_numpy(out))
        assert len(weights["self"]) == 2
        assert len(weights["cross"]) == (2 if use_cross_attention else 0)
    np.testing.assert_allclose(np.concatenate(steps, 1), full, atol=1e-5)


def test_returns_all_weights():
    y, x, encoder_mask = _inputs(2)
    stack = TransformerDecoder(3, HEADS, FF)
    _, weights = stack(
        y, x, encoder_padding_mask=encoder_mask, return_attention_scores=True
    )
    assert [tuple(w.shape) for w in weights["self"]] == [(B, HEADS, T, T)] * 3
    assert [tuple(w.shape) for w in weights["cross"]] == [(B, HEADS, T, S)] * 3


def test_errors():
    y, x, _ = _inputs()
    stack = TransformerDecoder(1, HEADS, FF)
    stack(y, x)
    with pytest.raises(ValueError, match="encoder_sequence=None"):
        stack.initial_cache(B, T)
    with pytest.raises(ValueError, match="cache_update_index=None"):
        stack(y, cache=stack.initial_cache(B, T, x))
    with pytest.raises(ValueError, match="Received: num_layers=-1"):
        TransformerDecoder(-1, HEADS, FF)
    with pytest.raises(ValueError, match="Received: activation=swishy"):
        TransformerDecoder(1, HEADS, FF, activation="swishy")


def test_run_layer_test():
    y, x, encoder_mask = _inputs()
    run_layer_test(
        TransformerDecoder,
        {
            "num_layers": 2,
            "num_heads": HEADS,
            "intermediate_dim": FF,
            "dropout": 0.1,
            "activation": "gelu",
        },
        [y, x],
        {"encoder_padding_mask": encoder_mask},
    )
