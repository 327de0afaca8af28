"""Answer-span scoring and decoding for BERT (Devlin et al. 2019, sec. 4.2).

With start vector S and end vector E, the start logit of
token i is S.T_i and the end logit E.T_i. Only paragraph tokens are eligible
(segment 1, inside the padding mask, not `[CLS]`/`[SEP]`):

    P_i(start) = exp(S.T_i) / sum_{j in paragraph} exp(S.T_j)
    score(i, j) = S.T_i + E.T_j,   j >= i,  j - i < max_answer_length
    P_ij = exp(score(i, j)) / sum over eligible (i', j') of exp(score(i', j'))

All functions use `keras.ops` so they run in graph on any backend, inside
`jit_compile` and in SavedModel serving functions.
"""

from keras import ops

from keras_seq.validation import check_int

# Added to the logits of ineligible positions. Finite (not -inf) so that a
# fully masked row gives a uniform softmax that we then zero, never NaN.
_NEG = -1e9


def paragraph_mask(token_ids, segment_ids, padding_mask, special_token_ids):
    """Which tokens may start or end an answer.

    Args:
        token_ids: int tensor `(batch_size, sequence_length)`.
        segment_ids: int tensor `(batch_size, sequence_length)`, 1 marks the
            paragraph (segment B of `[CLS] question [SEP] paragraph [SEP]`).
        padding_mask: bool tensor `(batch_size, sequence_length)`.
        special_token_ids: ints (`[CLS]`, `[SEP]`, `[PAD]`, ...) never
            eligible.

    Returns:
        bool tensor `(batch_size, sequence_length)`.
    """
    mask = ops.logical_and(
        ops.cast(padding_mask, "bool"), ops.equal(segment_ids, 1)
    )
    for special in special_token_ids:
        mask = ops.logical_and(mask, ops.not_equal(token_ids, special))
    return mask


def masked_logits(logits, mask):
    """float32 logits with ineligible positions set to a large negative."""
    logits = ops.cast(logits, "float32")
    return ops.where(mask, logits, ops.full_like(logits, _NEG))


def start_probabilities(start_logits, mask):
    """P_i(start) of eq. 18: softmax of S.T_i over the paragraph tokens.

    Args:
        start_logits: float tensor `(batch_size, sequence_length)`.
        mask: bool tensor `(batch_size, sequence_length)`, paragraph tokens.

    Returns:
        float32 `(batch_size, sequence_length)`, zero off the paragraph (and
        all zero for a row without paragraph tokens).
    """
    probs = ops.softmax(masked_logits(start_logits, mask), axis=-1)
    return ops.where(mask, probs, ops.zeros_like(probs))


def span_mask(mask, max_answer_length):
    """Eligible spans: both ends in the paragraph, j >= i, j - i < L.

    Args:
        mask: bool tensor `(batch_size, sequence_length)`.
        max_answer_length: int, the maximum number of tokens in a span.

    Returns:
        bool tensor `(batch_size, sequence_length, sequence_length)`, entry
        `[b, i, j]` true when span `(i, j)` is eligible.
    """
    max_answer_length = check_int("max_answer_length", max_answer_length)
    length = ops.shape(mask)[1]
    i = ops.arange(length)[:, None]
    j = ops.arange(length)[None, :]
    band = ops.logical_and(j >= i, j - i < max_answer_length)  # (T, T)
    return ops.logical_and(
        ops.logical_and(mask[:, :, None], mask[:, None, :]), band[None]
    )


def span_scores(start_logits, end_logits, mask, max_answer_length):
    """score(i, j) = S.T_i + E.T_j, large negative where ineligible.

    Returns:
        float32 `(batch_size, sequence_length, sequence_length)`.
    """
    start = ops.cast(start_logits, "float32")
    end = ops.cast(end_logits, "float32")
    scores = start[:, :, None] + end[:, None, :]
    eligible = span_mask(mask, max_answer_length)
    return ops.where(eligible, scores, ops.full_like(scores, _NEG))


def span_probabilities(start_logits, end_logits, mask, max_answer_length):
    """P_ij of eq. 18, normalized over the eligible spans.

    With `max_answer_length >= sequence_length` this is exactly eq. 18 (all
    paragraph spans with j >= i).

    Returns:
        float32 `(batch_size, sequence_length, sequence_length)`, zero for
        ineligible spans (all zero when a row has none).
    """
    scores = span_scores(start_logits, end_logits, mask, max_answer_length)
    batch = ops.shape(scores)[0]
    flat = ops.reshape(scores, (batch, -1))  # (B, T * T)
    probs = ops.reshape(ops.softmax(flat, axis=-1), ops.shape(scores))
    eligible = span_mask(mask, max_answer_length)
    return ops.where(eligible, probs, ops.zeros_like(probs))


def best_span(start_logits, end_logits, mask, max_answer_length):
    """The eligible span with the highest score S.T_i + E.T_j.

    Args:
        start_logits: float tensor `(batch_size, sequence_length)`.
        end_logits: float tensor `(batch_size, sequence_length)`.
        mask: bool tensor `(batch_size, sequence_length)`, paragraph tokens.
        max_answer_length: int, maximum number of tokens in the answer.

    Returns:
        Dict with int32 `start` and `end` `(batch_size,)` (token positions,
        `start <= end`), float32 `score` `(batch_size,)` and bool `found`
        `(batch_size,)`, false for a row without paragraph tokens (its start
        and end are then 0).
    """
    scores = span_scores(start_logits, end_logits, mask, max_answer_length)
    length = ops.shape(scores)[1]
    batch = ops.shape(scores)[0]
    flat = ops.reshape(scores, (batch, -1))  # (B, T * T)
    index = ops.cast(ops.argmax(flat, axis=-1), "int32")
    score = ops.max(flat, axis=-1)
    found = ops.any(
        ops.reshape(span_mask(mask, max_answer_length), (batch, -1)), axis=-1
    )
    start = ops.where(found, index // length, ops.zeros_like(index))
    end = ops.where(found, index % length, ops.zeros_like(index))
    return {"start": start, "end": end, "score": score, "found": found}


__all__ = [
    "best_span",
    "masked_logits",
    "paragraph_mask",
    "span_mask",
    "span_probabilities",
    "span_scores",
    "start_probabilities",
]
