"""The Trainer: `ModelConfig.seed` (the same seed trains the same model,
another seed a different one) and resuming a killed run at the epoch it
reached (`keras.callbacks.BackupAndRestore`)."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from transform_fixtures import run_transform

from keras_seq.datasets import load_dates
from keras_seq_pipelines import configs
from keras_seq_pipelines import trainer

pytestmark = pytest.mark.slow


def _feature(value):
    value = np.asarray(value).ravel()
    if value.dtype.kind in "OSU":
        return tf.train.Feature(
            bytes_list=tf.train.BytesList(
                value=[v if isinstance(v, bytes) else v.encode() for v in value]
            )
        )
    return tf.train.Feature(
        int64_list=tf.train.Int64List(value=value.astype(np.int64).tolist())
    )


def _write_gzip_examples(path, transformed):
    """Transformed feature dicts as the gzipped tf.Examples Transform
    writes (`transformed_examples/Split-train/*.gz`)."""
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for row in transformed:
            feature = {key: _feature(value) for key, value in row.items()}
            example = tf.train.Example(
                features=tf.train.Features(feature=feature)
            )
            writer.write(example.SerializeToString())


@pytest.fixture(scope="module")
def transformed_dates(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("trainer_seed"))
    dataset_config, _ = configs.preset("dates")
    pairs = load_dates(num_train=96, num_val=0, num_test=0, seed=3)["train"]
    tft_output, transformed = run_transform(pairs, dataset_config, root)
    path = os.path.join(root, "train.gz")
    _write_gzip_examples(path, transformed)
    return root, path, tft_output, dataset_config


def _model_config(seed, epochs=2):
    return configs.ModelConfig(
        architecture="rnn",
        model_kwargs={"embedding_dim": 8, "hidden_dim": 16, "dropout": 0.2},
        epochs=epochs,
        batch_size=16,
        learning_rate=3e-3,
        beam_width=1,
        best_checkpoint_examples=16,
        seed=seed,
    )


def _train(transformed_dates, seed, name):
    root, path, tft_output, dataset_config = transformed_dates
    translator, history = trainer.train_and_export(
        path,
        path,
        tft_output,
        dataset_config,
        _model_config(seed),
        os.path.join(root, name),
        distribution_strategy="one_device",
        verbose=0,
    )
    weights = translator.seq2seq.get_weights()
    return [np.array(w) for w in weights], history


def test_same_seed_same_model_other_seed_other_model(transformed_dates):
    weights_a, history_a = _train(transformed_dates, 0, "a")
    tf.random.uniform([3])  # global RNG state moves on between runs
    weights_b, history_b = _train(transformed_dates, 0, "b")
    weights_c, history_c = _train(transformed_dates, 1, "c")
    assert json.dumps(history_a) == json.dumps(history_b)
    for a, b in zip(weights_a, weights_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert history_a["loss"] != history_c["loss"]
    assert any(
        not np.array_equal(a, c)
        for a, c in zip(weights_a, weights_c, strict=True)
    )


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="Received: seed=-1"):
        configs.ModelConfig(seed=-1)
    with pytest.raises(ValueError, match="Received: seed='7'"):
        configs.ModelConfig(seed="7")
    assert configs.ModelConfig(seed=None).seed is None


class _Killed(Exception):
    pass


class _KillAfterEpoch(keras.callbacks.Callback):
    """Stops the run like a kill: an exception after `epoch` has ended
    (and after the backup of that epoch was written)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Killed(f"killed after epoch {epoch + 1}")


class _EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_a_killed_run_resumes_at_the_epoch_it_reached(transformed_dates):
    root, path, tft_output, dataset_config = transformed_dates
    backup = os.path.join(root, "backup")
    model_config = _model_config(0, epochs=3)
    first = _EpochRecorder()
    with pytest.raises(_Killed):
        trainer.train_and_export(
            path,
            path,
            tft_output,
            dataset_config,
            model_config,
            os.path.join(root, "killed"),
            distribution_strategy="one_device",
            backup_dir=backup,
            extra_callbacks=[first, _KillAfterEpoch(1)],
            verbose=0,
        )
    assert first.epochs == [0, 1]
    assert not os.path.exists(os.path.join(root, "killed", "saved_model.pb"))
    second = _EpochRecorder()
    translator, history = trainer.train_and_export(
        path,
        path,
        tft_output,
        dataset_config,
        model_config,
        os.path.join(root, "resumed"),
        distribution_strategy="one_device",
        backup_dir=backup,
        extra_callbacks=[second],
        verbose=0,
    )
    # Only the epoch that was not finished is trained again.
    assert second.epochs == [2]
    assert len(history["loss"]) == 1
    assert os.path.exists(os.path.join(root, "resumed", "saved_model.pb"))
    # Finished: the backup is gone, so a new identical run starts afresh.
    assert not os.path.exists(backup)
    assert translator.translate(["25 November 2026"])[0] is not None
