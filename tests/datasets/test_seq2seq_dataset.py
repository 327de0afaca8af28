"""make_seq2seq_dataset: batch format of docs/design.md."""

import logging

import numpy as np
import pytest

from keras_seq.datasets import make_seq2seq_dataset
from keras_seq.datasets.seq2seq_dataset import bucket_batch_sizes
from keras_seq.text import BOS_ID
from keras_seq.text import EOS_ID
from keras_seq.text import WordTokenizer

PAIRS = [
    ("A man rides a horse.", "Ein Mann reitet ein Pferd."),
    ("Two dogs play.", "Zwei Hunde spielen."),
    ("A very long sentence with many many words in it.", "Kurz."),
    ("Short.", "Ein sehr langer Satz mit vielen vielen Wörtern darin."),
    ("   ", "Leer."),
    ("Empty target.", ""),
]


@pytest.fixture(scope="module")
def tokenizers():
    source = WordTokenizer.from_corpus([s for s, _ in PAIRS if s.strip()])
    target = WordTokenizer.from_corpus([t for _, t in PAIRS if t.strip()])
    return source, target


def _collect(dataset):
    rows = []
    for features, target_out in dataset:
        for s, ti, to in zip(
            features["source_ids"].numpy(),
            features["target_in"].numpy(),
            target_out.numpy(),
        ):
            rows.append((s, ti, to))
    return rows


def _expected_ids(tokenizer, text):
    return tokenizer.tokenize([text])[0].numpy().tolist()


def test_batch_format_and_truncation(tokenizers, caplog):
    source_tok, target_tok = tokenizers
    with caplog.at_level(logging.WARNING):
        dataset = make_seq2seq_dataset(
            PAIRS, source_tok, target_tok, batch_size=3,
            max_source_length=6, max_target_length=5, shuffle=False,
        )  # fmt: skip
    assert "skipped 2 of 6" in caplog.text
    assert "3 pairs exceed" in caplog.text and "truncated" in caplog.text
    features, target_out = next(iter(dataset))
    assert features["source_ids"].shape == (3, 6)
    assert features["target_in"].shape == (3, 5)
    assert target_out.shape == (3, 5)
    assert features["source_ids"].dtype.name == "int32"
    rows = _collect(dataset)
    assert len(rows) == 4
    usable = PAIRS[:4]
    for (source, target_in, target_out), (src, tgt) in zip(rows, usable):
        x = _expected_ids(source_tok, src)[:6]
        y = _expected_ids(target_tok, tgt)[:4]
        np.testing.assert_array_equal(source, x + [0] * (6 - len(x)))
        pad = [0] * (5 - len(y) - 1)
        np.testing.assert_array_equal(target_in, [BOS_ID] + y + pad)
        np.testing.assert_array_equal(target_out, y + [EOS_ID] + pad)


def test_drop_over_long(tokenizers, caplog):
    source_tok, target_tok = tokenizers
    with caplog.at_level(logging.WARNING):
        dataset = make_seq2seq_dataset(
            PAIRS, source_tok, target_tok, batch_size=8,
            max_source_length=6, max_target_length=8, shuffle=False,
            drop_over_long=True,
        )  # fmt: skip
    assert "dropped" in caplog.text
    rows = _collect(dataset)
    # Kept: pair 0 (6 source tokens, 6 target tokens + EOS = 7 <= 8) and 1.
    assert len(rows) == 2
    np.testing.assert_array_equal(
        rows[1][2][:5],
        _expected_ids(target_tok, PAIRS[1][1]) + [EOS_ID],
    )


def test_shuffle_is_seeded_and_complete(tokenizers):
    source_tok, target_tok = tokenizers
    pairs = PAIRS[:4] * 5

    def order(seed):
        dataset = make_seq2seq_dataset(
            pairs, source_tok, target_tok, batch_size=4,
            max_source_length=12, max_target_length=12, seed=seed,
        )  # fmt: skip
        return [tuple(r[0]) for r in _collect(dataset)]

    first = order(1)
    assert first == order(1)
    unshuffled = [
        tuple(r[0])
        for r in _collect(
            make_seq2seq_dataset(
                pairs,
                source_tok,
                target_tok,
                batch_size=4,
                max_source_length=12,
                max_target_length=12,
                shuffle=False,
            )  # fmt: skip
        )
    ]
    assert sorted(first) == sorted(unshuffled)
    assert first != unshuffled


def test_bucketing_pads_to_batch_length(tokenizers):
    source_tok, target_tok = tokenizers
    dataset = make_seq2seq_dataset(
        PAIRS[:4] * 4, source_tok, target_tok, batch_size=4,
        max_source_length=20, max_target_length=20, shuffle=False,
        bucket_boundaries=[6, 9],
    )  # fmt: skip
    seen = 0
    for features, target_out in dataset:
        source = features["source_ids"].numpy()
        lengths = (source != 0).sum(1)
        assert source.shape[1] == lengths.max()
        out_lengths = (target_out.numpy() != 0).sum(1)
        assert target_out.shape[1] == out_lengths.max()
        assert features["target_in"].shape == target_out.shape
        seen += source.shape[0]
    assert seen == 16


def test_bad_arguments(tokenizers):
    source_tok, target_tok = tokenizers
    with pytest.raises(ValueError, match="batch_size=0"):
        make_seq2seq_dataset(PAIRS, source_tok, target_tok, 0, 5, 5)
    with pytest.raises(ValueError, match="max_target_length=1"):
        make_seq2seq_dataset(PAIRS, source_tok, target_tok, 2, 5, 1)
    with pytest.raises(ValueError, match="pairs\\[0\\]"):
        make_seq2seq_dataset(["abc"], source_tok, target_tok, 2, 5, 5)
    with pytest.raises(ValueError, match="No usable pair"):
        make_seq2seq_dataset([("", "")], source_tok, target_tok, 2, 5, 5)
    with pytest.raises(ValueError, match="bucket_boundaries"):
        make_seq2seq_dataset(
            PAIRS, source_tok, target_tok, 2, 5, 5, bucket_boundaries=[5, 3]
        )


def test_bucketing_pads_to_bucket_boundary(tokenizers):
    source_tok, target_tok = tokenizers
    pairs = PAIRS[:4] * 4
    dataset = make_seq2seq_dataset(
        pairs, source_tok, target_tok, batch_size=4,
        max_source_length=11, max_target_length=12, shuffle=True,
        bucket_boundaries=[6, 9], pad_to_bucket_boundary=True,
    )  # fmt: skip
    widths = {0: 5, 1: 8, 2: 12}  # boundary - 1; last bucket: max length
    rows = 0
    for features, target_out in dataset:
        source = features["source_ids"].numpy()
        target_in = features["target_in"].numpy()
        length = max((source != 0).sum(1).max(), (target_in != 0).sum(1).max())
        bucket = int(length >= 6) + int(length >= 9)
        assert source.shape[1] == min(widths[bucket], 11)
        assert target_in.shape[1] == min(widths[bucket], 12)
        assert target_out.shape == target_in.shape
        # All rows of a batch belong to the same bucket.
        lengths = np.maximum((source != 0).sum(1), (target_in != 0).sum(1))
        buckets = (lengths >= 6).astype(int) + (lengths >= 9).astype(int)
        assert len(set(buckets.tolist())) == 1
        rows += source.shape[0]
    assert rows == 16


@pytest.mark.parametrize("pad_to_bucket_boundary", [False, True])
def test_batch_tokens_sizes_each_buckets_batches(
    tokenizers, pad_to_bucket_boundary
):
    source_tok, target_tok = tokenizers
    pairs = PAIRS[:4] * 6
    dataset = make_seq2seq_dataset(
        pairs, source_tok, target_tok, batch_size=100,
        max_source_length=20, max_target_length=20, shuffle=False,
        bucket_boundaries=[6, 9], batch_tokens=20,
        pad_to_bucket_boundary=pad_to_bucket_boundary,
    )  # fmt: skip
    # Independently: each pair's bucketing length (the longer of the
    # source and of BOS + target), its bucket, and the batches that a
    # budget of 20 tokens gives widths 5, 8 and 20: 4, 2 and 1 pairs.
    per_bucket_size = {0: 4, 1: 2, 2: 1}
    counts = {0: 0, 1: 0, 2: 0}
    for source, target in pairs:
        length = max(
            len(_expected_ids(source_tok, source)),
            len(_expected_ids(target_tok, target)) + 1,
        )
        counts[int(length >= 6) + int(length >= 9)] += 1
    expected = []
    for bucket, n in counts.items():
        size = per_bucket_size[bucket]
        expected += [(bucket, size)] * (n // size)
        expected += [(bucket, n % size)] if n % size else []
    seen = []
    for features, _ in dataset:
        source = features["source_ids"].numpy()
        target_in = features["target_in"].numpy()
        lengths = np.maximum((source != 0).sum(1), (target_in != 0).sum(1))
        buckets = (lengths >= 6).astype(int) + (lengths >= 9).astype(int)
        assert len(set(buckets.tolist())) == 1
        seen.append((int(buckets[0]), source.shape[0]))
    assert sorted(seen) == sorted(expected)


def test_bucket_batch_sizes():
    # Widths 7, 15 and 40 (the last bucket: the longest length).
    assert bucket_batch_sizes([8, 16], 40, 1000, None) == [1000] * 3
    assert bucket_batch_sizes([8, 16], 40, 1000, 120) == [17, 8, 3]
    assert bucket_batch_sizes([8, 16], 40, 10, 120) == [10, 8, 3]
    with pytest.raises(ValueError, match="longest length \\(40\\)"):
        bucket_batch_sizes([8, 16], 40, 10, 39)
    with pytest.raises(ValueError, match="batch_tokens=0"):
        bucket_batch_sizes([8, 16], 40, 10, 0)


def test_batch_tokens_needs_buckets(tokenizers):
    source_tok, target_tok = tokenizers
    with pytest.raises(ValueError, match="pass `bucket_boundaries` too"):
        make_seq2seq_dataset(
            PAIRS, source_tok, target_tok, 2, 5, 5, batch_tokens=64
        )
    with pytest.raises(ValueError, match="batch_tokens=4"):
        make_seq2seq_dataset(
            PAIRS, source_tok, target_tok, 2, 5, 5, bucket_boundaries=[3],
            batch_tokens=4,
        )  # fmt: skip
