"""BertInputPacker and longest-first truncation, against Hugging Face."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.models.bert.bert_input_packer import BertInputPacker
from keras_seq.models.bert.bert_input_packer import truncate_pair_lengths

FIXTURE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "fixtures",
    "bert",
    "minilm_reference.npz",
)


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
