"""Checkpoint averaging in the Trainer's best-BLEU callback, against NumPy
means of the weights each epoch ended with."""

import json
import os

import keras
import numpy as np
import pytest

from keras_seq_pipelines import trainer

REFERENCES = ["a b c d e f", "g h i j k l"]
BAD = ["x y", "z w"]
GOOD = ["a b c d x f", "g h i j x l"]


class ScriptedTranslator:
    """Returns the next scripted hypotheses at every call."""

    def __init__(self, outputs):
        self.outputs = list(outputs)

    def translate(self, sources, batch_size=None):
        return self.outputs.pop(0)


class RecordWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])


def _fit(tmp_path, outputs, average_last):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    recorder = RecordWeights()
    checkpoint = trainer.BestBleuCheckpoint(
        ScriptedTranslator(outputs),
        ["s1", "s2"],
        REFERENCES,
        "13a",
        str(tmp_path / "best"),
        average_last=average_last,
    )
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model.fit(
        x, x[:, :2], epochs=4, callbacks=[recorder, checkpoint], verbose=0
    )
    return model, recorder.weights, tmp_path / "best"


def test_average_weight_files_is_the_mean_of_the_files(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    rng = np.random.default_rng(1)
    saved = []
    for i in range(3):
        values = [
            rng.normal(size=w.shape).astype("float32")
            for w in model.get_weights()
        ]
        model.set_weights(values)
        model.save_weights(str(tmp_path / f"{i}.weights.h5"))
        saved.append(values)
    trainer.average_weight_files(
        model, [str(tmp_path / f"{i}.weights.h5") for i in range(3)]
    )
    for got, *values in zip(model.get_weights(), *saved):
        np.testing.assert_allclose(
            got, np.mean(values, axis=0), rtol=1e-6, atol=1e-7
        )


def test_average_of_last_epochs_kept_when_it_scores_higher(tmp_path):
    # Epochs 1-4, then the average of epochs 3 and 4 (REFERENCES: 100).
    model, weights, folder = _fit(
        tmp_path, [BAD, GOOD, BAD, BAD, REFERENCES], average_last=2
    )
    for got, w3, w4 in zip(model.get_weights(), weights[2], weights[3]):
        np.testing.assert_allclose(got, (w3 + w4) / 2, rtol=1e-6)
    # Only the last two epochs' weights are kept on disk.
    assert sorted(f for f in os.listdir(folder) if f.startswith("epoch")) == [
        "epoch_0003.weights.h5",
        "epoch_0004.weights.h5",
    ]
    with open(folder / trainer.BEST_BLEU_FILENAME) as f:
        assert json.load(f)["epoch"] == "average of 2"


@pytest.mark.parametrize("average_last", [0, 2])
def test_best_epoch_kept_when_the_average_is_not_better(tmp_path, average_last):
    outputs = [BAD, GOOD, BAD, BAD] + ([BAD] if average_last else [])
    model, weights, folder = _fit(tmp_path, outputs, average_last)
    for got, best in zip(model.get_weights(), weights[1]):
        np.testing.assert_allclose(got, best)
    with open(folder / trainer.BEST_BLEU_FILENAME) as f:
        assert json.load(f)["epoch"] == 2
