"""Masked-LM inputs and labels: the 15% / 80-10-10 masking of BERT.

Devlin et al. 2019, sec. 3.1 ("Task #1: Masked LM") and appendix A.1. Runs
in TensorFlow graphs (`tf.data`), like `bert_input_packer`.
"""

import tensorflow as tf

from keras_seq.models.bert.bert_input_packer import BERT_CLS_ID
from keras_seq.models.bert.bert_input_packer import BERT_MASK_ID
from keras_seq.models.bert.bert_input_packer import BERT_PAD_ID
from keras_seq.models.bert.bert_input_packer import BERT_SEP_ID
from keras_seq.models.bert.bert_input_packer import BERT_UNK_ID
from keras_seq.validation import check_fraction
from keras_seq.validation import check_int


class BertMaskedLMGenerator:
    """Masks word pieces for the masked-LM task (Devlin et al. 2019 sec. 3.1).

    Each eligible token (inside the padding mask and not a special token) is
    chosen independently with probability `mask_selection_rate` (15%), so the
    number chosen in a batch is binomial with mean 15% of the eligible tokens.
    Of the chosen tokens 80% (`mask_token_rate`) become `[MASK]`, 10%
    (`random_token_rate`) a random non-special token drawn uniformly from the
    vocabulary, and the rest stay unchanged (Devlin et al. 2019, sec. 3.1 and
    appendix A.1). The labels are the original ids at the chosen positions.

    At most `max_predictions` tokens per sequence are chosen; if more are
    drawn a uniformly random subset of `max_predictions` of them is kept, so
    set it to about `ceil(0.15 * sequence_length)` plus a margin (with
    `max_predictions = sequence_length` nothing is ever dropped).

    Randomness is stateless: the draws are a function of `seed` only, which
    makes the masking reproducible in graph and in `tf.data` (pass e.g.
    `tf.stack([base_seed, element_index])`).

    Args:
        vocabulary_size: int, size of the word-piece vocabulary.
        max_predictions: int, positions returned per sequence.
        mask_selection_rate: float, probability to choose an eligible token.
        mask_token_rate: float, fraction of chosen tokens set to `[MASK]`.
        random_token_rate: float, fraction set to a random token.
        mask_token_id: int, id of `[MASK]`.
        special_token_ids: ints never chosen and never drawn as random
            tokens (`[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` by default).

    Call arguments:
        token_ids: int tensor `(batch_size, sequence_length)`.
        padding_mask: bool tensor `(batch_size, sequence_length)`.
        seed: int tensor of shape `(2,)` for the stateless random ops;
            `None` draws a fresh seed.

    Returns:
        Dict with
        `token_ids`: int32 `(batch_size, sequence_length)`, the masked input;
        `mask_positions`: int32 `(batch_size, max_predictions)`, chosen
        positions in increasing order, padded with 0;
        `mask_ids`: int32 `(batch_size, max_predictions)`, the original ids
        there (the labels), padded with 0;
        `mask_weights`: float32 `(batch_size, max_predictions)`, 1 for a real
        prediction and 0 for padding.
    """

    def __init__(
        self,
        vocabulary_size,
        max_predictions,
        mask_selection_rate=0.15,
        mask_token_rate=0.8,
        random_token_rate=0.1,
        mask_token_id=BERT_MASK_ID,
        special_token_ids=(
            BERT_PAD_ID,
            BERT_UNK_ID,
            BERT_CLS_ID,
            BERT_SEP_ID,
            BERT_MASK_ID,
        ),
    ):
        check_int("vocabulary_size", vocabulary_size)
        check_int("max_predictions", max_predictions)
        check_fraction(
            "mask_selection_rate", mask_selection_rate, include_one=True
        )
        check_fraction("mask_token_rate", mask_token_rate, include_one=True)
        check_fraction("random_token_rate", random_token_rate, include_one=True)
        if mask_token_rate + random_token_rate > 1.0:
            raise ValueError(
                "`mask_token_rate + random_token_rate` must be <= 1. "
                f"Received: mask_token_rate={mask_token_rate}, "
                f"random_token_rate={random_token_rate}"
            )
        check_int("mask_token_id", mask_token_id, minimum=0)
        special = sorted({int(i) for i in special_token_ids})
        if any(i < 0 or i >= vocabulary_size for i in special):
            raise ValueError(
                "`special_token_ids` must be ids in [0, vocabulary_size). "
                f"Received: special_token_ids={list(special_token_ids)}"
            )
        if len(special) >= vocabulary_size:
            raise ValueError(
                "The vocabulary must have at least one non-special token. "
                f"Received: vocabulary_size={vocabulary_size}"
            )
        self.vocabulary_size = int(vocabulary_size)
        self.max_predictions = int(max_predictions)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.mask_token_id = int(mask_token_id)
        self.special_token_ids = special

    def _random_tokens(self, shape, seed):
        """Uniform ids over the vocabulary minus the special ids."""
        num_regular = self.vocabulary_size - len(self.special_token_ids)
        ids = tf.random.stateless_uniform(
            shape, seed, minval=0, maxval=num_regular, dtype=tf.int32
        )
        # Shift past each special id in increasing order: a bijection from
        # [0, num_regular) onto the non-special ids.
        for special in self.special_token_ids:
            ids = ids + tf.cast(ids >= special, tf.int32)
        return ids

    def __call__(self, token_ids, padding_mask, seed=None):
        token_ids = tf.convert_to_tensor(token_ids)
        padding_mask = tf.convert_to_tensor(padding_mask)
        if token_ids.shape.rank != 2:
            raise ValueError(
                "`token_ids` must be a dense rank-2 tensor (batch_size, "
                f"sequence_length). Received: token_ids with "
                f"shape={token_ids.shape}"
            )
        if padding_mask.dtype != tf.bool:
            raise ValueError(
                "`padding_mask` must be a bool tensor. Received: padding_mask "
                f"with dtype={padding_mask.dtype.name}"
            )
        token_ids = tf.cast(token_ids, tf.int32)
        if seed is None:
            seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
        seed = tf.cast(seed, tf.int64)
        select_seed, action_seed, random_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 3)
        )
        shape = tf.shape(token_ids)
        length = shape[1]

        special = tf.constant(self.special_token_ids, tf.int32)
        is_special = tf.reduce_any(
            token_ids[:, :, None] == special[None, None, :], axis=-1
        )
        eligible = padding_mask & ~is_special

        # Eq. 15: choose each eligible token with probability 15%.
        u = tf.random.stateless_uniform(shape, select_seed)
        chosen = eligible & (u < self.mask_selection_rate)
        # Given `chosen`, u is uniform on [0, rate): the k chosen tokens with
        # the smallest u are a uniformly random subset of size k.
        priority = tf.where(chosen, u, 2.0)
        k = tf.minimum(self.max_predictions, length)
        _, positions = tf.math.top_k(-priority, k=k)
        weights = tf.gather(chosen, positions, batch_dims=1)
        # Sort the kept positions, send unused slots to the end.
        positions = tf.sort(tf.where(weights, positions, length), axis=-1)
        weights = positions < length
        positions = tf.where(weights, positions, 0)
        pad = self.max_predictions - k
        positions = tf.pad(positions, [[0, 0], [0, pad]])
        weights = tf.pad(weights, [[0, 0], [0, pad]])
        positions = tf.ensure_shape(positions, [None, self.max_predictions])
        weights = tf.ensure_shape(weights, [None, self.max_predictions])
        selected = tf.reduce_any(
            tf.one_hot(positions, length, on_value=True, off_value=False)
            & weights[:, :, None],
            axis=1,
        )

        # 80% [MASK], 10% random token, 10% unchanged.
        v = tf.random.stateless_uniform(shape, action_seed)
        to_mask = selected & (v < self.mask_token_rate)
        to_random = (
            selected
            & (v >= self.mask_token_rate)
            & (v < self.mask_token_rate + self.random_token_rate)
        )
        masked = tf.where(to_mask, self.mask_token_id, token_ids)
        masked = tf.where(
            to_random, self._random_tokens(shape, random_seed), masked
        )
        mask_ids = tf.gather(token_ids, positions, batch_dims=1)
        mask_ids = tf.where(weights, mask_ids, 0)
        return {
            "token_ids": masked,
            "mask_positions": positions,
            "mask_ids": mask_ids,
            "mask_weights": tf.cast(weights, tf.float32),
        }
