"""Tests of keras_seq.text.CharTokenizer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.text import EOS_ID
from keras_seq.text import RESERVED_TOKENS
from keras_seq.text import UNK_ID
from keras_seq.text import CharTokenizer

CORPUS = ["2026-11-25", "1999-01-03", "Straße 7"]


@pytest.fixture(scope="module")
def tokenizer():
    return CharTokenizer.from_corpus(CORPUS)


def test_vocabulary_is_characters_by_frequency(tokenizer):
    assert tokenizer.vocabulary[:4] == RESERVED_TOKENS
    counts = {}
    for text in CORPUS:
        for c in text:
            counts[c] = counts.get(c, 0) + 1
    expected = sorted(counts, key=lambda c: (-counts[c], c))
    assert tokenizer.vocabulary[4:] == expected


def test_tokens_are_characters_and_round_trip(tokenizer):
    ids = tokenizer.tokenize(["2026-11-25"])[0].numpy().tolist()
    assert [tokenizer.id_to_token(i) for i in ids] == list("2026-11-25")
    for text in CORPUS:
        back = tokenizer.detokenize(tokenizer.tokenize([text]))
        assert back.numpy()[0].decode("utf-8") == text
    # Whitespace is collapsed and trimmed, control characters are spaces.
    back = tokenizer.detokenize(tokenizer.tokenize(["  2026\x00 7 "]))
    assert back.numpy()[0].decode() == "2026 7"
    assert tokenizer.tokenize(["x"])[0].numpy().tolist() == [UNK_ID]


def test_encode_detokenize_with_specials(tokenizer):
    ids = tokenizer.encode(["2026"], 8, add_bos=True, add_eos=True).numpy()
    assert ids[0, 5] == EOS_ID and ids[0, -1] == 0
    assert tokenizer.detokenize(ids).numpy()[0] == b"2026"


def test_bad_arguments():
    with pytest.raises(ValueError, match="one character"):
        CharTokenizer(RESERVED_TOKENS + ["ab"])
    with pytest.raises(ValueError, match="reserved tokens"):
        CharTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="Received: min_frequency=0"):
        CharTokenizer.from_corpus(["a"], min_frequency=0)
    with pytest.raises(ValueError, match="empty or whitespace"):
        CharTokenizer.from_corpus(["a", " "])


def test_config_round_trip_and_saved_model(tokenizer, tmp_path):
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(tokenizer)
    )
    assert clone.vocabulary == tokenizer.vocabulary
    module = tf.Module()
    module.tokenizer = tokenizer
    module.f = tf.function(
        lambda t: tokenizer.detokenize(tokenizer.tokenize(t)),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    out = loaded.f(tf.constant(["2026-11-25"])).numpy()
    np.testing.assert_array_equal(out, [b"2026-11-25"])
