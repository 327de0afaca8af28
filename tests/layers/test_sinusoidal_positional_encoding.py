"""SinusoidalPositionalEncoding vs NumPy from Vaswani et al. 2017 sec. 3.5.

PE(pos, 2i) = sin(pos / 10000^(2i/d)),
PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).
"""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import SinusoidalPositionalEncoding
from tests.layer_test_case import run_layer_test

B, T, D = 2, 7, 6


def numpy_pe(length, d, base=10000.0, start=0):
    """Loop over (pos, i) exactly as the formula reads."""
    pe = np.zeros((length, d))
    for row in range(length):
        pos = row + start
        for i in range(d // 2):
            pe[row, 2 * i] = np.sin(pos / base ** (2 * i / d))
            pe[row, 2 * i + 1] = np.cos(pos / base ** (2 * i / d))
    return pe


@pytest.mark.parametrize("base", [10000.0, 1000.0])
def test_interleaved_matches_formula(base):
    x = np.zeros((B, T, D), "float32")
    layer = SinusoidalPositionalEncoding(16, base=base)
    out = ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out[1], numpy_pe(T, D, base), atol=1e-5)


def test_concatenated_layout_is_sines_then_cosines():
    x = np.zeros((1, T, D), "float32")
    out = ops.convert_to_numpy(
        SinusoidalPositionalEncoding(16, layout="concatenated")(x)
    )[0]
    pe = numpy_pe(T, D)
    expected = np.concatenate([pe[:, 0::2], pe[:, 1::2]], axis=-1)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_adds_to_inputs_or_returns_encoding():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D)).astype("float32")
    added = SinusoidalPositionalEncoding(16)(x)
    alone = SinusoidalPositionalEncoding(16, add_to_inputs=False)(x)
    np.testing.assert_allclose(
        ops.convert_to_numpy(added), x + numpy_pe(T, D), atol=1e-5
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(alone),
        np.broadcast_to(numpy_pe(T, D), (B, T, D)),
        atol=1e-5,
    )


def test_start_index_for_cached_decoding():
    x = np.zeros((1, 1, D), "float32")
    out = SinusoidalPositionalEncoding(16)(x, start_index=5)
    np.testing.assert_allclose(
        ops.convert_to_numpy(out)[0], numpy_pe(1, D, start=5), atol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_sequence_length": 0}, "max_sequence_length"),
        ({"max_sequence_length": 8, "base": -1.0}, "base"),
        ({"max_sequence_length": 8, "layout": "zigzag"}, "layout"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        SinusoidalPositionalEncoding(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="Received: inputs.shape"):
        SinusoidalPositionalEncoding(4)(np.zeros((1, 5, 4), "float32"))
    with pytest.raises(ValueError, match="even"):
        SinusoidalPositionalEncoding(8)(np.zeros((1, 5, 3), "float32"))


def test_run_layer_test_sinusoidal():
    x = np.random.default_rng(1).normal(size=(B, T, D)).astype("float32")
    run_layer_test(
        SinusoidalPositionalEncoding,
        {"max_sequence_length": 16, "layout": "concatenated", "base": 1000.0},
        [x],
    )
