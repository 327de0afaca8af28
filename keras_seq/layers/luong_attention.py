"""Luong et al. (2015) global attention with dot, general and concat scores."""

import keras
from keras import ops

SCORES = ("dot", "general", "concat")


def masked_softmax(scores, mask=None):
    """Softmax over the last axis that ignores masked positions safely.

    Masked positions get exactly zero weight, and a row whose positions are
    all masked gives an all-zero row instead of NaN (a plain softmax of
    `-inf` everywhere is `0 / 0`). The softmax runs in float32 so that mixed
    precision does not overflow in `exp`; the result is cast back to the
    dtype of `scores`.

    Args:
        scores: float tensor `(..., source_length)`.
        mask: optional boolean tensor broadcastable to `scores`; `True` marks
            positions that may be attended to.

    Returns:
        Tensor of the shape and dtype of `scores`, rows summing to 1 (or 0
        when every position of the row is masked).
    """
    dtype = scores.dtype
    scores = ops.cast(scores, "float32")
    if mask is None:
        return ops.cast(ops.softmax(scores, axis=-1), dtype)
    mask = ops.broadcast_to(mask, ops.shape(scores))
    # Masked scores are replaced (not added to) so that their value can
    # neither win the max nor leak through exp(); the final multiply by the
    # mask makes their weight exactly 0.
    lowest = ops.convert_to_tensor(-3.0e38, "float32")
    scores = ops.where(mask, scores, lowest)
    scores = scores - ops.stop_gradient(ops.max(scores, axis=-1, keepdims=True))
    exp = ops.exp(scores) * ops.cast(mask, "float32")
    total = ops.sum(exp, axis=-1, keepdims=True)
    # An all-masked row has total == 0 and exp == 0: divide by 1 -> zeros.
    total = ops.where(total > 0.0, total, ops.ones_like(total))
    return ops.cast(exp / total, dtype)


def project(inputs, dense):
    """`inputs @ kernel` of a bias-free `Dense` sublayer, as one einsum.

    Used instead of calling the `Dense` on 3-D inputs inside the decoder's
    loop: the TF backend computes that with `tensordot`, whose gradient
    has a run-time transpose permutation that XLA cannot compile inside a
    `while` loop (training with `jit_compile=True` would fail).
    """
    kernel = ops.cast(dense.kernel, inputs.dtype)
    return ops.einsum("...i,io->...o", inputs, kernel)


def additive_score(query_part, value_part, score_kernel):
    """`v^T tanh(query_part_t + value_part_s)` for every (t, s) pair.

    Shared by the Luong "concat" and the Bahdanau scores.

    Args:
        query_part: `(batch_size, target_length, units)`, e.g. `W_q q_t`.
        value_part: `(batch_size, source_length, units)`, e.g. `W_h h_s`.
        score_kernel: the vector `v` as a `(units, 1)` kernel.

    Returns:
        Scores `(batch_size, target_length, source_length)`.
    """
    hidden = ops.tanh(
        ops.expand_dims(query_part, 2) + ops.expand_dims(value_part, 1)
    )  # (B, T, S, units)
    v = ops.cast(ops.reshape(score_kernel, (-1,)), hidden.dtype)
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
    """

    # Outputs of `call`: (context, weights).
    _num_outputs = 2

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
            keys `(batch_size, source_length, key_dim)` (`values` itself for
            a score without a source projection).
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
        scores = self._score(query, values, **score_kwargs)  # (B, T, S)
        weights = weights_fn(scores, query)
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


@keras.saving.register_keras_serializable(package="keras_seq")
class LuongAttention(SourceAttention):
    """Global attention of Luong et al. (2015), eqs. 5-6 of MATH.md.

    For each decoder state `q_t` the alignment over the encoder states `h_s`
    is `a_t(s) = softmax_s(score(q_t, h_s))` and the context is
    `c_t = sum_s a_t(s) h_s` (Luong et al. 2015 eq. 7 and sec. 3.1), with

    - `"dot"`: `score = q_t^T h_s` (needs `query_dim == value_dim`);
    - `"general"`: `score = q_t^T W_a h_s`, `W_a` of shape
      `(query_dim, value_dim)`, stored as the kernel of the sublayer
      `general_dense` (shape `(value_dim, query_dim)`, i.e. `W_a^T`, which
      maps `h_s` into the query space);
    - `"concat"`: `score = v_a^T tanh(W_a [q_t; h_s])`, `W_a` of shape
      `(units, query_dim + value_dim)`. `W_a [q; h] = W_q q + W_h h` is
      computed with the two halves of `W_a`: the kernels of `query_dense`
      (`(query_dim, units)`) and `value_dense` (`(value_dim, units)`), so
      `W_h h_s` is computed once per source position instead of once per
      (t, s) pair. `v_a` is the kernel of `score_dense` (`(units, 1)`).
      None of these has a bias, as in the paper.

    Padded source positions get exactly zero weight; a query whose source
    positions are all padding gets zero weights and a zero context.

    Args:
        score: `"dot"`, `"general"` or `"concat"`.
        units: size of the hidden layer of the `"concat"` score (rows of
            `W_a`); defaults to `query_dim`. Must be `None` for the other
            scores.
        kernel_initializer: initializer of the score weights.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        query: decoder state(s), `(batch_size, query_dim)` for one step or
            `(batch_size, target_length, query_dim)` for all steps.
        values: encoder states `(batch_size, source_length, value_dim)`.
        mask: optional boolean `(batch_size, source_length)`, `True` for real
            tokens. If omitted, the Keras mask attached to `values` (if any)
            is used.

    Returns:
        `(context, weights)`: `context` has the rank of `query`,
        `(batch_size, value_dim)` or `(batch_size, target_length,
        value_dim)`; `weights` is `(batch_size, source_length)` or
        `(batch_size, target_length, source_length)`.

    Example:
    >>> attention = LuongAttention(score="general")
    >>> query = np.random.rand(2, 5, 8).astype("float32")
    >>> values = np.random.rand(2, 7, 8).astype("float32")
    >>> context, weights = attention(query, values)  # (2, 5, 8), (2, 5, 7)

    References:
        Luong, Pham, Manning (2015). Effective Approaches to Attention-based
        Neural Machine Translation. EMNLP. https://arxiv.org/abs/1508.04025
    """

    def __init__(
        self,
        score="dot",
        units=None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(
                f"`score` must be one of {SCORES}. Received: score={score!r}"
            )
        if units is not None:
            if score != "concat":
                raise ValueError(
                    "`units` is only used by score='concat'. "
                    f"Received: units={units!r} with score={score!r}"
                )
            if not isinstance(units, int) or isinstance(units, bool):
                raise ValueError(
                    "`units` must be a positive integer or None. "
                    f"Received: units={units!r}"
                )
            if units <= 0:
                raise ValueError(
                    "`units` must be a positive integer or None. "
                    f"Received: units={units!r}"
                )
        self.score = score
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def _dense(self, units, name):
        return keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, values_shape):
        check_query_values_ranks(query_shape, values_shape)
        query_dim, value_dim = query_shape[-1], values_shape[-1]
        if self.score == "dot" and query_dim != value_dim:
            raise ValueError(
                "score='dot' needs query and values of the same size; use "
                "score='general' or 'concat' otherwise. Received: "
                f"query.shape={tuple(query_shape)}, "
                f"values.shape={tuple(values_shape)}"
            )
        if self.score == "general":
            # Kernel (value_dim, query_dim) = W_a^T: values @ kernel = W_a h.
            self.general_dense = self._dense(query_dim, "general_dense")
            self.general_dense.build(values_shape)
        elif self.score == "concat":
            units = self.units or query_dim
            self.query_dense = self._dense(units, "query_dense")
            self.query_dense.build((None, None, query_dim))
            self.value_dense = self._dense(units, "value_dense")
            self.value_dense.build(values_shape)
            self.score_dense = self._dense(1, "score_dense")
            self.score_dense.build((None, None, None, units))
        self.built = True

    def _score(self, query, values, keys=None):
        """Alignment scores, Luong et al. 2015 eq. 8 (MATH.md eq. 6).

        Subclasses (e.g. `LocalAttention`) reuse this hook and change only
        how the scores become weights.

        Args:
            query: `(batch_size, target_length, query_dim)`.
            values: `(batch_size, source_length, value_dim)`.
            keys: optional `precompute_values(values)`.

        Returns:
            Scores `(batch_size, target_length, source_length)`.
        """
        if keys is None:
            keys = self.precompute_values(values)
        if self.score in ("dot", "general"):
            # dot: q_t . h_s; general: q_t . (W_a h_s), keys (B, S, q).
            return ops.einsum("btd,bsd->bts", query, keys)
        # concat: v_a^T tanh(W_q q_t + W_h h_s), keys = W_h h_s.
        query_part = project(query, self.query_dense)  # (B, T, units)
        return additive_score(query_part, keys, self.score_dense.kernel)

    def _keys_dense(self):
        if self.score == "general":
            return self.general_dense
        if self.score == "concat":
            return self.value_dense
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "score": self.score,
                "units": self.units,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
