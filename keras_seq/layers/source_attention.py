"""The frame shared by the attentions over a source sequence.

`SourceAttention` is the base of `LuongAttention` (and so `LocalAttention`)
and `BahdanauAttention`: a query attends over encoder states `h_s` with
weights `a_t(s)` and returns the context `c_t = sum_s a_t(s) h_s`; a
subclass supplies the score. The helpers below are the pieces the scores
share (a bias-free projection, the additive score) and the argument checks.
"""

import keras
from keras import ops

from keras_seq.layers.attention_ops import masked_softmax


def project(inputs, dense):
    """`inputs @ kernel` of a bias-free score `Dense` sublayer, in float32.

    A 2-D matmul over the flattened leading axes instead of calling the
    `Dense` (or `ops.matmul`) on 3-D inputs: for those the TF backend uses
    `tensordot`, whose gradient has a run-time transpose permutation that
    XLA cannot compile inside a `while` loop (training with
    `jit_compile=True` would fail); and an `einsum` there made the training
    step of the scores projecting inside the decoder loop (`W_q q_t` of
    Bahdanau, `W_p q_t` of local-p) 1.6-1.8x slower
    (benchmarks/RESULTS.md, "RNN training speed").

    Every use is inside a score (`W_a h_s`, `W_q q_t`, `W_p q_t`), which is
    computed in float32 whatever the compute dtype: at activations of std
    1e3, float16 spacing is 0.5, and such errors before a `tanh` change the
    additive scores by whole units.
    """
    inputs = ops.cast(inputs, "float32")
    kernel = ops.cast(dense.kernel, "float32")
    if len(inputs.shape) == 2:
        return ops.matmul(inputs, kernel)
    leading = ops.shape(inputs)[:-1]
    flat = ops.reshape(inputs, (-1, inputs.shape[-1]))
    return ops.reshape(ops.matmul(flat, kernel), (*leading, kernel.shape[-1]))


def additive_score(query_part, value_part, score_kernel):
    """`v^T tanh(query_part_t + value_part_s)` for every (t, s) pair.

    Shared by the Luong "concat" and the Bahdanau scores.

    Args:
        query_part: `(batch_size, target_length, units)`, e.g. `W_q q_t`.
        value_part: `(batch_size, source_length, units)`, e.g. `W_h h_s`.
        score_kernel: the vector `v` as a `(units, 1)` kernel.

    Returns:
        float32 scores `(batch_size, target_length, source_length)`.
    """
    # In float32 under mixed precision: the sum over `units` of float16
    # terms loses the small score differences the softmax turns into
    # weights (see `SourceAttention`).
    query_part = ops.cast(query_part, "float32")
    value_part = ops.cast(value_part, "float32")
    hidden = ops.tanh(
        ops.expand_dims(query_part, 2) + ops.expand_dims(value_part, 1)
    )  # (B, T, S, units)
    v = ops.cast(ops.reshape(score_kernel, (-1,)), "float32")
    # Multiply-and-sum rather than a matmul with v: XLA fuses it with the
    # tanh and never materializes the (B, T, S, units) tensor; measured about
    # 2x faster on CPU (benchmarks/attention_layers.py).
    return ops.sum(hidden * v, axis=-1)


def check_query_values_ranks(query_shape, values_shape):
    """Raise ValueError unless query is rank 2 or 3 and values rank 3."""
    if len(query_shape) not in (2, 3):
        raise ValueError(
            "`query` must have shape (batch_size, query_dim) or "
            "(batch_size, target_length, query_dim). "
            f"Received: query.shape={tuple(query_shape)}"
        )
    if len(values_shape) != 3:
        raise ValueError(
            "`values` must have shape (batch_size, source_length, "
            f"value_dim). Received: values.shape={tuple(values_shape)}"
        )
    for name, shape in (("query", query_shape), ("values", values_shape)):
        if shape[-1] is None:
            raise ValueError(
                f"The last dimension of `{name}` must be known. "
                f"Received: {name}.shape={tuple(shape)}"
            )
    if (
        query_shape[0] is not None
        and values_shape[0] is not None
        and query_shape[0] != values_shape[0]
    ):
        raise ValueError(
            "`query` and `values` must have the same batch size. Received: "
            f"query.shape={tuple(query_shape)}, "
            f"values.shape={tuple(values_shape)}"
        )


def check_floating(query, values):
    """Raise ValueError unless `query` and `values` are float tensors."""
    for name, x in (("query", query), ("values", values)):
        dtype = keras.backend.standardize_dtype(x.dtype)
        if "float" not in dtype:
            raise ValueError(
                f"`{name}` must be a floating-point tensor. "
                f"Received: {name}.dtype={dtype}"
            )


def standardize_mask(mask, values):
    """Validate a `(batch, source_length)` boolean padding mask.

    Falls back to the Keras mask carried by `values` (e.g. from an
    `Embedding(mask_zero=True)` + RNN encoder) when no mask is passed.
    """
    if mask is None:
        mask = getattr(values, "_keras_mask", None)
        if mask is None:
            return None
    if len(mask.shape) != 2:
        raise ValueError(
            "`mask` must be a boolean tensor of shape (batch_size, "
            f"source_length). Received: mask.shape={tuple(mask.shape)}"
        )
    dtype = keras.backend.standardize_dtype(mask.dtype)
    if dtype != "bool":
        raise ValueError(
            "`mask` must be a boolean tensor (True = attend). "
            f"Received: mask.dtype={dtype}"
        )
    for axis, what in ((0, "batch_size"), (1, "source_length")):
        static, expected = mask.shape[axis], values.shape[axis]
        if static is not None and expected is not None and static != expected:
            raise ValueError(
                "`mask` must have shape (batch_size, source_length) of "
                f"`values` ({what}={expected}). Received: "
                f"mask.shape={tuple(mask.shape)}"
            )
    return mask


class SourceAttention(keras.layers.Layer):
    """Frame shared by the attentions over a source sequence.

    A query `(batch_size, query_dim)` (one decoder step) or `(batch_size,
    target_length, query_dim)` attends over `values` `(batch_size,
    source_length, value_dim)`: the subclass's `_score` gives scores `(B, T,
    S)`, a weights function turns them into alignment weights `a_t(s)`, and
    the context is `c_t = sum_s a_t(s) h_s`. The outputs keep the query's
    Keras mask (target padding), not the source mask passed as `mask=`.

    Under mixed precision the scores (with the projections inside them,
    e.g. `W_a h_s`) and the softmax are computed in float32 (`_score`
    returns float32), as Keras does for numerically sensitive ops: float16
    scores overflow (a dot product of 64 activations of std 60 already
    exceeds 65504) and the softmax of `inf` is NaN. The weights are cast
    back to the compute dtype for the context and returned in it.
    """

    # Outputs of `call`: (context, weights).
    _num_outputs = 2

    def _dense(self, units, name):
        """A bias-free `Dense` score weight with the subclass's
        `kernel_initializer` and the layer's dtype policy."""
        return keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            dtype=self.dtype_policy,
            name=name,
        )

    def _keys_dense(self):
        """The bias-free `Dense` applied to every source state in the score
        (e.g. `W_a` of "general"), or `None` if the score uses `h_s` as is."""
        return None

    def precompute_values(self, values):
        """The source-side projection of the score for every position.

        It does not change while decoding, so a decoder computes it once
        per source and passes `keys=` at every step instead of projecting
        all source states again at each one.

        Args:
            values: encoder states `(batch_size, source_length, value_dim)`.

        Returns:
            keys `(batch_size, source_length, key_dim)`, float32 (`values`
            itself for a score without a source projection).
        """
        if len(values.shape) != 3:
            raise ValueError(
                "`values` must have shape (batch_size, source_length, "
                f"value_dim). Received: values.shape={tuple(values.shape)}"
            )
        if not self.built:
            raise ValueError(
                "`precompute_values` needs the layer's weights: call the "
                "layer once (or build it) first. Received: "
                f"values.shape={tuple(values.shape)}"
            )
        dense = self._keys_dense()
        return values if dense is None else project(values, dense)

    def _validate_call(self, query, values, mask, keys=None):
        check_query_values_ranks(query.shape, values.shape)
        check_floating(query, values)
        if keys is not None:
            dense = self._keys_dense()
            key_dim = values.shape[-1] if dense is None else dense.units
            if len(keys.shape) != 3 or keys.shape[-1] != key_dim:
                raise ValueError(
                    "`keys` must be `precompute_values(values)`, of shape "
                    f"(batch_size, source_length, {key_dim}). "
                    f"Received: keys.shape={tuple(keys.shape)}"
                )
        return standardize_mask(mask, values)

    def call(self, query, values, mask=None, keys=None):
        mask = self._validate_call(query, values, mask, keys)
        return self._attend(query, values, mask, keys=keys)

    def _global_weights(self, scores, mask):
        """Softmax of scores `(B, T, S)` over the unmasked source states."""
        if mask is not None:
            mask = ops.expand_dims(mask, 1)  # (B, 1, S)
        return masked_softmax(scores, mask)

    def _attend(self, query, values, mask, weights_fn=None, **score_kwargs):
        """`(context, weights)`. `weights_fn(scores, query)`, with the query
        as `(B, T, query_dim)`, defaults to the global softmax. A 2-D query
        gives 2-D outputs."""
        if weights_fn is None:

            def weights_fn(scores, query):
                return self._global_weights(scores, mask)

        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)  # (B, 1, query_dim)
        # Scores and weights in float32 (see the class docstring).
        scores = self._score(query, values, **score_kwargs)  # (B, T, S)
        weights = weights_fn(scores, query)
        # The weights in the compute dtype for the context, as Keras does
        # after its float32 softmax.
        weights = ops.cast(weights, values.dtype)
        # c_t = sum_s a_t(s) h_s (Luong et al. 2015 sec. 3.1).
        context = ops.einsum("bts,bsd->btd", weights, values)
        if single_step:
            context = ops.squeeze(context, 1)
            weights = ops.squeeze(weights, 1)
        return context, weights

    def compute_mask(self, query, previous_mask=None):
        query_mask = getattr(query, "_keras_mask", None)
        if query_mask is None:
            return None
        return [query_mask] * self._num_outputs

    def compute_output_shape(self, query_shape, values_shape):
        check_query_values_ranks(query_shape, values_shape)
        context_shape = tuple(query_shape[:-1]) + (values_shape[-1],)
        weights_shape = tuple(query_shape[:-1]) + (values_shape[1],)
        return context_shape, weights_shape
