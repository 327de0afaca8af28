"""Position-wise feed-forward network of the Transformer."""

import keras

from keras_seq.validation import check_fraction
from keras_seq.validation import check_int


@keras.saving.register_keras_serializable(package="keras_seq")
class FeedForward(keras.layers.Layer):
    """Position-wise feed-forward network (Vaswani et al. 2017 eq. 2).

    FFN(x) = act(x W_1 + b_1) W_2 + b_2, applied to every position
    separately; `act` is ReLU in the paper (max(0, .)) and GELU in BERT.

    Sublayers: `intermediate_dense` (kernel `(hidden_dim, intermediate_dim)`)
    and `output_dense` (kernel `(intermediate_dim, hidden_dim)`).

    Args:
        intermediate_dim: int, inner size d_ff.
        activation: activation of the inner layer, "relu" (default) or
            "gelu" (or any Keras activation name/callable).
        dropout: float in [0, 1), dropout after the activation (as in
            tensor2tensor's "relu dropout").
        output_dim: int, output size; defaults to the input size.
        kernel_initializer: initializer of both kernels.
        bias_initializer: initializer of both biases.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        training: bool, dropout is active when True.

    Returns:
        `(batch_size, sequence_length, output_dim or hidden_dim)`.

    References:
        Vaswani et al. 2017, sec. 3.3.
    """

    def __init__(
        self,
        intermediate_dim,
        activation="relu",
        dropout=0.0,
        output_dim=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        intermediate_dim = check_int("intermediate_dim", intermediate_dim)
        check_fraction("dropout", dropout)
        output_dim = check_int("output_dim", output_dim, allow_none=True)
        try:
            self.activation = keras.activations.get(activation)
        except ValueError as error:
            raise ValueError(
                f"Unknown `activation`. Received: activation={activation}"
            ) from error
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.output_dim = output_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _clone_initializer(self, initializer):
        return keras.initializers.get(
            keras.saving.serialize_keras_object(initializer)
        )

    def build(self, inputs_shape):
        output_dim = self.output_dim or inputs_shape[-1]
        self.intermediate_dense = keras.layers.Dense(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=self._clone_initializer(self.kernel_initializer),
            bias_initializer=self._clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.intermediate_dense.build(inputs_shape)
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.output_dense = keras.layers.Dense(
            output_dim,
            kernel_initializer=self._clone_initializer(self.kernel_initializer),
            bias_initializer=self._clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.output_dense.build(
            tuple(inputs_shape[:-1]) + (self.intermediate_dim,)
        )
        self.built = True

    def call(self, inputs, training=None):
        x = self.intermediate_dense(inputs)  # act(x W_1 + b_1)
        x = self.dropout_layer(x, training=training)
        return self.output_dense(x)  # (...) W_2 + b_2

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.output_dim or inputs_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "output_dim": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config
