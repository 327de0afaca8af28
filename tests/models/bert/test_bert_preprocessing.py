"""Packing, longest-first truncation, MLM masking and NSP pairs."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.models.bert.bert_preprocessing import IS_NEXT
from keras_seq.models.bert.bert_preprocessing import NOT_NEXT
from keras_seq.models.bert.bert_preprocessing import BertInputPacker
from keras_seq.models.bert.bert_preprocessing import BertMaskedLMGenerator
from keras_seq.models.bert.bert_preprocessing import make_next_sentence_pairs
from keras_seq.models.bert.bert_preprocessing import truncate_pair_lengths

FIXTURE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "fixtures",
    "bert",
    "minilm_reference.npz",
)
SPECIAL = (0, 100, 101, 102, 103)


def reference_truncate(a, b, budget):
    """Pops one piece at a time from the longer list (a on ties)."""
    a, b = list(a), list(b)
    while len(a) + len(b) > budget:
        if len(a) >= len(b):
            a.pop()
        else:
            b.pop()
    return a, b


def test_truncate_pair_lengths_matches_one_at_a_time_loop():
    rng = np.random.default_rng(0)
    la = rng.integers(0, 30, size=500)
    lb = rng.integers(0, 30, size=500)
    for budget in (0, 1, 5, 13, 20, 60):
        new_a, new_b = truncate_pair_lengths(la, lb, budget)
        expected = [
            tuple(map(len, reference_truncate(range(x), range(y), budget)))
            for x, y in zip(la, lb)
        ]
        np.testing.assert_array_equal(
            np.stack([new_a, new_b], 1), np.array(expected)
        )


def test_pack_single_and_pair_by_hand():
    packer = BertInputPacker(sequence_length=8)
    single = packer(tf.ragged.constant([[7, 8], [1, 2, 3, 4, 5, 6, 7, 8]]))
    np.testing.assert_array_equal(
        single["token_ids"],
        [[101, 7, 8, 102, 0, 0, 0, 0], [101, 1, 2, 3, 4, 5, 6, 102]],
    )
    np.testing.assert_array_equal(single["segment_ids"], np.zeros((2, 8)))
    np.testing.assert_array_equal(
        single["padding_mask"],
        [[1, 1, 1, 1, 0, 0, 0, 0], [1] * 8],
    )
    pair = packer(tf.ragged.constant([[7, 8]]), tf.ragged.constant([[9]]))
    np.testing.assert_array_equal(
        pair["token_ids"], [[101, 7, 8, 102, 9, 102, 0, 0]]
    )
    np.testing.assert_array_equal(
        pair["segment_ids"], [[0, 0, 0, 0, 1, 1, 0, 0]]
    )
    np.testing.assert_array_equal(
        pair["padding_mask"], [[1, 1, 1, 1, 1, 1, 0, 0]]
    )
    # One unbatched sequence, in a tf.data map.
    dataset = tf.data.Dataset.from_tensor_slices([[5, 6, 7]]).map(
        lambda ids: packer(ids, ids)["token_ids"]
    )
    np.testing.assert_array_equal(
        next(iter(dataset)), [101, 5, 6, 102, 5, 6, 7, 102]
    )


def test_packing_of_the_reference_tokenizer_pieces_matches_hugging_face():
    """HF ids with padding and longest-first pair truncation."""
    ref = np.load(FIXTURE)
    ids, mask = ref["single_token_ids"], ref["single_attention_mask"]
    pieces = [row[m][1:-1] for row, m in zip(ids, mask)]
    packed = BertInputPacker(ids.shape[1])(tf.ragged.constant(pieces))
    np.testing.assert_array_equal(packed["token_ids"], ids)
    np.testing.assert_array_equal(
        packed["segment_ids"], ref["single_segment_ids"]
    )
    np.testing.assert_array_equal(packed["padding_mask"], mask)


def test_packer_bad_arguments():
    with pytest.raises(ValueError, match="sequence_length=2"):
        BertInputPacker(sequence_length=2)
    with pytest.raises(ValueError, match="segment_a"):
        BertInputPacker(8)(tf.zeros([2, 2, 2], tf.int32))
    with pytest.raises(ValueError, match="dtype=float32"):
        BertInputPacker(8)(tf.ragged.constant([[1.0, 2.0]]))


def random_batch(rng, batch=64, length=32, vocab=1000):
    """[CLS] A [SEP] B [SEP] + padding, with some [UNK] inside."""
    token_ids = np.zeros((batch, length), np.int32)
    mask = np.zeros((batch, length), bool)
    for row in range(batch):
        n = int(rng.integers(4, length + 1))
        ids = rng.integers(104, vocab, size=n)
        ids[0], ids[-1] = 101, 102
        ids[n // 2] = 102
        ids[rng.integers(1, n - 1)] = 100
        token_ids[row, :n] = ids
        mask[row, :n] = True
    return token_ids, mask


def test_masking_rates_over_many_draws():
    rng = np.random.default_rng(1)
    vocab = 1000
    token_ids, mask = random_batch(rng, vocab=vocab)
    generator = BertMaskedLMGenerator(vocab, max_predictions=32)
    eligible = mask & ~np.isin(token_ids, SPECIAL)
    chosen_total = eligible_total = 0
    counts = {"mask": 0, "random": 0, "same": 0}
    for draw in range(100):
        out = generator(token_ids, mask, seed=[draw, 3])
        positions = out["mask_positions"].numpy()
        weights = out["mask_weights"].numpy().astype(bool)
        masked = out["token_ids"].numpy()
        rows = np.repeat(np.arange(len(token_ids))[:, None], 32, 1)[weights]
        cols = positions[weights]
        # Only eligible tokens are chosen, never specials or padding.
        assert eligible[rows, cols].all()
        # Labels are the original ids at the chosen positions.
        np.testing.assert_array_equal(
            out["mask_ids"].numpy()[weights], token_ids[rows, cols]
        )
        assert (out["mask_ids"].numpy()[~weights] == 0).all()
        # Positions not chosen are unchanged.
        chosen = np.zeros_like(mask)
        chosen[rows, cols] = True
        np.testing.assert_array_equal(masked[~chosen], token_ids[~chosen])
        new = masked[rows, cols]
        old = token_ids[rows, cols]
        is_mask = new == 103
        same = new == old
        counts["mask"] += int(is_mask.sum())
        counts["same"] += int(same.sum())
        counts["random"] += int((~is_mask & ~same).sum())
        # Random replacements are never special tokens.
        assert not np.isin(new[~is_mask], SPECIAL).any()
        chosen_total += int(weights.sum())
        eligible_total += int(eligible.sum())

    def within(count, n, p):
        sd = np.sqrt(n * p * (1 - p))
        return abs(count - n * p) < 4.5 * sd

    assert within(chosen_total, eligible_total, 0.15), (
        chosen_total / eligible_total
    )
    # A random token equal to the original counts as "same": its
    # probability is 0.1 * 1 / (vocab - 5).
    p_same = 0.1 + 0.1 / (vocab - len(SPECIAL))
    assert within(counts["mask"], chosen_total, 0.8), counts
    assert within(counts["same"], chosen_total, p_same), counts
    assert within(counts["random"], chosen_total, 1 - 0.8 - p_same), counts


def test_masking_is_seeded_and_caps_predictions():
    rng = np.random.default_rng(2)
    token_ids, mask = random_batch(rng, batch=8)
    generator = BertMaskedLMGenerator(
        1000, max_predictions=2, mask_selection_rate=0.9
    )
    a = generator(token_ids, mask, seed=[5, 6])
    b = generator(token_ids, mask, seed=[5, 6])
    c = generator(token_ids, mask, seed=[5, 7])
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["token_ids"], c["token_ids"])
    assert a["mask_positions"].shape == (8, 2)
    # With rate 0.9 every row has > 2 draws: exactly 2 kept, increasing.
    assert (a["mask_weights"].numpy() == 1).all()
    assert (np.diff(a["mask_positions"].numpy(), axis=1) > 0).all()


def test_masking_in_a_tf_function_with_dataset_seeds():
    rng = np.random.default_rng(3)
    token_ids, mask = random_batch(rng, batch=4)
    generator = BertMaskedLMGenerator(1000, max_predictions=8)
    dataset = (
        tf.data.Dataset.from_tensor_slices((token_ids, mask))
        .batch(2)
        .enumerate()
        .map(lambda i, x: generator(x[0], x[1], seed=tf.stack([i, 0])))
    )
    first = [d["token_ids"].numpy() for d in dataset]
    second = [d["token_ids"].numpy() for d in dataset]
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)


def test_masking_bad_arguments():
    with pytest.raises(ValueError, match="max_predictions=0"):
        BertMaskedLMGenerator(100, max_predictions=0)
    with pytest.raises(ValueError, match="mask_selection_rate=1.5"):
        BertMaskedLMGenerator(100, 4, mask_selection_rate=1.5)
    with pytest.raises(ValueError, match="random_token_rate=0.5"):
        BertMaskedLMGenerator(
            100, 4, mask_token_rate=0.8, random_token_rate=0.5
        )
    with pytest.raises(ValueError, match="special_token_ids"):
        BertMaskedLMGenerator(50, 4)  # 100..103 are outside the vocabulary
    generator = BertMaskedLMGenerator(200, 4)
    with pytest.raises(ValueError, match="padding_mask"):
        generator(np.ones((2, 3), np.int32), np.ones((2, 3), np.int32))
    with pytest.raises(ValueError, match="token_ids"):
        generator(np.ones((3,), np.int32), np.ones((3,), bool))


def test_next_sentence_pairs():
    n = 4000
    first = [f"a{i}" for i in range(n)]
    second = [f"b{i}" for i in range(n)]
    a, b, labels = make_next_sentence_pairs(first, second, seed=0)
    assert a == first
    is_next = labels == IS_NEXT
    assert abs(is_next.mean() - 0.5) < 4.5 * np.sqrt(0.25 / n)
    for i in range(n):
        if labels[i] == IS_NEXT:
            assert b[i] == second[i]
        else:
            assert labels[i] == NOT_NEXT
            assert b[i] != second[i] and b[i] in second
    _, b2, labels2 = make_next_sentence_pairs(first, second, seed=0)
    assert b2 == b and (labels2 == labels).all()
    with pytest.raises(ValueError, match="len"):
        make_next_sentence_pairs(first, second[:-1])
    with pytest.raises(ValueError, match="len"):
        make_next_sentence_pairs(["x"], ["y"])
