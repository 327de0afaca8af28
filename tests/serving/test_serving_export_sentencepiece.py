"""The SentencePiece export (a Transformer, Multi30k), as TF Serving would
load it: the date tests cover the word path; this one covers subword
tokenization in graph (tensorflow-text's SentencePiece ops, which the stock
model server links through tensorflow-text's `ops_lib`) and the
Transformer's cached decoding."""

import unicodedata

import numpy as np
import pytest
import tensorflow_text  # noqa: F401  (TF Serving links the TF Text ops)
from serving_fixtures import run_op_check
from serving_fixtures import session_run

from keras_seq.text import special_tokens

pytestmark = pytest.mark.slow

SENTENCES = [
    "Two young, White males are outside near many bushes.",
    "A man in an orange hat starring at something.",
    "",
    "word " * 500,
]


@pytest.fixture(scope="module")
def subword_translator(tmp_path_factory):
    import serving_fixtures

    return serving_fixtures.build_translator(
        str(tmp_path_factory.mktemp("subword_translator")),
        num_train=300,
        epochs=1,
        beam_width=2,
        dataset="multi30k",
    )


def _python_normalize(text):
    """keras-seq's documented normalization, re-done in Python."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    text = unicodedata.normalize("NFKC", " ".join(text.split()))
    return " ".join(text.split())


def test_subword_export_translates_like_the_sentencepiece_package(
    subword_translator,
):
    import sentencepiece

    source = sentencepiece.SentencePieceProcessor()
    source.LoadFromSerializedProto(subword_translator["source_tokenizer"].proto)
    target = sentencepiece.SentencePieceProcessor()
    target.LoadFromSerializedProto(subword_translator["target_tokenizer"].proto)
    model = subword_translator["model"]
    length = model.max_source_length
    source_ids = np.zeros((len(SENTENCES), length), "int32")
    for row, sentence in enumerate(SENTENCES):
        ids = source.EncodeAsIds(_python_normalize(sentence))[:length]
        source_ids[row, : len(ids)] = ids
    out_ids = np.asarray(
        model.generate(
            source_ids, strategy="beam", beam_width=2, length_penalty=0.6
        )["token_ids"]
    )
    expected = []
    for row, sentence in zip(out_ids, SENTENCES):
        ids = []
        for i in row.tolist():
            if i == special_tokens.EOS_ID:
                break
            ids.append(i)
        expected.append(target.DecodeIds(ids) if sentence.strip() else "")

    out = session_run(
        subword_translator["export_dir"],
        "serving_default",
        {"text": np.array(SENTENCES, dtype=object)},
    )
    assert [t.decode("utf-8") for t in out["translation"]] == expected
    assert out["truncated"].tolist() == [False, False, False, True]


def test_subword_export_ops_are_available_in_stock_tf_serving(
    subword_translator,
):
    result = run_op_check(subword_translator["export_dir"])
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    for op in ("SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"):
        assert op in result.stdout, result.stdout
    assert "All ops are supported" in result.stdout
