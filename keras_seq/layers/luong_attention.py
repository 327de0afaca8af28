"""Luong et al. (2015) global attention with dot, general and concat scores."""

import keras
from keras import ops

from keras_seq.layers.source_attention import SourceAttention
from keras_seq.layers.source_attention import additive_score
from keras_seq.layers.source_attention import check_query_values_ranks
from keras_seq.layers.source_attention import project
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of

SCORES = ("dot", "general", "concat")


@keras.saving.register_keras_serializable(package="keras_seq")
class LuongAttention(SourceAttention):
    """Global attention of Luong et al. (2015), sec. 3.1, eqs. 7-8.

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
        check_one_of("score", score, SCORES)
        if units is not None:
            if score != "concat":
                raise ValueError(
                    "`units` is only used by score='concat'. "
                    f"Received: units={units!r} with score={score!r}"
                )
            units = check_int("units", units, allow_none=True)
        self.score = score
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

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
        """Alignment scores, Luong et al. 2015 eq. 8.

        Subclasses (e.g. `LocalAttention`) reuse this hook and change only
        how the scores become weights.

        Args:
            query: `(batch_size, target_length, query_dim)`.
            values: `(batch_size, source_length, value_dim)`.
            keys: optional `precompute_values(values)`.

        Returns:
            float32 scores `(batch_size, target_length, source_length)`.
        """
        if keys is None:
            keys = self.precompute_values(values)
        if self.score in ("dot", "general"):
            # dot: q_t . h_s; general: q_t . (W_a h_s), keys (B, S, q). In
            # float32: at width 64, float16 activations of std 60 already
            # give products beyond float16's range (65504).
            return ops.einsum(
                "btd,bsd->bts",
                ops.cast(query, "float32"),
                ops.cast(keys, "float32"),
            )
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
