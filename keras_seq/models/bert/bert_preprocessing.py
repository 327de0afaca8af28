"""BERT input packing, masked-LM masking and next-sentence pairs.

Devlin et al. 2019, sec. 3.1 and appendix A.1 (MATH.md eqs. 14-16).

Why TensorFlow here, unlike the rest of `keras_seq.models`: this module is
the text side of BERT. It consumes the ragged word-piece ids produced by the
`keras_seq.text` tokenizers (`tf.RaggedTensor`) and runs inside `tf.data`
input pipelines and SavedModel serving functions, where the backend-agnostic
`keras.ops` cannot express ragged inputs. The models themselves
(`BertEncoder` and its task heads) are Keras 3 only and take the dense
`token_ids` / `segment_ids` / `padding_mask` produced here.
"""

import numpy as np
import tensorflow as tf

from keras_seq.validation import check_fraction
from keras_seq.validation import check_int

# Ids of the uncased BERT vocabulary (docs/design.md, "Token ids").
BERT_PAD_ID = 0
BERT_UNK_ID = 100
BERT_CLS_ID = 101
BERT_SEP_ID = 102
BERT_MASK_ID = 103

# Labels of the next-sentence task, as in the original BERT and Hugging Face
# (`next_sentence_label`): 0 means B follows A, 1 means B is random.
IS_NEXT = 0
NOT_NEXT = 1


def _to_ragged(ids, name):
    """Returns `(ragged int32 ids of rank 2, was_unbatched)`."""
    if isinstance(ids, tf.RaggedTensor):
        ragged = ids
    else:
        if (
            isinstance(ids, (list, tuple))
            and ids
            and all(isinstance(row, (list, tuple, np.ndarray)) for row in ids)
        ):
            ragged = tf.ragged.constant([list(row) for row in ids])
        else:
            ragged = tf.convert_to_tensor(ids)
            if ragged.shape.rank == 2:
                ragged = tf.RaggedTensor.from_tensor(ragged)
    rank = ragged.shape.rank
    if rank not in (1, 2):
        raise ValueError(
            f"`{name}` must be a rank-1 (one sequence) or rank-2 (batch of "
            f"sequences) tensor of token ids. Received: {name} with "
            f"shape={ragged.shape}"
        )
    if not (ragged.dtype.is_integer):
        raise ValueError(
            f"`{name}` must hold integer token ids. Received: {name} with "
            f"dtype={ragged.dtype.name}"
        )
    unbatched = rank == 1
    if unbatched:
        ragged = tf.RaggedTensor.from_tensor(ragged[tf.newaxis, :])
    return tf.cast(ragged, tf.int32), unbatched


def _ragged_positions(ragged):
    """int32 ragged tensor holding 0, 1, .. in each row of `ragged`."""
    return tf.ragged.range(tf.cast(ragged.row_lengths(), tf.int32))


def truncate_pair_lengths(length_a, length_b, max_length):
    """Lengths of two segments after longest-first truncation.

    Word pieces are removed one at a time from the end of the longer segment
    (from `a` when both are equally long, as the Hugging Face `BertTokenizer`
    does with `truncation="longest_first"`) until `a + b <= max_length`. The
    result is computed in closed form: the shorter segment is kept whole if it
    fits in its half of the budget, else both get half (`a` the floor half).

    Args:
        length_a: int32 tensor `(batch_size,)`, lengths of the first segments.
        length_b: int32 tensor `(batch_size,)`, lengths of the second ones.
        max_length: int, the word-piece budget for both segments together.

    Returns:
        `(new_length_a, new_length_b)`, int32 tensors `(batch_size,)`.
    """
    length_a = tf.cast(length_a, tf.int32)
    length_b = tf.cast(length_b, tf.int32)
    half_a = max_length // 2
    half_b = max_length - half_a
    fits = length_a + length_b <= max_length
    new_a = tf.where(
        fits | (length_a <= half_a),
        length_a,
        tf.where(length_b <= half_b, max_length - length_b, half_a),
    )
    new_b = tf.where(
        fits | (length_b <= half_b),
        length_b,
        tf.where(length_a <= half_a, max_length - length_a, half_b),
    )
    return new_a, new_b


class BertInputPacker:
    """Packs word-piece ids as `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.

    MATH.md eq. 14. Segment ids are 0 for `[CLS] A [SEP]` and 1 for `B [SEP]`;
    a pair longer than `sequence_length` is truncated longest-first
    (`truncate_pair_lengths`), a single segment from its end. The output is
    padded with `pad_id` to exactly `sequence_length`. Runs in graph (inside
    `tf.data` and SavedModel functions).

    Args:
        sequence_length: int, length of the packed sequences, special tokens
            included (`>= 3`).
        cls_id: int, id of `[CLS]`.
        sep_id: int, id of `[SEP]`.
        pad_id: int, id of `[PAD]`.

    Call arguments:
        segment_a: ragged or dense int tensor of word-piece ids,
            `(batch_size, None)` or one sequence `(None,)`.
        segment_b: optional, the same for the second segments.

    Returns:
        Dict with `token_ids` and `segment_ids` (int32) and `padding_mask`
        (bool), each `(batch_size, sequence_length)` (or
        `(sequence_length,)` for one unbatched sequence).

    Example:
        >>> packer = BertInputPacker(sequence_length=8)
        >>> packer(tf.ragged.constant([[7, 8]]))["token_ids"].numpy()
        array([[101,   7,   8, 102,   0,   0,   0,   0]], dtype=int32)
    """

    def __init__(
        self,
        sequence_length,
        cls_id=BERT_CLS_ID,
        sep_id=BERT_SEP_ID,
        pad_id=BERT_PAD_ID,
    ):
        check_int("sequence_length", sequence_length, minimum=3)
        check_int("cls_id", cls_id, minimum=0)
        check_int("sep_id", sep_id, minimum=0)
        check_int("pad_id", pad_id, minimum=0)
        self.sequence_length = int(sequence_length)
        self.cls_id = int(cls_id)
        self.sep_id = int(sep_id)
        self.pad_id = int(pad_id)

    def __call__(self, segment_a, segment_b=None):
        a, unbatched = _to_ragged(segment_a, "segment_a")
        batch = a.nrows()
        cls = tf.fill([batch, 1], self.cls_id)
        sep = tf.fill([batch, 1], self.sep_id)
        if segment_b is None:
            a = a[:, : self.sequence_length - 2]
            token_ids = tf.concat([cls, a, sep], axis=1)
            segment_ids = tf.zeros_like(token_ids)
        else:
            b, unbatched_b = _to_ragged(segment_b, "segment_b")
            if unbatched_b != unbatched:
                raise ValueError(
                    "`segment_a` and `segment_b` must both be batched or both "
                    f"unbatched. Received: segment_a with rank "
                    f"{2 - unbatched}, segment_b with rank {2 - unbatched_b}"
                )
            length_a, length_b = truncate_pair_lengths(
                a.row_lengths(), b.row_lengths(), self.sequence_length - 3
            )
            # Keep the first `length` pieces of each row.
            a = tf.ragged.boolean_mask(
                a, _ragged_positions(a) < length_a[:, None]
            )
            b = tf.ragged.boolean_mask(
                b, _ragged_positions(b) < length_b[:, None]
            )
            first = tf.concat([cls, a, sep], axis=1)
            second = tf.concat([b, sep], axis=1)
            token_ids = tf.concat([first, second], axis=1)
            segment_ids = tf.concat(
                [tf.zeros_like(first), tf.ones_like(second)], axis=1
            )
        shape = [None, self.sequence_length]
        padding_mask = tf.ones_like(token_ids, dtype=tf.bool).to_tensor(
            default_value=False, shape=shape
        )
        token_ids = token_ids.to_tensor(default_value=self.pad_id, shape=shape)
        segment_ids = segment_ids.to_tensor(default_value=0, shape=shape)
        outputs = {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": padding_mask,
        }
        if unbatched:
            outputs = {k: v[0] for k, v in outputs.items()}
        return outputs


class BertMaskedLMGenerator:
    """Masks word pieces for the masked-LM task (MATH.md eq. 15).

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


def make_next_sentence_pairs(first, second, seed=0):
    """Builds next-sentence pairs (MATH.md eq. 16).

    `second[i]` must be the text that truly follows `first[i]`. For each `i`,
    with probability 1/2 the pair is `(first[i], second[i])` labelled
    `IS_NEXT` (0), otherwise `(first[i], second[j])` with a random `j != i`
    labelled `NOT_NEXT` (1).

    Args:
        first: sequence of `n >= 2` items (texts or token id lists).
        second: sequence of `n` items, the true continuations.
        seed: int, seed of the NumPy generator.

    Returns:
        `(first, second_or_random, labels)`: two lists and an int32 NumPy
        array of shape `(n,)`.
    """
    if len(first) != len(second):
        raise ValueError(
            "`first` and `second` must have the same length. Received: "
            f"len(first)={len(first)}, len(second)={len(second)}"
        )
    n = len(first)
    if n < 2:
        raise ValueError(
            f"At least two pairs are needed to draw a random sentence. "
            f"Received: len(first)={n}"
        )
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random(n) < 0.5, IS_NEXT, NOT_NEXT).astype(np.int32)
    # A random j != i: draw from n - 1 values and skip i.
    others = rng.integers(0, n - 1, size=n)
    others = others + (others >= np.arange(n))
    chosen = [
        second[i] if labels[i] == IS_NEXT else second[others[i]]
        for i in range(n)
    ]
    return list(first), chosen, labels


def span_texts(tokenizer, token_ids, start, end, found=None):
    """The text of each decoded answer span, by detokenization.

    Args:
        tokenizer: the `keras_seq.text.WordPieceTokenizer` of the model.
        token_ids: int tensor `(batch_size, sequence_length)`, packed inputs.
        start: int tensor `(batch_size,)`, first token of each span.
        end: int tensor `(batch_size,)`, last token (inclusive).
        found: optional bool tensor `(batch_size,)`; rows without a span
            give an empty string.

    Returns:
        tf.string `(batch_size,)`: the span's word pieces joined (continuation
        pieces merged), lower-cased for an uncased vocabulary.
    """
    token_ids = tf.convert_to_tensor(token_ids)
    start = tf.cast(start, token_ids.dtype)
    end = tf.cast(end, token_ids.dtype)
    positions = tf.range(tf.shape(token_ids)[1], dtype=token_ids.dtype)
    inside = (positions[None, :] >= start[:, None]) & (
        positions[None, :] <= end[:, None]
    )
    if found is not None:
        inside = inside & tf.cast(found, tf.bool)[:, None]
    # Padding ids are dropped by `detokenize`.
    ids = tf.where(
        inside, token_ids, tf.cast(tokenizer.pad_id, token_ids.dtype)
    )
    return tokenizer.detokenize(ids)
