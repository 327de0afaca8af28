"""Tests of keras_seq.models.Translator (model + tokenizers + search)."""

import os
import zipfile

import keras
import numpy as np
import pytest

from keras_seq.models import RNNSeq2Seq
from keras_seq.models import TransformerSeq2Seq
from keras_seq.models import Translator
from keras_seq.text import JOINER
from keras_seq.text import CharTokenizer
from keras_seq.text import WordTokenizer
from keras_seq.text import special_tokens

SOURCES = ["25 November 2026", "3 march 1999", "NOV 9, 04", "2017.2.14"]
TARGETS = ["2026-11-25", "1999-03-03", "2004-11-09", "2017-02-14"]


def _python_detokenize(ids, vocabulary):
    """Target ids -> text, from the joiner rule (independent of the graph)."""
    text = ""
    for i in ids:
        if i == special_tokens.EOS_ID:
            break
        if i in (special_tokens.PAD_ID, special_tokens.BOS_ID):
            continue
        token = vocabulary[i]
        if token.startswith(JOINER):
            text += token[len(JOINER) :]
        else:
            text += (" " if text else "") + token
    return text


@pytest.fixture(scope="module", params=["rnn", "transformer"])
def translator(request):
    keras.utils.set_random_seed(1)
    source = WordTokenizer.from_corpus(SOURCES)
    target = WordTokenizer.from_corpus(TARGETS, lowercase=False)
    if request.param == "rnn":
        model = RNNSeq2Seq(
            source.vocabulary_size,
            target.vocabulary_size,
            embedding_dim=8,
            hidden_dim=16,
            attention="luong",
            max_source_length=6,
            max_target_length=7,
        )
    else:
        model = TransformerSeq2Seq(
            source.vocabulary_size,
            target.vocabulary_size,
            hidden_dim=8,
            num_layers=1,
            num_heads=2,
            intermediate_dim=16,
            max_source_length=6,
            max_target_length=7,
        )
    model.build()
    return Translator(model, source, target, beam_width=3)


def _reference(translator, texts, strategy="beam"):
    ids = translator.source_tokenizer.encode(texts, 6).numpy()
    kwargs = {"beam_width": 3, "length_penalty": 0.6}
    out = translator.seq2seq.generate(
        ids, strategy=strategy, **(kwargs if strategy == "beam" else {})
    )
    vocabulary = translator.target_tokenizer.vocabulary
    return [
        _python_detokenize(row, vocabulary)
        for row in np.asarray(out["token_ids"]).tolist()
    ], np.asarray(out["scores"])


def test_translate_equals_independent_decoding(translator):
    expected, scores = _reference(translator, SOURCES)
    assert translator.translate(SOURCES) == expected
    assert translator.translate(SOURCES[0]) == expected[0]
    details = translator.translate(SOURCES, return_details=True)
    np.testing.assert_allclose(
        [d["score"] for d in details], scores, rtol=1e-5, atol=1e-5
    )
    assert [d["truncated"] for d in details] == [False] * 4


def test_greedy_strategy_and_n_best(translator):
    greedy = Translator(
        translator.seq2seq,
        translator.source_tokenizer,
        translator.target_tokenizer,
        strategy="greedy",
    )
    expected, _ = _reference(translator, SOURCES, strategy="greedy")
    assert greedy.translate(SOURCES) == expected
    n_best = translator.translate(SOURCES, n_best=3)
    assert all(len(row) == 3 for row in n_best)
    for row in n_best:
        scores = [score for _, score in row]
        assert scores == sorted(scores, reverse=True)
    # The best of the n-best list is the 1-best translation.
    assert [row[0][0] for row in n_best] == translator.translate(SOURCES)


def test_empty_text_gives_empty_translation_and_truncation_is_reported(
    translator,
):
    details = translator.translate(
        ["", "   ", "\x00", "1 2 3 4 5 6 7 8", SOURCES[0]],
        return_details=True,
    )
    assert [d["translation"] for d in details[:3]] == ["", "", ""]
    assert [d["score"] for d in details[:3]] == [0.0, 0.0, 0.0]
    assert [d["truncated"] for d in details] == [False] * 3 + [True, False]
    assert translator.translate([]) == []


def test_bad_inputs_are_clear_errors(translator):
    with pytest.raises(ValueError, match="not valid UTF-8"):
        translator.translate([b"25 nov \xff"])
    with pytest.raises(ValueError, match="cannot be encoded as UTF-8"):
        translator.translate(["25 \udcff"])
    with pytest.raises(ValueError, match="row 1 is of type int"):
        translator.translate(["a", 3])
    with pytest.raises(ValueError, match="Received: n_best=0"):
        translator.translate(["a"], n_best=0)
    with pytest.raises(ValueError, match="Received: texts=None"):
        translator.translate(None)


def test_save_and_load_one_file(translator, tmp_path):
    path = str(tmp_path / "translator.keras")
    translator.save(path)
    # One artifact: the tokenizers' vocabularies travel in the file.
    with zipfile.ZipFile(path) as archive:
        assert "config.json" in archive.namelist()
    loaded = Translator.load(path)
    assert loaded.translate(SOURCES) == translator.translate(SOURCES)
    assert loaded.target_tokenizer.vocabulary == (
        translator.target_tokenizer.vocabulary
    )
    again = keras.saving.load_model(path)
    assert isinstance(again, Translator)
    assert again.beam_width == 3 and again.strategy == "beam"


def test_load_errors(translator, tmp_path):
    with pytest.raises(ValueError, match="No saved translator"):
        Translator.load(str(tmp_path / "missing.keras"))
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="Could not read a saved translator"):
        Translator.load(str(broken))
    model_path = str(tmp_path / "model.keras")
    translator.seq2seq.save(model_path)
    with pytest.raises(ValueError, match="not a Translator"):
        Translator.load(model_path)
    folder = tmp_path / "savedmodel"
    os.makedirs(folder)
    with pytest.raises(ValueError, match="No saved translator"):
        Translator.load(str(folder))


def test_constructor_errors(translator):
    model = translator.seq2seq
    source = translator.source_tokenizer
    target = translator.target_tokenizer
    with pytest.raises(ValueError, match="Received: strategy='sample'"):
        Translator(model, source, target, strategy="sample")
    with pytest.raises(ValueError, match="Received: beam_width=0"):
        Translator(model, source, target, beam_width=0)
    with pytest.raises(ValueError, match="target vocabulary"):
        Translator(model, source, CharTokenizer.from_corpus(["12"]))
    with pytest.raises(ValueError, match="source vocabulary"):
        Translator(model, CharTokenizer.from_corpus(["12"]), target)


def test_compiled_model_loads_in_a_fresh_process(translator, tmp_path):
    # A Translator whose model was compiled with the keras-seq schedule,
    # loss and metric (as the pipeline's Trainer does) loads where none of
    # those modules were imported before (a new Python process).
    import subprocess
    import sys

    from keras_seq.metrics import MaskedAccuracy
    from keras_seq.metrics import MaskedSparseCategoricalCrossentropy
    from keras_seq.optimizers import TransformerSchedule

    translator.seq2seq.compile(
        keras.optimizers.Adam(TransformerSchedule(8, warmup_steps=10)),
        MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        metrics=[MaskedAccuracy()],
    )
    path = str(tmp_path / "compiled.keras")
    translator.save(path)
    code = (
        "import sys; from keras_seq.models import Translator; "
        "print(Translator.load(sys.argv[1]).translate(sys.argv[2:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, path, *SOURCES],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(translator.translate(SOURCES))
