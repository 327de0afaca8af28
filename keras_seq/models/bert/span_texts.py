"""The text of decoded answer spans (the TensorFlow side of span decoding).

`span_decoding` picks the span `(i, j)` from the start and end logits with
`keras.ops`; this turns the chosen word pieces back into text with the
`keras_seq.text` tokenizer, in graph, for the serving signatures.
"""

import tensorflow as tf


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
