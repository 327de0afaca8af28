"""Tests of keras_seq.text.WordTokenizer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.text import BOS_ID
from keras_seq.text import EOS_ID
from keras_seq.text import PAD_ID
from keras_seq.text import RESERVED_TOKENS
from keras_seq.text import UNK_ID
from keras_seq.text import WordTokenizer
from keras_seq.text import validate_texts

CORPUS = [
    "A man in an orange hat starring at something.",
    "Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.",
    "Two young, White males are outside near many bushes.",
    "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
    "A man, a plan: the 25th of November 2026!",
    "Wednesday, 25/11/2026 - a man's day.",
]


def _tokens(tokenizer, text):
    ids = tokenizer.tokenize([text])[0].numpy().tolist()
    return [tokenizer.id_to_token(i) for i in ids]


@pytest.fixture(scope="module")
def tokenizer():
    return WordTokenizer.from_corpus(CORPUS)


def test_reserved_tokens_first(tokenizer):
    assert tokenizer.vocabulary[:4] == ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    assert RESERVED_TOKENS == tokenizer.vocabulary[:4]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert tokenizer.pad_id == 0 and tokenizer.eos_id == 3


def test_splits_words_digits_and_punctuation(tokenizer):
    # A token glued to the previous one (no space between) carries the
    # joiner, so the text can be rebuilt.
    assert _tokens(tokenizer, "A man, a plan: the 25th of November 2026!") == [
        "a", "man", "￭,", "a", "plan", "￭:", "the", "25", "￭th", "of",
        "november", "2026", "￭!",
    ]  # fmt: skip
    assert _tokens(tokenizer, "25/11/2026") == [
        "25", "￭/", "￭11", "￭/", "￭2026",
    ]  # fmt: skip
    # A hyphen is a token; the apostrophe too.
    assert _tokens(tokenizer, "a man's day - 2026") == [
        "a", "man", "￭'", "￭s", "day", "-", "2026",
    ]  # fmt: skip
    plain = WordTokenizer.from_corpus(CORPUS, joiner=None)
    assert _tokens(plain, "25/11/2026") == ["25", "/", "11", "/", "2026"]


def test_unicode_normalization_and_case_folding(tokenizer):
    # NFKC: full-width letters and decomposed umlauts become the composed
    # lower-case words of the vocabulary.
    decomposed = "WEIẞE Ma\u0308nner"
    tokens = _tokens(tokenizer, decomposed)
    # Lower-casing keeps the German sharp s (no full case folding to "ss").
    assert tokens == ["weiße", "männer"]
    assert _tokens(tokenizer, "Ｍａｎ") == ["man"]
    assert "[UNK]" not in _tokens(tokenizer, "Zwei junge Männer.")
    # Control characters are spaces: NUL does not end the text.
    assert _tokens(tokenizer, "a\x00man\x1b day") == ["a", "man", "day"]


def test_oov_maps_to_unk(tokenizer):
    ids = tokenizer.tokenize(["a zebra man"])[0].numpy().tolist()
    assert ids[1] == UNK_ID
    assert ids[0] == tokenizer.token_to_id("a")
    assert tokenizer.token_to_id("zebra") == UNK_ID


def test_vocabulary_frequency_order_and_determinism():
    texts = ["b a c a", "c a", "d"]
    tokenizer = WordTokenizer.from_corpus(texts)
    # a:3, c:2, b:1, d:1 (tie -> alphabetical).
    assert tokenizer.vocabulary[4:] == ["a", "c", "b", "d"]
    again = WordTokenizer.from_corpus(list(reversed(texts)))
    assert again.vocabulary == tokenizer.vocabulary
    limited = WordTokenizer.from_corpus(texts, max_vocabulary_size=6)
    assert limited.vocabulary[4:] == ["a", "c"]
    frequent = WordTokenizer.from_corpus(texts, min_frequency=2)
    assert frequent.vocabulary[4:] == ["a", "c"]
    cased = WordTokenizer.from_corpus(["The the THE"], lowercase=False)
    assert sorted(cased.vocabulary[4:]) == ["THE", "The", "the"]


def test_encode_padding_and_truncation(tokenizer):
    a, man = tokenizer.token_to_id("a"), tokenizer.token_to_id("man")
    hat = tokenizer.token_to_id("hat")
    ids = tokenizer.encode(
        ["a man", "a man a hat"], 5, add_bos=True, add_eos=True
    ).numpy()
    np.testing.assert_array_equal(
        ids,
        [[BOS_ID, a, man, EOS_ID, PAD_ID], [BOS_ID, a, man, a, EOS_ID]],
    )
    assert ids.dtype == np.int32
    plain = tokenizer.encode(["a man a hat"], 6).numpy()
    np.testing.assert_array_equal(plain, [[a, man, a, hat, 0, 0]])
    single = tokenizer.encode("a man", 3, add_eos=True).numpy()
    np.testing.assert_array_equal(single, [a, man, EOS_ID])
    with pytest.raises(ValueError, match="truncate"):
        tokenizer.encode(["a man a hat"], 3, truncate=False)
    with pytest.raises(ValueError, match="max_length"):
        tokenizer.encode(["a"], 1, add_bos=True, add_eos=True)


def test_encode_without_truncation_in_a_graph_raises(tokenizer):
    encode = tf.function(
        lambda x: tokenizer.encode(x, 3, add_eos=True, truncate=False)
    )
    np.testing.assert_array_equal(
        encode(tf.constant(["a man"])).numpy(),
        tokenizer.encode(["a man"], 3, add_eos=True).numpy(),
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncate"):
        encode(tf.constant(["a man a hat"]))


def test_detokenize_stops_at_eos_and_drops_pad_bos(tokenizer):
    a, man = tokenizer.token_to_id("a"), tokenizer.token_to_id("man")
    dense = np.array(
        [[BOS_ID, a, man, EOS_ID, a, a], [a, PAD_ID, man, PAD_ID, 0, 0]]
    )
    out = tokenizer.detokenize(dense).numpy().tolist()
    assert out == [b"a man", b"a man"]
    ragged = tf.ragged.constant([[a, man, UNK_ID, EOS_ID, man], [man]])
    out = tokenizer.detokenize(ragged).numpy().tolist()
    assert out == [b"a man [UNK]", b"man"]
    assert tokenizer.detokenize([a, EOS_ID, man]).numpy() == b"a"
    # Ids outside the vocabulary are an error, not "[UNK]".
    size = tokenizer.vocabulary_size
    with pytest.raises(ValueError, match=r"Received: ids\[0, 1\]=10000"):
        tokenizer.detokenize([[a, 10_000]])
    with pytest.raises(ValueError, match=r"Received: ids\[0, 2\]=-1"):
        tokenizer.detokenize([[a, a, -1]])
    with pytest.raises(ValueError, match=f"vocabulary_size={size}"):
        tokenizer.detokenize([[size]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="< vocabulary"):
        tf.function(tokenizer.detokenize)(tf.constant([[a, size]]))


def test_from_corpus_accepts_a_tf_data_dataset():
    texts = ["b a c a", "c a", "d"]
    dataset = tf.data.Dataset.from_tensor_slices(texts)
    assert (
        WordTokenizer.from_corpus(dataset).vocabulary
        == WordTokenizer.from_corpus(texts).vocabulary
    )


def test_round_trip_real_sentence(tokenizer):
    text = "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche."
    ids = tokenizer.encode([text], 20, add_bos=True, add_eos=True)
    expected = (
        "zwei junge weiße männer sind im freien in der nähe vieler büsche."
    )
    assert tokenizer.detokenize(ids).numpy()[0].decode() == expected
    cased = WordTokenizer.from_corpus(CORPUS, lowercase=False)
    for text in CORPUS:
        ids = cased.tokenize([text])
        assert cased.detokenize(ids).numpy()[0].decode() == text


def test_empty_rows_in_graph_give_no_tokens(tokenizer):
    ids = tokenizer.tokenize(tf.constant(["", "  ", "a man"]))
    assert ids.row_lengths().numpy().tolist() == [0, 0, 2]


def test_validate_texts_errors():
    with pytest.raises(ValueError, match=r"row 1 .*Received: texts\[1\]=''"):
        validate_texts(["ok", ""])
    with pytest.raises(ValueError, match=r"row 2 .*Received: texts\[2\]='  '"):
        validate_texts(np.array(["a", "b", "  "]))
    with pytest.raises(ValueError, match=r"row 0 is not valid UTF-8"):
        validate_texts([b"\xff\xfe"])
    with pytest.raises(ValueError, match="row 0"):
        WordTokenizer.from_corpus(["", "x"])
    tokenizer = WordTokenizer.from_corpus(["x"])
    with pytest.raises(ValueError, match=r"row 1"):
        tokenizer.tokenize(["x", " "])
    assert validate_texts([b"caf\xc3\xa9", "x"]) == ["café", "x"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="reserved tokens"):
        WordTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        WordTokenizer(RESERVED_TOKENS + ["a", "a"])
    with pytest.raises(ValueError, match="max_vocabulary_size"):
        WordTokenizer.from_corpus(["a"], max_vocabulary_size=3)
    with pytest.raises(ValueError, match="normalization"):
        WordTokenizer(RESERVED_TOKENS, normalization="NFX")
    tokenizer = WordTokenizer(RESERVED_TOKENS + ["a"])
    with pytest.raises(ValueError, match="dtype"):
        tokenizer.tokenize(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="rank"):
        tokenizer.tokenize(tf.constant([["a"]]))
    with pytest.raises(ValueError, match="token_id"):
        tokenizer.id_to_token(99)


def test_config_round_trip_and_keras_serialization(tokenizer):
    texts = ["A man in a hat.", "Zwei Männer, 25/11/2026."]
    expected = tokenizer.encode(texts, 12, add_eos=True).numpy()
    config = tokenizer.get_config()
    clone = WordTokenizer.from_config(config)
    np.testing.assert_array_equal(
        clone.encode(texts, 12, add_eos=True).numpy(), expected
    )
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(tokenizer)
    )
    assert isinstance(restored, WordTokenizer)
    assert restored.vocabulary == tokenizer.vocabulary


def test_vocabulary_file_round_trip(tokenizer, tmp_path):
    path = tmp_path / "vocab" / "words.txt"
    tokenizer.save_vocabulary(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == tokenizer.vocabulary
    loaded = WordTokenizer.from_vocabulary_file(path)
    assert loaded.vocabulary == tokenizer.vocabulary
    with pytest.raises(ValueError, match="path="):
        WordTokenizer.from_vocabulary_file(tmp_path / "missing.txt")


def test_works_in_tf_data_and_tf_function(tokenizer):
    texts = ["a man in a hat", "zwei männer"]
    eager = tokenizer.encode(texts, 8, add_bos=True).numpy()
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(2)
    dataset = dataset.map(lambda x: tokenizer.encode(x, 8, add_bos=True))
    np.testing.assert_array_equal(next(iter(dataset)).numpy(), eager)
    # The layer call (tokenize) also traces.
    mapped = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(tokenizer)
    ragged = next(iter(mapped))
    np.testing.assert_array_equal(ragged.to_tensor().numpy(), eager[:, 1:6])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def detok(ids):
        return tokenizer.detokenize(ids)

    assert detok(tf.constant(eager[0])).numpy() == b"a man in a hat"


def test_saved_model_export(tokenizer, tmp_path):
    archive = keras.export.ExportArchive()
    archive.track(tokenizer)
    archive.add_endpoint(
        "encode",
        lambda texts: tokenizer.encode(texts, 10, add_eos=True),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    archive.add_endpoint(
        "detokenize",
        tokenizer.detokenize,
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    path = str(tmp_path / "tokenizer")
    archive.write_out(path)
    del archive
    loaded = tf.saved_model.load(path)
    texts = tf.constant(["A man in an orange hat.", "Ein Mann, 25/11/2026."])
    ids = loaded.encode(texts)
    np.testing.assert_array_equal(
        ids.numpy(), tokenizer.encode(texts, 10, add_eos=True).numpy()
    )
    assert loaded.detokenize(ids).numpy().tolist() == [
        b"a man in an orange hat.",
        b"ein mann, 25/11/2026.",
    ]


def test_saved_model_runs_in_tf1_session_path(tokenizer, tmp_path):
    """The loader TF Serving uses (session, tag "serve") runs the tables."""
    archive = keras.export.ExportArchive()
    archive.track(tokenizer)
    archive.add_endpoint(
        "serving_default",
        lambda texts: {"ids": tokenizer.encode(texts, 8, add_eos=True)},
        input_signature=[tf.TensorSpec([None], tf.string, name="texts")],
    )
    path = str(tmp_path / "session")
    archive.write_out(path)
    texts = ["A man in a zebra hat.", "Zwei Männer"]
    expected = tokenizer.encode(texts, 8, add_eos=True).numpy()
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], path
        )
        signature = meta_graph.signature_def["serving_default"]
        ids = session.run(
            signature.outputs["ids"].name,
            {signature.inputs["texts"].name: np.array(texts, dtype=object)},
        )
    np.testing.assert_array_equal(ids, expected)
    assert UNK_ID in ids[0]


def test_lone_surrogates_and_bad_joiner_are_clear_errors(tokenizer):
    with pytest.raises(ValueError, match="cannot be encoded as UTF-8"):
        tokenizer.tokenize(["25 nov \udcff 2026"])
    with pytest.raises(ValueError, match="Received: joiner=' '"):
        WordTokenizer(RESERVED_TOKENS + ["a"], joiner=" ")
    clone = WordTokenizer.from_config(tokenizer.get_config())
    assert clone.joiner == tokenizer.joiner == "￭"
