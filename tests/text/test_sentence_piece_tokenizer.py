"""Tests of keras_seq.text.SentencePieceTokenizer, against the
`sentencepiece` package itself."""

import gzip
import os

import keras
import pytest
import sentencepiece
import tensorflow as tf

from keras_seq.text import RESERVED_TOKENS
from keras_seq.text import UNK_ID
from keras_seq.text import SentencePieceTokenizer

MULTI30K = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "data", "multi30k"
)


def _lines(name, limit=None):
    with gzip.open(os.path.join(MULTI30K, name), "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    return lines[:limit]


@pytest.fixture
def tokenizer():
    # Per test: the autouse `keras.utils.clear_session()` of conftest drops
    # TensorFlow's kernel cache, and with it the SentencePiece op's model
    # resource (a Keras clear_session does the same to a user's tokenizer).
    return SentencePieceTokenizer.from_corpus(
        _lines("train.de.gz", 3000), vocabulary_size=1000
    )


def test_reserved_pieces_and_ids(tokenizer):
    assert tokenizer.vocabulary[:4] == RESERVED_TOKENS
    assert tokenizer.vocabulary_size == 1000
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 2, 3)


def test_ids_equal_the_sentencepiece_package(tokenizer):
    processor = sentencepiece.SentencePieceProcessor()
    processor.LoadFromSerializedProto(tokenizer.proto)
    for text in _lines("val.de.gz", 50):
        ours = tokenizer.tokenize([text])[0].numpy().tolist()
        assert ours == processor.EncodeAsIds(text), text


def test_lossless_cased_round_trip_with_unseen_characters(tokenizer):
    texts = [
        "Ein Hund läuft über die Straße.",
        "WEISSE Straße, 25th Nov. 2026!",
        "Ωж ☃ 中文 emoji 🙂",  # characters never seen: byte pieces
    ]
    ids = tokenizer.tokenize(texts)
    assert UNK_ID not in ids.flat_values.numpy().tolist()
    back = [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()]
    assert back == texts


def test_config_and_model_file_round_trip(tokenizer, tmp_path):
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(tokenizer)
    )
    text = ["Zwei Männer spielen Fußball."]
    assert clone.tokenize(text).to_list() == tokenizer.tokenize(text).to_list()
    path = str(tmp_path / "de.model")
    tokenizer.save_model_file(path)
    again = SentencePieceTokenizer.from_model_file(path)
    assert again.vocabulary == tokenizer.vocabulary


def test_runs_in_a_tf_function(tokenizer):
    fn = tf.function(
        lambda t: tokenizer.detokenize(tokenizer.encode(t, 32, add_eos=True)),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    assert fn(tf.constant(["Ein Hund."])).numpy().tolist() == [b"Ein Hund."]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        SentencePieceTokenizer(b"not a model")
    with pytest.raises(ValueError, match="Received: model_type='wordpiece'"):
        SentencePieceTokenizer.from_corpus(["a b"], model_type="wordpiece")
    with pytest.raises(ValueError, match="Received: vocabulary_size=2"):
        SentencePieceTokenizer.from_corpus(["a b"], vocabulary_size=2)
    with pytest.raises(ValueError, match="training failed"):
        SentencePieceTokenizer.from_corpus(["a b"], vocabulary_size=5000)
    with pytest.raises(ValueError, match="not found"):
        SentencePieceTokenizer.from_model_file(str(tmp_path / "none.model"))


def test_exact_size_false_caps_the_vocabulary_on_a_small_corpus():
    lines = _lines("train.de.gz", 300)
    with pytest.raises(ValueError, match="Vocabulary size too high"):
        SentencePieceTokenizer.from_corpus(lines, vocabulary_size=8000)
    small = SentencePieceTokenizer.from_corpus(
        lines, vocabulary_size=8000, exact_size=False
    )
    # As many pieces as the package's own model of the same corpus.
    processor = sentencepiece.SentencePieceProcessor(model_proto=small.proto)
    assert small.vocabulary_size == processor.get_piece_size() < 8000
    assert list(small.detokenize(small.tokenize(lines[:5]))) == lines[:5]


def test_two_models_stay_apart_in_a_saved_model(tmp_path):
    # tensorflow/text issue 1304: after tf.saved_model.load, a second
    # SentencePiece model in the same SavedModel read the first one's
    # pieces (the target side of a translator detokenized with the source
    # model). Compared with the sentencepiece package on each model.
    english = SentencePieceTokenizer.from_corpus(
        _lines("train.en.gz", 2000), vocabulary_size=8000, exact_size=False
    )
    german = SentencePieceTokenizer.from_corpus(
        _lines("train.de.gz", 2000), vocabulary_size=8000, exact_size=False
    )
    assert english.vocabulary_size < german.vocabulary_size
    module = tf.Module()
    module.english, module.german = english, german
    module.detokenize = tf.function(
        lambda ids: german.detokenize(ids),
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    module.tokenize = tf.function(
        lambda texts: english.tokenize(texts).to_tensor(),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path / "both"))
    loaded = tf.saved_model.load(str(tmp_path / "both"))
    ids = [[german.vocabulary_size - 1, english.vocabulary_size + 5, 200]]
    expected = sentencepiece.SentencePieceProcessor(
        model_proto=german.proto
    ).decode(ids[0])
    out = loaded.detokenize(tf.constant(ids, tf.int32)).numpy()
    assert [t.decode("utf-8") for t in out] == [expected]
    english_ids = sentencepiece.SentencePieceProcessor(
        model_proto=english.proto
    ).encode("A dog runs in the grass.")
    tokenized = loaded.tokenize(tf.constant(["A dog runs in the grass."]))
    assert tokenized.numpy()[0].tolist() == english_ids
