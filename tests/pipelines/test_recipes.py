"""The per-architecture recipes, the training-time budget and clipping."""

import argparse
import json

import keras
import numpy as np
import pytest

from keras_seq_pipelines import configs
from keras_seq_pipelines import trainer


def test_multi30k_has_a_recipe_for_each_architecture():
    dataset_config, transformer = configs.preset("multi30k")
    same_data, rnn = configs.preset("multi30k", "rnn")
    assert same_data == dataset_config
    assert transformer.architecture == "transformer"
    assert rnn == configs.ARCHITECTURE_RECIPES[("multi30k", "rnn")]
    assert configs.preset("multi30k", "transformer")[1] == transformer
    json.dumps(rnn.to_dict())
    # The recipe's sizes are RNNSeq2Seq arguments.
    from keras_seq.models import RNNSeq2Seq

    model = RNNSeq2Seq(50, 60, **rnn.model_kwargs)
    assert model.bidirectional and model.attention == "luong"


def test_other_architecture_without_a_recipe_gets_default_sizes():
    _, dates = configs.preset("dates")
    _, changed = configs.preset("dates", "transformer")
    assert changed.architecture == "transformer"
    assert changed.model_kwargs == {}
    assert changed.epochs == dates.epochs
    assert changed.learning_rate == dates.learning_rate
    with pytest.raises(ValueError, match="Received: architecture='rnn'"):
        configs.preset("shapes", "rnn")


def test_pipeline_command_line_picks_the_recipe():
    from keras_seq_apps import pipeline as pipeline_cli

    parser = argparse.ArgumentParser()
    pipeline_cli.add_arguments(parser)
    args = parser.parse_args(
        ["run", "--dataset", "multi30k", "--architecture", "rnn"]
    )
    _, model_config = pipeline_cli._configs(args)
    assert model_config == configs.ARCHITECTURE_RECIPES[("multi30k", "rnn")]
    args = parser.parse_args(
        ["run", "--dataset", "multi30k", "--architecture", "rnn"]
        + ["--epochs", "3"]
    )
    assert pipeline_cli._configs(args)[1].epochs == 3
    args = parser.parse_args(
        ["run", "--dataset", "multi30k", "--batch-size", "512"]
        + ["--batch-tokens", "2048"]
    )
    _, model_config = pipeline_cli._configs(args)
    assert (model_config.batch_size, model_config.batch_tokens) == (512, 2048)
    args = parser.parse_args(
        ["run", "--dataset", "dates"] + ["--batch-tokens", "2048"]
    )
    with pytest.raises(ValueError, match="set `bucket_boundaries` too"):
        pipeline_cli._configs(args)
    # multi30k: a pair is at most 64 + 72 tokens long.
    args = parser.parse_args(
        ["run", "--dataset", "multi30k", "--batch-tokens", "135"]
    )
    with pytest.raises(ValueError, match="longest length \\(136\\)"):
        pipeline_cli._configs(args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gradient_clip_norm": 0.0}, "Received: gradient_clip_norm=0.0"),
        ({"gradient_clip_norm": "5"}, "Received: gradient_clip_norm='5'"),
        ({"max_training_minutes": -1}, "Received: max_training_minutes=-1"),
        ({"max_training_minutes": True}, "max_training_minutes=True"),
    ],
)
def test_new_model_config_fields_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        configs.ModelConfig(**kwargs)


class _Clock:
    """A clock that advances `epoch_seconds` at every reading after the
    first (one reading at train begin, one per epoch end)."""

    def __init__(self, epoch_seconds):
        self.now = 0.0
        self.epoch_seconds = epoch_seconds
        self.readings = 0

    def __call__(self):
        if self.readings:
            self.now += self.epoch_seconds[self.readings - 1]
        self.readings += 1
        return self.now


def _fit(epoch_seconds, minutes, epochs=10):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    budget = trainer.TrainingTimeBudget(minutes, clock=_Clock(epoch_seconds))
    x = np.zeros((8, 2), "float32")
    history = model.fit(
        x, x[:, :1], epochs=epochs, callbacks=[budget], verbose=0
    )
    return len(history.history["loss"]), budget


def test_time_budget_stops_before_an_epoch_that_would_not_fit():
    # 60 s epochs, 3.5 minutes: after 3 epochs (180 s) a 4th would end at
    # 240 s > 210 s.
    done, budget = _fit([60.0] * 10, 3.5)
    assert done == 3 and budget.stopped_after_epoch == 3
    # Exactly enough for 4 epochs: 4 run (240 s <= 240 s).
    assert _fit([60.0] * 10, 4.0)[0] == 4
    # The mean so far predicts the next epoch: 30 s, then 90 s epochs.
    # After 1: 30 + 30 <= 150; after 2: 120 + 60 > 150.
    assert _fit([30.0, 90.0] + [90.0] * 8, 2.5)[0] == 2
    # A budget larger than the epochs needs never stops training.
    done, budget = _fit([1.0] * 10, 60.0, epochs=5)
    assert done == 5 and budget.stopped_after_epoch is None


def test_gradient_clip_norm_reaches_the_optimizer():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    config = configs.ModelConfig(gradient_clip_norm=5.0)
    trainer.compile_model(model, config)
    assert model.optimizer.global_clipnorm == 5.0
    trainer.compile_model(model, configs.ModelConfig())
    assert model.optimizer.global_clipnorm is None
