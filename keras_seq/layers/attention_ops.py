"""Functions of scaled dot-product attention (Vaswani et al. 2017 sec. 3.2).

Small named functions, one per idea of the paper, shared by
`MultiHeadAttention` and the Transformer layers:

- `causal_mask`: position i may attend only to positions <= i (sec. 3.2.3).
- `padding_to_attention_mask`: a `(batch, S)` padding mask as a
  `(batch, 1, S)` attention mask.
- `merge_masks`: logical AND of any number of broadcastable boolean masks.
- `masked_softmax`: the softmax of every attention layer of the package
  (also `SourceAttention`'s), in float32, exactly zero at masked positions.
- `scaled_dot_product_attention`: softmax(Q K^T / sqrt(d_k)) V (eq. 1) with a
  boolean mask, in which a fully masked query row yields zeros (never NaN).

All masks are boolean; `True` means "may attend".
"""

import math

from keras import ops


def causal_mask(query_length, key_length=None, start_index=0):
    """Boolean lower-triangular mask (Vaswani et al. 2017 sec. 3.2.3).

    Query row `i` stands for absolute position `start_index + i`; it may
    attend to key position `j` iff `j <= start_index + i`. With a key/value
    cache of length `key_length` and one new query at `start_index = step`,
    this masks the not-yet-written cache slots.

    Args:
        query_length: int (or scalar tensor), number of query positions T.
        key_length: int (or scalar tensor), number of key positions S.
            Defaults to `query_length`.
        start_index: int or int scalar tensor, absolute position of the first
            query.

    Returns:
        Boolean tensor of shape `(1, query_length, key_length)`.
    """
    if key_length is None:
        key_length = query_length
    query_positions = ops.arange(query_length, dtype="int32") + ops.cast(
        start_index, "int32"
    )
    key_positions = ops.arange(key_length, dtype="int32")
    mask = ops.expand_dims(query_positions, 1) >= ops.expand_dims(
        key_positions, 0
    )
    return ops.expand_dims(mask, 0)


def padding_to_attention_mask(padding_mask):
    """Turns a key padding mask `(batch, S)` into `(batch, 1, S)`."""
    if padding_mask is None:
        return None
    return ops.expand_dims(ops.cast(padding_mask, "bool"), 1)


def merge_masks(*masks):
    """Logical AND of boolean masks broadcastable to `(batch, T, S)`.

    `None` entries are ignored; returns `None` when every mask is `None`.
    """
    merged = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        merged = mask if merged is None else ops.logical_and(merged, mask)
    return merged


def masked_softmax(scores, mask=None, axis=-1):
    """Softmax over `axis` with masked entries set to exactly zero.

    Computed in float32 (stable under mixed precision) and cast back to the
    dtype of `scores`. Masked logits are replaced by a large negative number
    before the softmax and the probabilities are zeroed afterwards, so a row
    with every entry masked gives all zeros instead of NaN (0/0) or a
    uniform distribution.

    Args:
        scores: float tensor.
        mask: optional boolean tensor broadcastable to `scores`.
        axis: the axis to normalize.

    Returns:
        Tensor of the shape and dtype of `scores`.
    """
    dtype = scores.dtype
    scores = ops.cast(scores, "float32")
    if mask is None:
        return ops.cast(ops.softmax(scores, axis=axis), dtype)
    mask = ops.cast(mask, "bool")
    scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
    weights = ops.softmax(scores, axis=axis)
    weights = ops.where(mask, weights, ops.zeros_like(weights))
    return ops.cast(weights, dtype)


def scaled_dot_product_attention(
    query, key, value, mask=None, dropout_fn=None, scale=None
):
    """softmax(Q K^T / sqrt(d_k)) V, per head (Vaswani et al. 2017 eq. 1).

    Args:
        query: `(batch_size, T, num_heads, key_dim)`.
        key: `(batch_size, S, num_heads, key_dim)`.
        value: `(batch_size, S, num_heads, value_dim)`.
        mask: optional boolean tensor broadcastable to
            `(batch_size, num_heads, T, S)`; `True` = may attend. A query row
            with no allowed key gets zero weights and a zero output.
        dropout_fn: optional callable applied to the attention weights
            (dropout on the weights, as in the reference implementation).
        scale: factor applied to the logits, defaults to `1 / sqrt(key_dim)`.

    Returns:
        Tuple `(output, weights)`: output `(batch_size, T, num_heads,
        value_dim)` and weights `(batch_size, num_heads, T, S)` (before
        dropout).
    """
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    # Scores and softmax in float32 whatever the compute dtype: float16
    # products overflow (65504) for activations of std ~60 at width 64.
    # Scale Q before the product: fewer multiplies and the same result.
    query = ops.multiply(ops.cast(query, "float32"), scale)
    key = ops.cast(key, "float32")
    scores = ops.einsum("btnh,bsnh->bnts", query, key)  # (B, N, T, S)
    # The weights back in the compute dtype for the output, as Keras does.
    weights = ops.cast(masked_softmax(scores, mask), value.dtype)
    dropped = weights if dropout_fn is None else dropout_fn(weights)
    output = ops.einsum("bnts,bsnh->btnh", dropped, value)  # (B, T, N, Hv)
    return output, weights


def fused_dot_product_attention(query, key, value, mask=None, scale=None):
    """Same as `scaled_dot_product_attention` via `keras.ops`' fused kernel.

    `keras.ops.dot_product_attention` gives a fully masked row the uniform
    average of the values (it adds a large negative bias); such rows are
    zeroed here so both paths agree. No attention weights are returned.

    The fused op computes its logits in the inputs' dtype, so inputs of a
    lower precision (mixed precision) are cast to float32 for it and the
    output back to their dtype: scores and softmax stay in float32 as in
    `scaled_dot_product_attention`.

    Args:
        query: `(batch_size, T, num_heads, head_dim)`.
        key: `(batch_size, S, num_heads, head_dim)`.
        value: `(batch_size, S, num_heads, head_dim)`.
        mask: optional boolean tensor broadcastable to
            `(batch_size, num_heads, T, S)`.
        scale: factor applied to the logits, defaults to `1 / sqrt(head_dim)`.

    Returns:
        `(batch_size, T, num_heads, head_dim)`.
    """
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    if mask is not None:
        mask = ops.cast(mask, "bool")
    dtype = value.dtype
    output = ops.dot_product_attention(
        ops.cast(query, "float32"),
        ops.cast(key, "float32"),
        ops.cast(value, "float32"),
        mask=mask,
        scale=scale,
    )
    output = ops.cast(output, dtype)
    if mask is not None:
        # (B|1, N|1, T, S) -> (B|1, T, N|1, 1): does the row see any key?
        row_has_key = ops.any(mask, axis=-1)
        row_has_key = ops.expand_dims(ops.transpose(row_has_key, (0, 2, 1)), -1)
        output = ops.where(row_has_key, output, ops.zeros_like(output))
    return output
