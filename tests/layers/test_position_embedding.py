"""PositionEmbedding: learned rows P[pos] added to the inputs."""

import numpy as np
import pytest
from keras import ops

from keras_seq.layers import PositionEmbedding
from tests.layer_test_case import run_layer_test

B, T, D = 2, 7, 6


def test_position_embedding_rows():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(B, T, D)).astype("float32")
    layer = PositionEmbedding(10)
    out = ops.convert_to_numpy(layer(x))
    table = ops.convert_to_numpy(layer.embeddings)
    np.testing.assert_allclose(out, x + table[None, :T], atol=1e-6)
    step = ops.convert_to_numpy(layer(x[:, :1], start_index=4))
    np.testing.assert_allclose(step, x[:, :1] + table[None, 4:5], atol=1e-6)
    alone = ops.convert_to_numpy(PositionEmbedding(10, add_to_inputs=False)(x))
    assert alone.shape == (B, T, D)


def test_position_embedding_errors():
    with pytest.raises(ValueError, match="Received: max_sequence_length=-2"):
        PositionEmbedding(-2)
    with pytest.raises(ValueError, match="Received: inputs.shape"):
        PositionEmbedding(3)(np.zeros((1, 5, 4), "float32"))


def test_run_layer_test_position_embedding():
    x = np.random.default_rng(3).normal(size=(B, T, D)).astype("float32")
    run_layer_test(PositionEmbedding, {"max_sequence_length": 10}, [x])
