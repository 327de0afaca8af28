"""BertMaskedLMGenerator: the 15% / 80-10-10 masking of BERT."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.models.bert.bert_masked_lm_generator import BertMaskedLMGenerator

SPECIAL = (0, 100, 101, 102, 103)


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
