"""Soft attention over image regions with the gating scalar of Xu et al."""

import keras
from keras import ops

from keras_seq.layers.bahdanau_attention import BahdanauAttention
from keras_seq.layers.luong_attention import SCORES as LUONG_SCORES
from keras_seq.layers.luong_attention import LuongAttention

SCORES = ("bahdanau",) + LUONG_SCORES


def doubly_stochastic_penalty(alignments, target_mask=None):
    """`sum_i (1 - sum_t alpha_ti)^2` per image (Xu et al. 2015 eq. 14).

    The attention weights of each step sum to 1 over the regions; this
    term also pushes their sum over the caption towards 1 for every
    region, "encouraging the model to pay equal attention to every part
    of the image over the course of generation" (sec. 4.2.1).

    Args:
        alignments: `(batch_size, caption_length, num_regions)`, `alpha_ti`.
        target_mask: optional bool `(batch_size, caption_length)`, True for
            the real caption steps: padded steps are left out of
            `sum_t`.

    Returns:
        `(batch_size,)` float32.
    """
    alignments = ops.cast(alignments, "float32")
    if target_mask is not None:
        alignments = alignments * ops.cast(target_mask, "float32")[..., None]
    per_region = ops.sum(alignments, axis=1)  # sum_t alpha_ti, (B, L)
    return ops.sum(ops.square(1.0 - per_region), axis=-1)


@keras.saving.register_keras_serializable(package="keras_seq")
class GatedSoftAttention(keras.layers.Layer):
    """Deterministic soft attention with a gating scalar (Xu et al. 2015).

    For the previous LSTM state `h_{t-1}` and the annotation vectors
    `a_1 .. a_L` of an image:

    - `e_ti = f_att(a_i, h_{t-1})`, `alpha_ti = softmax_i(e_ti)` (eqs. 4-5);
    - `beta_t = sigmoid(f_beta(h_{t-1}))`, a scalar (sec. 4.2.1), with
      `f_beta` a linear layer (the kernel and bias of `gate_dense`);
    - `z_t = beta_t * sum_i alpha_ti a_i` (eq. 13 with the gate of
      sec. 4.2.1; `beta_t = 1` with `use_gate=False`, eq. 8's
      deterministic soft attention).

    `f_att` is one of keras-seq's score layers, the sublayer `attention`:
    `score="bahdanau"` is the paper's MLP, `v^T tanh(W_1 h_{t-1} + W_2 a_i)`
    (`BahdanauAttention(units)`); `"dot"`, `"general"` and `"concat"` are
    Luong et al.'s scores (`LuongAttention`).

    The region side of the score (`W_2 a_i`) does not depend on `t`:
    compute it once per image with `keys = layer.precompute_values(
    features)` and pass `keys=keys` at every step.

    Args:
        score: `"bahdanau"`, `"dot"`, `"general"` or `"concat"`.
        units: hidden size of the additive scores (`"bahdanau"`, required;
            `"concat"`, optional); `None` for `"dot"` and `"general"`.
        use_gate: bool, whether `z_t` is gated by `beta_t`.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        query: `(batch_size, query_dim)`, `h_{t-1}`.
        features: `(batch_size, num_regions, feature_dim)`, the `a_i`.
        mask: optional bool `(batch_size, num_regions)`.
        keys: optional `precompute_values(features)`.

    Returns:
        `(context, weights, gate)`: `z_t` `(batch_size, feature_dim)`,
        `alpha_t` `(batch_size, num_regions)` and `beta_t`
        `(batch_size, 1)` (ones without the gate).

    References:
        Xu et al. (2015). Show, Attend and Tell. ICML.
        https://arxiv.org/abs/1502.03044
    """

    def __init__(self, score="bahdanau", units=None, use_gate=True, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(
                f"`score` must be one of {SCORES}. Received: score={score!r}"
            )
        if units is not None and (
            not isinstance(units, int) or isinstance(units, bool) or units <= 0
        ):
            raise ValueError(
                "`units` must be a positive int or None. "
                f"Received: units={units!r}"
            )
        if score == "bahdanau" and units is None:
            raise ValueError(
                "score='bahdanau' needs the size of its hidden layer. "
                "Received: units=None"
            )
        if score in ("dot", "general") and units is not None:
            raise ValueError(
                f"score={score!r} has no hidden layer; leave units=None. "
                f"Received: units={units!r}"
            )
        if not isinstance(use_gate, bool):
            raise ValueError(
                f"`use_gate` must be a bool. Received: use_gate={use_gate!r}"
            )
        self.score = score
        self.units = units
        self.use_gate = use_gate
        # `mask=` is the region padding mask, consumed here.
        self.supports_masking = True

    def compute_mask(self, query, previous_mask=None):
        return None

    def build(self, query_shape, features_shape):
        if self.score == "bahdanau":
            self.attention = BahdanauAttention(
                self.units, dtype=self.dtype_policy, name="attention"
            )
        else:
            self.attention = LuongAttention(
                score=self.score,
                units=self.units,
                dtype=self.dtype_policy,
                name="attention",
            )
        self.attention.build(query_shape, features_shape)
        self.gate_dense = None
        if self.use_gate:
            # f_beta (sec. 4.2.1).
            self.gate_dense = keras.layers.Dense(
                1, dtype=self.dtype_policy, name="gate_dense"
            )
            self.gate_dense.build(query_shape)
        self.built = True

    def precompute_values(self, features):
        """The region side of the score for every `a_i`, computed once."""
        return self.attention.precompute_values(features)

    def call(self, query, features, mask=None, keys=None):
        if len(query.shape) != 2:
            raise ValueError(
                "`query` must be one step, (batch_size, query_dim). "
                f"Received: query.shape={tuple(query.shape)}"
            )
        # sum_i alpha_ti a_i with alpha_t = softmax_i(f_att(a_i, h_{t-1})).
        context, weights = self.attention(query, features, mask=mask, keys=keys)
        if self.gate_dense is None:
            gate = ops.ones_like(context[:, :1])
        else:
            gate = ops.sigmoid(self.gate_dense(query))  # beta_t, (B, 1)
        return gate * context, weights, gate

    def compute_output_shape(self, query_shape, features_shape):
        batch = query_shape[0]
        return (
            (batch, features_shape[-1]),
            (batch, features_shape[1]),
            (batch, 1),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "score": self.score,
                "units": self.units,
                "use_gate": self.use_gate,
            }
        )
        return config
