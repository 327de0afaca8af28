"""The exported translator, checked through the paths TF Serving uses."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (TF Serving links the TF Text ops)
from serving_fixtures import detokenize_rows
from serving_fixtures import full_vocabulary
from serving_fixtures import run_op_check
from serving_fixtures import session_run

from keras_seq.text import special_tokens
from keras_seq_pipelines import configs
from keras_seq_serving import export

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
# Exports train a model, so these tests are slow (a minute or two).
pytestmark = pytest.mark.slow

SENTENCES = [
    "25 November 2026",
    "tuesday, 13 december 1994",
    "2042.1.5",
    "",
    "x" * 5000,
]


def reference_translations(translator, sentences):
    """Independent path: eager Transform, model.generate in Python, and
    detokenization written here from the vocabulary file."""
    tft_output = translator["tf_transform_output"]
    sparse = tf.SparseTensor(
        indices=[[i, 0] for i in range(len(sentences))],
        values=tf.constant(sentences),
        dense_shape=[len(sentences), 1],
    )
    features = tft_output.transform_raw_features(
        {configs.SOURCE_KEY: sparse}, drop_unused_features=True
    )
    source_ids = tf.cast(features[configs.SOURCE_IDS_KEY], tf.int32)
    out = translator["model"].generate(
        source_ids,
        strategy="greedy",
        max_length=translator["dataset_config"].max_target_length,
    )
    vocab = full_vocabulary(tft_output, configs.TARGET_VOCAB_NAME)
    texts = detokenize_rows(out["token_ids"], vocab, separator="")
    return texts, np.asarray(out["token_ids"])


def test_versioned_layout_and_warmup_file(translator):
    export_dir = translator["export_dir"]
    assert os.path.basename(export_dir) == "1"
    assert os.path.basename(os.path.dirname(export_dir)) == "translator"
    for name in ("saved_model.pb", "variables"):
        assert os.path.exists(os.path.join(export_dir, name))
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(export_dir, "assets.extra", export.WARMUP_FILENAME)
    logs = [
        prediction_log_pb2.PredictionLog.FromString(r.numpy())
        for r in tf.data.TFRecordDataset(path)
    ]
    assert len(logs) == 1
    request = logs[0].predict_log.request
    assert request.model_spec.name == "translator"
    assert request.model_spec.signature_name == "serving_default"
    sentences = tf.make_ndarray(request.inputs["text"])
    assert [s.decode() for s in sentences] == list(
        export.DEFAULT_WARMUP_SENTENCES
    )
    # The warm-up request runs on the model, as TF Serving replays it.
    out = session_run(export_dir, "serving_default", {"text": sentences})
    assert out["translation"].shape == (len(sentences),)


def test_session_path_matches_independent_decoding(translator):
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array(SENTENCES, dtype=object)},
    )
    expected, expected_ids = reference_translations(translator, SENTENCES)
    got = [t.decode("utf-8") for t in out["translation"]]
    assert got == expected
    np.testing.assert_array_equal(out["token_ids"], expected_ids)
    lengths = out["lengths"]
    assert lengths.shape == (len(SENTENCES),)
    assert np.all(np.isfinite(out["scores"])) and np.all(out["scores"] <= 0)


def test_empty_and_overlong_inputs_return_results(translator):
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array(["", " ", "y" * 20000, "\xff"], dtype=object)},
    )
    assert out["translation"].shape == (4,)
    for t in out["translation"]:
        t.decode("utf-8")
    # Invalid UTF-8 bytes are repaired by the Transform graph, not fatal.
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array([b"25 nov\xff\xfe 2026"], dtype=object)},
    )
    assert out["translation"].shape == (1,)


def test_translate_examples_equals_serving_default(translator):
    sentences = SENTENCES[:3]
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={
                    "source": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[s.encode()])
                    )
                }
            )
        ).SerializeToString()
        for s in sentences
    ]
    by_examples = session_run(
        translator["export_dir"],
        "translate_examples",
        {"examples": np.array(examples, dtype=object)},
    )
    by_text = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array(sentences, dtype=object)},
    )
    assert list(by_examples["translation"]) == list(by_text["translation"])


def test_n_best_matches_beam_search(translator):
    from keras_seq.decoding import beam_search

    k = translator["beam_width"]
    sentences = SENTENCES[:3]
    out = session_run(
        translator["export_dir"],
        "n_best",
        {"text": np.array(sentences, dtype=object)},
    )
    assert out["translations"].shape == (3, k)
    assert out["scores"].shape == (3, k)
    # Best first.
    assert np.all(np.diff(out["scores"], axis=1) <= 1e-6)
    # The top hypothesis is what a plain beam search (n = 1) returns.
    tft_output = translator["tf_transform_output"]
    sparse = tf.SparseTensor(
        indices=[[i, 0] for i in range(3)],
        values=tf.constant(sentences),
        dense_shape=[3, 1],
    )
    ids = tf.cast(
        tft_output.transform_raw_features(
            {"source": sparse}, drop_unused_features=True
        )["source_ids"],
        tf.int32,
    )
    model = translator["model"]
    best = beam_search(
        model.decode_step,
        model.initial_decoding_state(ids),
        tf.fill([3], special_tokens.BOS_ID),
        end_id=special_tokens.EOS_ID,
        max_length=translator["dataset_config"].max_target_length,
        beam_width=k,
    )
    np.testing.assert_allclose(
        out["scores"][:, 0], np.asarray(best["scores"]), rtol=1e-4, atol=1e-4
    )


def test_saved_model_cli_lists_signatures(translator):
    result = subprocess.run(
        [
            os.path.join(VENV_BIN, "saved_model_cli"),
            "show",
            "--all",
            "--dir",
            translator["export_dir"],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("serving_default", "n_best", "translate_examples"):
        assert f"signature_def['{name}']" in result.stdout
    assert "inputs['text'] tensor_info" in result.stdout
    assert "outputs['translation'] tensor_info" in result.stdout


def test_all_ops_are_available_in_stock_tf_serving(translator):
    result = run_op_check(translator["export_dir"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "CaseFoldUTF8" in result.stdout
    assert "All ops are supported" in result.stdout


def test_op_check_flags_ops_outside_the_allow_list(translator, tmp_path):
    code = (
        "import sys; from keras_seq_serving import op_check as c;"
        "ops = c.list_ops(sys.argv[1]);"
        "print(c.is_core_op('CaseFoldUTF8'), c.is_core_op('MatMul'),"
        " 'CaseFoldUTF8' in ops, 'MatMul' in ops or 'BatchMatMulV2' in ops"
        " or 'Einsum' in ops)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, translator["export_dir"]],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.stdout.split()[-4:] == ["False", "True", "True", "True"]


def test_export_argument_errors(translator):
    with pytest.raises(ValueError, match="Received: tokenization='bpe'"):
        export.export_translator(
            translator["model"],
            translator["tf_transform_output"],
            "/tmp/unused",
            tokenization="bpe",
        )
    with pytest.raises(ValueError, match="Received: beam_width=0"):
        export.export_translator(
            translator["model"],
            translator["tf_transform_output"],
            "/tmp/unused",
            beam_width=0,
        )
    with pytest.raises(ValueError, match="Received: model_name='a/b'"):
        export.versioned_export_dir("/tmp", "a/b", 1)
    assert export.versioned_export_dir("/m", "translator", 7) == (
        "/m/translator/7"
    )
