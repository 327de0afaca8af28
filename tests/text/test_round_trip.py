"""detokenize(tokenize(s)) == s after the documented normalization, for
every Multi30k validation sentence (both languages) and the date corpus.

The normalization is re-written here in Python from its documentation
(`keras_seq.text.text_utils.clean_text` / `normalize`): control characters
become spaces, NFKC, whitespace runs become one space, trimmed.
"""

import gzip
import os
import unicodedata

import pytest

from keras_seq.datasets import load_dates
from keras_seq.text import CharTokenizer
from keras_seq.text import SentencePieceTokenizer
from keras_seq.text import WordTokenizer

MULTI30K = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "data", "multi30k"
)


def documented_normalization(text):
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    text = unicodedata.normalize("NFKC", " ".join(text.split()))
    return " ".join(text.split())


def _lines(name):
    with gzip.open(os.path.join(MULTI30K, name), "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def _failures(tokenizer, texts):
    back = tokenizer.detokenize(tokenizer.tokenize(texts)).numpy()
    return [
        (text, b.decode("utf-8"))
        for text, b in zip(texts, back)
        if b.decode("utf-8") != documented_normalization(text)
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_multi30k_validation_round_trips(language):
    val = _lines(f"val.{language}.gz")
    assert len(val) == 1014
    # SentencePiece learned on the training split: unseen words and
    # characters still come back exactly (byte fallback).
    subword = SentencePieceTokenizer.from_corpus(
        _lines(f"train.{language}.gz"), vocabulary_size=8000
    )
    failures = _failures(subword, val)
    print(f"sentencepiece {language}: {len(failures)} of {len(val)} failed")
    assert failures == []
    # Words and characters: the vocabulary holds every token of the text.
    for cls in (WordTokenizer, CharTokenizer):
        tokenizer = cls.from_corpus(val, lowercase=False)
        failures = _failures(tokenizer, val)
        print(f"{cls.__name__} {language}: {len(failures)} failed")
        assert failures == []


def test_date_corpus_round_trips():
    splits = load_dates(num_train=2000, num_val=0, num_test=500, seed=2)
    pairs = splits["train"] + splits["test"]
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    source = WordTokenizer.from_corpus(sources, lowercase=False)
    target = WordTokenizer.from_corpus(targets, lowercase=False)
    assert _failures(source, sources) == []
    assert _failures(target, targets) == []
    chars = CharTokenizer.from_corpus(targets)
    assert _failures(chars, targets) == []
