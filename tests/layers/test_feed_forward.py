"""FeedForward vs NumPy: max(0, x W1 + b1) W2 + b2 (Vaswani eq. 2)."""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import FeedForward
from tests.layer_test_case import run_layer_test
from tests.layers.test_transformer_encoder_layer import numpy_ffn


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_matches_numpy(activation):
    x = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    layer = FeedForward(
        10, activation=activation, bias_initializer="random_normal"
    )
    out = ops.convert_to_numpy(layer(x))
    expected = numpy_ffn(x.astype("float64"), layer, activation)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: intermediate_dim=0"):
        FeedForward(0)
    with pytest.raises(ValueError, match="Received: activation=bogus"):
        FeedForward(4, activation="bogus")
    with pytest.raises(ValueError, match="Received: dropout=1.0"):
        FeedForward(4, dropout=1.0)


def test_run_layer_test():
    x = np.random.default_rng(1).normal(size=(2, 3, 6)).astype("float32")
    run_layer_test(
        FeedForward,
        {"intermediate_dim": 10, "dropout": 0.1, "output_dim": 4},
        [x],
        expected_output_shape=(2, 3, 4),
    )
