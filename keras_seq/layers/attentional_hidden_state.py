"""Attentional hidden state of Luong et al. (2015), eq. 5."""

import keras
from keras import ops

from keras_seq.validation import check_int


@keras.saving.register_keras_serializable(package="keras_seq")
class AttentionalHiddenState(keras.layers.Layer):
    """Combines the context and the decoder state: `tanh(W_c [c_t; q_t])`.

    Luong et al. (2015) eq. 5: `q~_t = tanh(W_c [c_t; q_t])`. The output
    distribution `softmax(W_s q~_t)` (eq. 6) is a plain `Dense` in the model,
    and with input feeding `q~_{t-1}` is concatenated to the input of step
    `t`. `W_c` has shape `(hidden_dim, context_dim + query_dim)`; it is stored
    transposed as the kernel of the sublayer `combine_dense`, whose first
    `context_dim` rows multiply `c_t` and the rest `q_t` (the order of the
    concatenation `[c_t; q_t]`).

    Args:
        hidden_dim: size of `q~_t`.
        activation: activation applied to `W_c [c_t; q_t]`; `"tanh"` as in
            the paper.
        use_bias: whether to add a bias (the paper has none).
        kernel_initializer: initializer of `W_c`.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        context: `(batch_size, context_dim)` or
            `(batch_size, target_length, context_dim)`, from the attention.
        query: decoder state(s) of the same leading shape,
            `(..., query_dim)`.

    Returns:
        `q~_t` of shape `(..., hidden_dim)`, the leading shape of `query`.

    Example:
    >>> combine = AttentionalHiddenState(hidden_dim=16)
    >>> context = np.random.rand(2, 5, 8).astype("float32")
    >>> query = np.random.rand(2, 5, 12).astype("float32")
    >>> combine(context, query).shape  # (2, 5, 16)

    References:
        Luong, Pham, Manning (2015). Effective Approaches to Attention-based
        Neural Machine Translation. EMNLP. https://arxiv.org/abs/1508.04025
    """

    def __init__(
        self,
        hidden_dim,
        activation="tanh",
        use_bias=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        try:
            self.activation = keras.activations.get(activation)
        except (ValueError, TypeError) as error:
            raise ValueError(
                "`activation` must be a Keras activation. "
                f"Received: activation={activation!r}"
            ) from error
        self.hidden_dim = hidden_dim
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def _check_shapes(self, context_shape, query_shape):
        if len(context_shape) not in (2, 3):
            raise ValueError(
                "`context` must have rank 2 or 3. "
                f"Received: context.shape={tuple(context_shape)}"
            )
        if len(query_shape) != len(context_shape):
            raise ValueError(
                "`context` and `query` must have the same rank. Received: "
                f"context.shape={tuple(context_shape)}, "
                f"query.shape={tuple(query_shape)}"
            )
        for a, b in zip(context_shape[:-1], query_shape[:-1]):
            if a is not None and b is not None and a != b:
                raise ValueError(
                    "`context` and `query` must have the same leading "
                    "dimensions. Received: "
                    f"context.shape={tuple(context_shape)}, "
                    f"query.shape={tuple(query_shape)}"
                )
        if context_shape[-1] is None or query_shape[-1] is None:
            raise ValueError(
                "The last dimensions of `context` and `query` must be known. "
                f"Received: context.shape={tuple(context_shape)}, "
                f"query.shape={tuple(query_shape)}"
            )

    def build(self, context_shape, query_shape):
        self._check_shapes(context_shape, query_shape)
        self.combine_dense = keras.layers.Dense(
            self.hidden_dim,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            dtype=self.dtype_policy,
            name="combine_dense",
        )
        self.combine_dense.build(
            tuple(query_shape[:-1]) + (context_shape[-1] + query_shape[-1],)
        )
        self.built = True

    def call(self, context, query):
        self._check_shapes(context.shape, query.shape)
        # Luong et al. 2015 eq. 5: tanh(W_c [c_t; q_t]).
        combined = ops.concatenate([context, query], axis=-1)
        return self.activation(self.combine_dense(combined))

    def compute_mask(self, context, previous_mask=None):
        return getattr(context, "_keras_mask", None)

    def compute_output_shape(self, context_shape, query_shape):
        self._check_shapes(context_shape, query_shape)
        return tuple(query_shape[:-1]) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
