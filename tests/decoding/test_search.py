"""`keras_seq.decoding.search` and `generate(strategy=...)` of the models."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_seq.decoding import search
from keras_seq.models import RNNSeq2Seq
from keras_seq.models import TransformerSeq2Seq


def _models():
    keras.utils.set_random_seed(2)
    return [
        RNNSeq2Seq(
            11,
            13,
            8,
            16,
            attention="luong",
            max_source_length=6,
            max_target_length=7,
        ),
        TransformerSeq2Seq(
            source_vocabulary_size=11,
            target_vocabulary_size=13,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            dropout=0.0,
            max_source_length=6,
            max_target_length=7,
        ),
    ]


def _source():
    rng = np.random.default_rng(0)
    source = rng.integers(4, 11, (3, 6)).astype("int32")
    source[1, 3:] = 0
    return source


@pytest.mark.parametrize("index", [0, 1])
def test_sample_with_top_k_1_is_greedy(index):
    model = _models()[index]
    source = _source()
    greedy = model.generate(source, strategy="greedy")
    sampled = model.generate(source, strategy="sample", top_k=1, seed=3)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(sampled["token_ids"]),
        ops.convert_to_numpy(greedy["token_ids"]),
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(sampled["scores"]),
        ops.convert_to_numpy(greedy["scores"]),
        atol=1e-5,
    )


@pytest.mark.parametrize("index", [0, 1])
def test_beam_width_1_is_greedy_through_generate(index):
    model = _models()[index]
    source = _source()
    greedy = model.generate(source, strategy="greedy")
    beam = model.generate(source, strategy="beam", beam_width=1)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(beam["token_ids"]).reshape(3, -1),
        ops.convert_to_numpy(greedy["token_ids"]),
    )


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="Received: strategy='topk'"):
        search("topk", None, {}, None, end_id=3, max_length=4)
    with pytest.raises(ValueError, match="strategy='nucleus'"):
        _models()[0].generate(_source(), strategy="nucleus")
