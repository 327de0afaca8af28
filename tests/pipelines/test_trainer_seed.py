"""The Trainer's `ModelConfig.seed`: the same seed trains the same model
(weights, dropout, example order), another seed a different one."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from transform_fixtures import run_transform

from keras_seq.datasets import load_dates
from keras_seq_pipelines import configs
from keras_seq_pipelines import trainer

pytestmark = pytest.mark.slow


def _write_gzip_examples(path, transformed):
    """Transformed feature dicts as the gzipped tf.Examples Transform
    writes (`transformed_examples/Split-train/*.gz`)."""
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for row in transformed:
            feature = {
                key: tf.train.Feature(
                    int64_list=tf.train.Int64List(
                        value=np.asarray(value, np.int64).ravel().tolist()
                    )
                )
                for key, value in row.items()
            }
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


def _train(transformed_dates, seed, name):
    root, path, tft_output, dataset_config = transformed_dates
    model_config = configs.ModelConfig(
        architecture="rnn",
        model_kwargs={"embedding_dim": 8, "hidden_dim": 16, "dropout": 0.2},
        epochs=2,
        batch_size=16,
        learning_rate=3e-3,
        beam_width=1,
        seed=seed,
    )
    model, history = trainer.train_and_export(
        path,
        path,
        tft_output,
        dataset_config,
        model_config,
        os.path.join(root, name),
        distribution_strategy="one_device",
        verbose=0,
    )
    return [np.array(w) for w in model.get_weights()], history


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
