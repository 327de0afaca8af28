"""TransformerEncoder stack: N layers in sequence (+ final LayerNorm)."""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import TransformerEncoder
from tests.layer_test_case import run_layer_test
from tests.layers.test_transformer_encoder_layer import numpy_encoder_layer
from tests.layers.test_transformer_encoder_layer import numpy_layer_norm

B, T, D, HEADS, FF = 2, 5, 8, 2, 16


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, D)).astype("float32")
    padding_mask = np.arange(T)[None, :] < np.array([[5], [2]])
    return x, padding_mask


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_numpy_layer_chain(normalize_first):
    x, padding_mask = _inputs()
    stack = TransformerEncoder(
        2, HEADS, FF, normalize_first=normalize_first, activation="gelu"
    )
    out, weights = stack(
        x, padding_mask=padding_mask, return_attention_scores=True
    )
    mask = np.broadcast_to(padding_mask[:, None, :], (B, T, T))
    expected = x.astype("float64")
    for layer in stack.encoder_layers:
        expected = numpy_encoder_layer(layer, expected, mask, "gelu")
    if normalize_first:
        expected = numpy_layer_norm(expected, stack.output_layer_norm)
    np.testing.assert_allclose(ops.convert_to_numpy(out), expected, atol=1e-4)
    assert len(weights) == 2
    assert tuple(weights[1].shape) == (B, HEADS, T, T)


def test_bad_num_layers():
    with pytest.raises(ValueError, match="Received: num_layers=0"):
        TransformerEncoder(0, HEADS, FF)


def test_stack_checks_the_shared_arguments_at_construction():
    # Checked by the stack itself, before any layer is built.
    with pytest.raises(ValueError, match="Received: activation=swishy"):
        TransformerEncoder(2, HEADS, FF, activation="swishy")
    with pytest.raises(ValueError, match="Received: dropout=1.5"):
        TransformerEncoder(2, HEADS, FF, dropout=1.5)


def test_run_layer_test():
    x, padding_mask = _inputs()
    run_layer_test(
        TransformerEncoder,
        {
            "num_layers": 2,
            "num_heads": HEADS,
            "intermediate_dim": FF,
            "normalize_first": True,
            "dropout": 0.1,
        },
        [x],
        {"padding_mask": padding_mask},
    )
