"""Local attention of Luong et al. (2015) sec. 3.2, eqs. 9-10."""

import keras
from keras import ops

from keras_seq.layers.attention_ops import masked_softmax
from keras_seq.layers.luong_attention import LuongAttention
from keras_seq.layers.source_attention import project
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of

MODES = ("local-m", "local-p")


@keras.saving.register_keras_serializable(package="keras_seq")
class LocalAttention(LuongAttention):
    """Attention restricted to a window `[p_t - D, p_t + D]` of the source.

    Luong et al. (2015) sec. 3.2, eqs. 9-10. For each decoder state
    `q_t`:

    1. Aligned position `p_t` (a real number):
       - `"local-m"` (monotonic): `p_t = t`, the index of the target step.
       - `"local-p"` (predictive): `p_t = S_b * sigmoid(v_p^T tanh(W_p q_t))`
         (Luong eq. 9), where `S_b` is the REAL length of source sequence
         `b` (number of `True` entries of its mask, the padded length when
         there is no mask), so `0 <= p_t <= S_b`. `W_p` is the kernel of
         `position_dense` (`(query_dim, position_units)`), `v_p` the kernel
         of `position_score_dense` (`(position_units, 1)`); no biases.
    2. Window: the integer source positions `s` with
       `p_t - D <= s <= p_t + D` (i.e. `ceil(p_t - D) .. floor(p_t + D)`)
       that are also real tokens (`0 <= s < S_b`, mask `True`). The window
       is a hard, piecewise-constant selection: no gradient flows through
       its edges.
    3. Alignment `align(q_t, h_s)`: the softmax of the Luong score
       (`"dot"`, `"general"` or `"concat"`, shared with `LuongAttention`
       through `_score`) taken over the positions INSIDE the window only
       (as in Luong et al.: the model attends within the window), not over
       the whole sentence.
    4. Weights (Luong eq. 10): `a_t(s) = align(q_t, h_s) *
       exp(-(s - p_t)^2 / (2 sigma^2))`, `sigma = D / 2`; exactly zero
       outside the window. They are NOT renormalized after the Gaussian, as
       in the paper, so a row sums to at most 1. The Gaussian is what makes
       `p_t`, and thus `W_p` and `v_p`, trainable.
    5. Context `c_t = sum_s a_t(s) h_s` over the window.

    A window that contains no real token (e.g. local-m when the target is
    longer than `S_b + D`, or an all-padding source) gives zero weights and
    a zero context, never NaN.

    Args:
        window: `D`, a positive integer (Luong et al. used 10).
        mode: `"local-m"` or `"local-p"`.
        score: `"dot"`, `"general"` or `"concat"` (see `LuongAttention`);
            `"general"` by default, the score of Luong et al.'s best local-p
            models.
        units: hidden size of the `"concat"` score; defaults to `query_dim`.
        position_units: hidden size of `W_p` for `"local-p"`; defaults to
            `query_dim`. Must be `None` for `"local-m"`.
        return_positions: whether to also return `p_t`.
        kernel_initializer: initializer of all the weights.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        query: `(batch_size, query_dim)` (one decoder step) or
            `(batch_size, target_length, query_dim)` (all steps).
        values: encoder states `(batch_size, source_length, value_dim)`.
        mask: optional boolean `(batch_size, source_length)`, `True` for
            real tokens.
        step: `"local-m"` only: the target index of the (first) query, an
            int, an int scalar tensor or a `(batch_size,)` int tensor.
            Required for a single-step query; for all steps the positions
            are `step + 0 .. step + target_length - 1` (`step` defaults to
            0). Ignored by `"local-p"`.

    Returns:
        `(context, weights)`, or `(context, weights, positions)` with
        `return_positions=True`. `context`: `(batch_size, value_dim)` or
        `(batch_size, target_length, value_dim)`; `weights`:
        `(batch_size, source_length)` or
        `(batch_size, target_length, source_length)`; `positions` (`p_t`,
        float): `(batch_size,)` or `(batch_size, target_length)`.

    Example:
    >>> attention = LocalAttention(window=2, mode="local-p", score="general")
    >>> query = np.random.rand(2, 5, 8).astype("float32")
    >>> values = np.random.rand(2, 9, 8).astype("float32")
    >>> context, weights = attention(query, values)  # (2, 5, 8), (2, 5, 9)

    References:
        Luong, Pham, Manning (2015). Effective Approaches to Attention-based
        Neural Machine Translation. EMNLP. https://arxiv.org/abs/1508.04025
    """

    def __init__(
        self,
        window,
        mode="local-p",
        score="general",
        units=None,
        position_units=None,
        return_positions=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(
            score=score,
            units=units,
            kernel_initializer=kernel_initializer,
            **kwargs,
        )
        window = check_int("window", window)
        check_one_of("mode", mode, MODES)
        if position_units is not None:
            if mode != "local-p":
                raise ValueError(
                    "`position_units` is only used by mode='local-p'. "
                    f"Received: position_units={position_units!r} with "
                    f"mode={mode!r}"
                )
            position_units = check_int("position_units", position_units)
        self.window = window
        self.mode = mode
        self.position_units = position_units
        self.return_positions = bool(return_positions)

    def build(self, query_shape, values_shape):
        super().build(query_shape, values_shape)
        if self.mode == "local-p":
            units = self.position_units or query_shape[-1]
            self.position_dense = self._dense(units, "position_dense")
            self.position_dense.build((None, None, query_shape[-1]))
            self.position_score_dense = self._dense(1, "position_score_dense")
            self.position_score_dense.build((None, None, units))
        self.built = True

    def _aligned_positions(self, query, values, mask, step):
        """`p_t` as float32 `(B, T)`, Luong et al. 2015 sec. 3.2."""
        batch_size = ops.shape(query)[0]
        target_length = ops.shape(query)[1]
        if self.mode == "local-m":
            t = ops.arange(target_length, dtype="float32")[None, :]  # (1, T)
            step = ops.cast(ops.convert_to_tensor(step), "float32")
            if len(step.shape) == 1:
                step = step[:, None]  # (B, 1)
            return ops.broadcast_to(step + t, (batch_size, target_length))
        if mask is None:
            lengths = ops.cast(ops.shape(values)[1], "float32")
            lengths = ops.broadcast_to(lengths, (batch_size,))
        else:
            lengths = ops.sum(ops.cast(mask, "float32"), axis=-1)  # (B,)
        # Luong eq. 9: p_t = S * sigmoid(v_p^T tanh(W_p h_t)).
        hidden = ops.tanh(project(query, self.position_dense))  # (B, T, units)
        logits = ops.squeeze(project(hidden, self.position_score_dense), -1)
        return lengths[:, None] * ops.sigmoid(ops.cast(logits, "float32"))

    def _local_weights(self, scores, positions, mask):
        """Windowed softmax times the Gaussian, Luong et al. 2015 eq. 10."""
        source_length = ops.shape(scores)[-1]
        s = ops.arange(source_length, dtype="float32")[None, None, :]
        p = positions[:, :, None]  # (B, T, 1)
        # The window's edges are a hard selection (no gradient through
        # them); p_t - D <= s <= p_t + D is ceil(p_t - D) <= s <=
        # floor(p_t + D) for integer s.
        p_const = ops.stop_gradient(p)
        in_window = ops.logical_and(
            s >= p_const - self.window, s <= p_const + self.window
        )  # (B, T, S)
        if mask is not None:
            in_window = ops.logical_and(in_window, mask[:, None, :])
        align = masked_softmax(ops.cast(scores, "float32"), in_window)
        sigma = self.window / 2.0
        gaussian = ops.exp(-ops.square(s - p) / (2.0 * sigma**2))
        return align * gaussian  # exactly 0 outside the window

    def call(self, query, values, mask=None, step=None, keys=None):
        mask = self._validate_call(query, values, mask, keys)
        single_step = len(query.shape) == 2
        if self.mode == "local-m":
            if step is None and single_step:
                raise ValueError(
                    "mode='local-m' places the window at the target index "
                    "t, so a single-step query needs `step=t`. "
                    "Received: step=None"
                )
            if step is None:
                step = 0
            step_rank = len(ops.convert_to_tensor(step).shape)
            if step_rank > 1:
                raise ValueError(
                    "`step` must be a scalar or a (batch_size,) tensor. "
                    f"Received: step.shape={ops.shape(step)}"
                )
        aligned = {}

        def local_weights(scores, query):
            positions = self._aligned_positions(query, values, mask, step)
            aligned["positions"] = positions  # (B, T)
            weights = self._local_weights(scores, positions, mask)
            return ops.cast(weights, values.dtype)

        context, weights = self._attend(
            query, values, mask, local_weights, keys=keys
        )
        if not self.return_positions:
            return context, weights
        positions = aligned["positions"]
        if single_step:
            positions = ops.squeeze(positions, 1)
        return context, weights, positions

    @property
    def _num_outputs(self):
        return 3 if self.return_positions else 2

    def compute_output_shape(self, query_shape, values_shape):
        context_shape, weights_shape = super().compute_output_shape(
            query_shape, values_shape
        )
        if self.return_positions:
            return context_shape, weights_shape, tuple(query_shape[:-1])
        return context_shape, weights_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "window": self.window,
                "mode": self.mode,
                "position_units": self.position_units,
                "return_positions": self.return_positions,
            }
        )
        return config
