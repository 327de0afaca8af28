"""Tests of `keras-seq demo` (apps/demo.py)."""

import argparse
import json
import os

import keras
import numpy as np
import pytest

from keras_seq.models import RNNSeq2Seq
from keras_seq.models import TransformerSeq2Seq
from keras_seq.models import Translator
from keras_seq_apps import demo
from keras_seq_apps.cli import main


def _args(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    return parser.parse_args(["--output-dir", str(tmp_path), "--quiet", *argv])


def test_defaults():
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args([])
    assert args.output_dir == os.path.join("outputs", "demo")
    assert args.attention == "luong" and args.score == "general"
    assert args.num_test == 1000


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="Received: epochs=0"):
        demo.train_and_evaluate(_args(tmp_path, "--epochs", "0"))
    with pytest.raises(ValueError, match="Received: learning_rate=-1.0"):
        demo.train_and_evaluate(_args(tmp_path, "--learning-rate", "-1"))
    with pytest.raises(ValueError, match="hidden_dim=30, num_heads=4"):
        demo.train_and_evaluate(
            _args(
                tmp_path, "--architecture", "transformer", "--hidden-dim", "30"
            )
        )


def test_learning_rate_default_depends_on_architecture(tmp_path):
    for architecture, rate in (("rnn", 3e-3), ("transformer", 1e-3)):
        args = _args(tmp_path, "--architecture", architecture)
        demo._check_args(args)
        assert args.learning_rate == rate


@pytest.mark.slow
def test_tiny_run_writes_every_artifact(tmp_path):
    # About 15 s on an idle 2-core machine (data, tokenizers, one epoch,
    # saving), so it runs with the slow tests.
    args = _args(
        tmp_path,
        "--epochs",
        "1",
        "--num-train",
        "256",
        "--num-val",
        "32",
        "--num-test",
        "32",
        "--embedding-dim",
        "8",
        "--hidden-dim",
        "16",
    )
    results = demo.train_and_evaluate(args)
    for name in ("translator.keras", "alignment.png", "results.json"):
        assert os.path.isfile(os.path.join(tmp_path, name)), name
    with open(os.path.join(tmp_path, "results.json")) as f:
        saved = json.load(f)
    assert saved["test_exact_match"] == results["test_exact_match"]
    assert 0.0 <= results["test_exact_match"] <= 1.0
    assert saved["num_test"] == 32
    # The saved Translator reloads with its tokenizers and translates.
    translator = Translator.load(os.path.join(tmp_path, "translator.keras"))
    assert isinstance(translator.seq2seq, RNNSeq2Seq)
    assert translator.target_tokenizer.vocabulary[:4] == [
        "[PAD]",
        "[UNK]",
        "[BOS]",
        "[EOS]",
    ]
    examples = translator.translate(list(demo.EXAMPLES))
    assert examples == list(results["examples"].values())
    out = translator.seq2seq.generate(np.array([[5, 6, 7, 0]], "int32"))
    assert out["alignment"].shape[-1] == 4


@pytest.mark.slow
def test_tiny_transformer_run(tmp_path):
    args = _args(
        tmp_path,
        "--architecture",
        "transformer",
        "--epochs",
        "1",
        "--num-train",
        "256",
        "--num-val",
        "32",
        "--num-test",
        "32",
        "--hidden-dim",
        "16",
        "--num-layers",
        "1",
        "--num-heads",
        "2",
    )
    results = demo.train_and_evaluate(args)
    assert results["architecture"] == "transformer"
    assert os.path.getsize(os.path.join(tmp_path, "alignment.png")) > 0
    model = Translator.load(os.path.join(tmp_path, "translator.keras")).seq2seq
    assert isinstance(model, TransformerSeq2Seq)
    assert model.num_layers == 1 and model.hidden_dim == 16
    out = model.generate(np.array([[5, 6, 7, 0]], "int32"))
    weights = keras.ops.convert_to_numpy(out["alignment"])[0]
    # Cross-attention rows are distributions over the 3 real source tokens.
    np.testing.assert_allclose(weights[:, :3].sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(weights[:, 3], 0.0)


@pytest.mark.slow
def test_cli_demo_reaches_95_percent_on_held_out_dates(tmp_path):
    # The main job of the README, through the command line: the default
    # model (4 epochs) must get >= 95% of the 1,000 held-out test dates
    # exactly right, as text ("2026-11-25"), with the saved Translator's
    # beam search.
    output_dir = os.path.join(tmp_path, "demo")
    code = main(["demo", "--quiet", "--output-dir", output_dir])
    assert code == 0
    with open(os.path.join(output_dir, "results.json")) as f:
        results = json.load(f)
    assert results["num_test"] == 1000
    assert results["test_exact_match"] >= 0.95, results["test_errors"]
    assert os.path.getsize(os.path.join(output_dir, "alignment.png")) > 0
    translator = Translator.load(os.path.join(output_dir, "translator.keras"))
    assert translator.translate("25 November 2026") == "2026-11-25"
    # Attention is interpretable: the year output attends to the year.
    model = translator.seq2seq
    source_tokenizer = translator.source_tokenizer
    target_tokenizer = translator.target_tokenizer
    for text, year in (
        ("Saturday, March 7th 1987", "1987"),
        ("the 3rd of july 1999", "1999"),
    ):
        ids = source_tokenizer.encode([text], model.max_source_length)
        out = model.generate(ids.numpy())
        tokens = [
            target_tokenizer.id_to_token(i)
            for i in keras.ops.convert_to_numpy(out["token_ids"])[0]
        ]
        assert tokens[0] == year, tokens
        source_tokens = [
            source_tokenizer.id_to_token(i) for i in ids.numpy()[0] if i
        ]
        weights = keras.ops.convert_to_numpy(out["alignment"])[0, 0]
        assert source_tokens[int(np.argmax(weights))] == year, (
            source_tokens,
            weights,
        )
