"""Token ids given to the seq2seq models are checked (dtype, shape,
range) with "Received:" errors instead of being read silently."""

import numpy as np
import pytest

from keras_seq.models import RNNSeq2Seq
from keras_seq.models import TransformerSeq2Seq
from keras_seq.validation import check_token_ids


@pytest.fixture(params=["rnn", "transformer"])
def model(request):
    if request.param == "rnn":
        model = RNNSeq2Seq(
            10,
            12,
            embedding_dim=4,
            hidden_dim=8,
            attention="luong",
            max_source_length=5,
            max_target_length=4,
        )
    else:
        model = TransformerSeq2Seq(
            10,
            12,
            hidden_dim=8,
            num_layers=1,
            num_heads=2,
            intermediate_dim=8,
            max_source_length=5,
            max_target_length=4,
        )
    model.build()
    return model


@pytest.mark.parametrize(
    "source, match",
    [
        (np.array([[4, -1, 0]]), r"Received: source_ids\[0, 1\]=-1"),
        (np.array([[4, 10]]), r"vocabulary_size=10\). Received: source_ids"),
        (np.array([[4.0, 5.0]]), "Received: source_ids.dtype=float"),
        (np.zeros((1, 0), "int32"), r"Received: source_ids.shape=\(1, 0\)"),
        (np.zeros((0, 3), "int32"), r"Received: source_ids.shape=\(0, 3\)"),
        (np.ones((1, 6), "int32"), "longer than the model accepts"),
        (np.ones((3,), "int32"), r"Received: source_ids.shape=\(3,\)"),
    ],
)
def test_generate_rejects_bad_source_ids(model, source, match):
    with pytest.raises(ValueError, match=match):
        model.generate(source)


def test_call_rejects_bad_target_ids(model):
    source = np.array([[4, 5, 0]], "int32")
    with pytest.raises(ValueError, match=r"target_in\[0, 0\]=12"):
        model({"source_ids": source, "target_in": np.array([[12, 2]])})
    # call() may get floats from Keras itself (distribution strategies),
    # but a fractional id is still an error.
    with pytest.raises(ValueError, match=r"target_in\[0, 1\]=3.5"):
        model({"source_ids": source, "target_in": np.array([[2.0, 3.5]])})


def test_good_ids_pass_and_symbolic_values_are_not_read():
    ids = np.array([[0, 9]], "int32")
    assert check_token_ids("ids", ids, 10) is ids
    import keras

    symbolic = keras.KerasTensor((None, 3), dtype="int32")
    assert check_token_ids("ids", symbolic, 10) is symbolic
