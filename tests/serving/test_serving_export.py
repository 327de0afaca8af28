"""The exported Translator, checked through the paths TF Serving uses."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (TF Serving links the TF Text ops)
from serving_fixtures import detokenize_rows
from serving_fixtures import run_op_check
from serving_fixtures import session_run

from keras_seq.export import translator_export
from keras_seq.export.warmup import WARMUP_FILENAME
from keras_seq.text import JOINER
from keras_seq.text import special_tokens
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
    "x " * 2500,
]


def reference_translations(translator, sentences):
    """Independent path: tokenizer in Python, `model.generate` with beam
    search, and detokenization written here from the vocabulary."""
    model = translator["model"]
    source = translator["source_tokenizer"]
    rows = [
        source.tokenize(s).numpy().tolist() if s.strip() else []
        for s in sentences
    ]
    ids = np.zeros((len(sentences), model.max_source_length), np.int32)
    for i, row in enumerate(rows):
        row = row[: model.max_source_length]
        ids[i, : len(row)] = row
    out = model.generate(
        ids,
        strategy="beam",
        beam_width=translator["beam_width"],
        length_penalty=0.6,
    )
    vocabulary = translator["target_tokenizer"].vocabulary
    texts = detokenize_rows(out["token_ids"], vocabulary, JOINER)
    texts = ["" if not r else t for r, t in zip(rows, texts)]
    return texts, [len(r) > model.max_source_length for r in rows]


def test_versioned_layout_and_warmup_file(translator):
    export_dir = translator["export_dir"]
    assert os.path.basename(export_dir) == "1"
    assert os.path.basename(os.path.dirname(export_dir)) == "translator"
    for name in ("saved_model.pb", "variables"):
        assert os.path.exists(os.path.join(export_dir, name))
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(export_dir, "assets.extra", WARMUP_FILENAME)
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
        translator_export.DEFAULT_WARMUP_TEXTS
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
    expected, truncated = reference_translations(translator, SENTENCES)
    got = [t.decode("utf-8") for t in out["translation"]]
    assert got == expected
    assert (
        out["truncated"].tolist()
        == truncated
        == [
            False,
            False,
            False,
            False,
            True,
        ]
    )
    assert np.all(np.isfinite(out["score"])) and np.all(out["score"] <= 0)
    assert out["score"][3] == 0.0  # the empty text


def test_session_path_equals_python_translate_on_200_inputs(translator):
    # The must-have of a served Translator: TF Serving's path gives the
    # same strings as `translator.translate` in Python.
    sources = [s for s, _ in translator["test_pairs"]][:200]
    assert len(sources) == 200
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array(sources, dtype=object)},
    )
    served = [t.decode("utf-8") for t in out["translation"]]
    assert served == translator["translator"].translate(sources)


def test_empty_whitespace_and_invalid_inputs(translator):
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array(["", " ", "\t\n", "\x00"], dtype=object)},
    )
    # Nothing to translate gives nothing, never a made-up date.
    assert [t.decode() for t in out["translation"]] == ["", "", "", ""]
    np.testing.assert_array_equal(out["score"], 0.0)
    # Invalid UTF-8 bytes are repaired by the tokenizer graph, not fatal.
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array([b"25 nov\xff\xfe 2026"], dtype=object)},
    )
    assert out["translation"].shape == (1,)
    out["translation"][0].decode("utf-8")
    # An empty batch is a valid request.
    out = session_run(
        translator["export_dir"],
        "serving_default",
        {"text": np.array([], dtype=object)},
    )
    assert out["translation"].shape == (0,)


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
    model = translator["model"]
    ids = translator["source_tokenizer"].encode(
        sentences, model.max_source_length
    )
    best = beam_search(
        model.decode_step,
        model.initial_decoding_state(ids),
        tf.fill([3], special_tokens.BOS_ID),
        end_id=special_tokens.EOS_ID,
        max_length=model.max_target_length,
        beam_width=k,
        length_penalty=0.6,
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
    for name in ("serving_default", "n_best"):
        assert f"signature_def['{name}']" in result.stdout
    assert "inputs['text'] tensor_info" in result.stdout
    for output in ("translation", "score", "truncated"):
        assert f"outputs['{output}'] tensor_info" in result.stdout


def test_all_ops_are_available_in_stock_tf_serving(translator):
    result = run_op_check(translator["export_dir"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "RegexSplitWithOffsets" in result.stdout
    assert "All ops are supported" in result.stdout


def test_op_check_flags_ops_outside_the_allow_list(translator, tmp_path):
    code = (
        "import sys; from keras_seq_serving import op_check as c;"
        "ops = c.list_ops(sys.argv[1]);"
        "print(c.is_core_op('NormalizeUTF8'), c.is_core_op('MatMul'),"
        " 'NormalizeUTF8' in ops, 'MatMul' in ops or 'BatchMatMulV2' in ops"
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


def test_export_argument_errors(translator, tmp_path):
    with pytest.raises(ValueError, match="already holds a SavedModel"):
        translator["translator"].export(translator["export_dir"])
    with pytest.raises(ValueError, match="Received: model_name='a/b'"):
        translator["translator"].export(str(tmp_path / "x"), model_name="a/b")
    with pytest.raises(ValueError, match="Received: model_name='a/b'"):
        export.versioned_export_dir("/tmp", "a/b", 1)
    assert export.versioned_export_dir("/m", "translator", 7) == (
        "/m/translator/7"
    )
