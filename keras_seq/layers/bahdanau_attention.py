"""Additive attention of Bahdanau et al. (2015), eqs. 5-6, appendix A.1.2."""

import keras

from keras_seq.layers.source_attention import SourceAttention
from keras_seq.layers.source_attention import additive_score
from keras_seq.layers.source_attention import check_query_values_ranks
from keras_seq.layers.source_attention import project
from keras_seq.validation import check_int


@keras.saving.register_keras_serializable(package="keras_seq")
class BahdanauAttention(SourceAttention):
    """Additive attention: `score = v^T tanh(W_1 q + W_2 h_s)`.

    Bahdanau et al. (2015) sec. 3.1 and appendix A.1.2:
    `e_ts = v_a^T tanh(W_a s_{t-1} + U_a h_s)`, `a_t = softmax_s(e_t)`,
    `c_t = sum_s a_t(s) h_s`, where the query is the PREVIOUS decoder state
    `s_{t-1}` and `c_t` then enters the recurrent step (their sec. 3.1).
    `W_1` (= `W_a`) is the kernel of `query_dense`, `(query_dim, units)`,
    `W_2` (= `U_a`) the kernel of `value_dense`, `(value_dim, units)`, and
    `v` the kernel of `score_dense`, `(units, 1)`; none has a bias, as in the
    paper.

    `W_2 h_s` does not depend on the decoder step: when decoding step by step
    compute it once per source with `keys = layer.precompute_values(values)`
    and pass `keys=keys` at every step (the paper's appendix A.1.2 makes the
    same remark).

    Padded source positions get exactly zero weight; a query whose source
    positions are all padding gets zero weights and a zero context.

    Args:
        units: size of the hidden layer of the score (rows of `W_1`, `W_2`).
        kernel_initializer: initializer of `W_1`, `W_2`, `v`.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        query: previous decoder state(s), `(batch_size, query_dim)` or
            `(batch_size, target_length, query_dim)`.
        values: encoder states `(batch_size, source_length, value_dim)`.
        mask: optional boolean `(batch_size, source_length)`, `True` for real
            tokens; defaults to the Keras mask attached to `values`, if any.
        keys: optional `(batch_size, source_length, units)`, the output of
            `precompute_values(values)`; skips recomputing `W_2 h_s`.

    Returns:
        `(context, weights)`: `context` `(batch_size, value_dim)` or
        `(batch_size, target_length, value_dim)`; `weights`
        `(batch_size, source_length)` or
        `(batch_size, target_length, source_length)`.

    Example:
    >>> attention = BahdanauAttention(units=16)
    >>> values = np.random.rand(2, 7, 8).astype("float32")
    >>> keys = attention.precompute_values(values)
    >>> state = np.random.rand(2, 12).astype("float32")
    >>> context, weights = attention(state, values, keys=keys)

    References:
        Bahdanau, Cho, Bengio (2015). Neural Machine Translation by Jointly
        Learning to Align and Translate. ICLR.
        https://arxiv.org/abs/1409.0473
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        units = check_int("units", units)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, query_shape, values_shape):
        check_query_values_ranks(query_shape, values_shape)
        self.query_dense = self._dense(self.units, "query_dense")
        self.query_dense.build((None, None, query_shape[-1]))
        self.value_dense = self._dense(self.units, "value_dense")
        self.value_dense.build(values_shape)
        self.score_dense = self._dense(1, "score_dense")
        self.score_dense.build((None, None, None, self.units))
        self.built = True

    def _keys_dense(self):
        return self.value_dense  # W_2 h_s

    def _score(self, query, values, keys=None):
        """Additive scores `(B, T, S)` for queries `(B, T, query_dim)`."""
        if keys is None:
            keys = self.precompute_values(values)  # W_2 h_s, (B, S, units)
        query_part = project(query, self.query_dense)  # (B, T, units)
        # v^T tanh(W_1 q_t + W_2 h_s), (B, T, S).
        return additive_score(query_part, keys, self.score_dense.kernel)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
