"""BERT input packing: `[CLS] A [SEP] (B [SEP])` with segment ids.

Devlin et al. 2019, sec. 3 ("Input/Output Representations") and fig. 2.

Why TensorFlow here, unlike the rest of `keras_seq.models`: this is the text
side of BERT. It consumes the ragged word-piece ids produced by the
`keras_seq.text` tokenizers (`tf.RaggedTensor`) and runs inside `tf.data`
input pipelines and SavedModel serving functions, where the backend-agnostic
`keras.ops` cannot express ragged inputs. The models themselves
(`BertEncoder` and its task heads) are Keras 3 only and take the dense
`token_ids` / `segment_ids` / `padding_mask` produced here.
"""

import numpy as np
import tensorflow as tf

from keras_seq.validation import check_int

# Ids of the uncased BERT vocabulary (docs/design.md, "Token ids").
BERT_PAD_ID = 0
BERT_UNK_ID = 100
BERT_CLS_ID = 101
BERT_SEP_ID = 102
BERT_MASK_ID = 103


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

    Devlin et al. 2019, sec. 3 and fig. 2. Segment ids are 0 for
    `[CLS] A [SEP]` and 1 for `B [SEP]`;
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
