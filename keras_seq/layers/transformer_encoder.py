"""A stack of Transformer encoder layers."""

import keras

from keras_seq.layers.transformer_args import TransformerArgs
from keras_seq.layers.transformer_encoder_layer import TransformerEncoderLayer
from keras_seq.validation import check_int


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerEncoder(TransformerArgs, keras.layers.Layer):
    """N identical encoder layers (Vaswani et al. 2017 sec. 3.1, N = 6).

    Sublayers `layer_0` .. `layer_{N-1}` (`TransformerEncoderLayer`) and, for
    pre-norm (`normalize_first=True`), a final `output_layer_norm`, since a
    pre-norm layer leaves its output unnormalized.

    Args:
        num_layers: int, number of layers N.
        num_heads: int, attention heads per layer.
        intermediate_dim: int, feed-forward inner size d_ff.
        dropout: float in [0, 1).
        activation: feed-forward activation, "relu" or "gelu".
        layer_norm_epsilon: float.
        normalize_first: bool, pre-norm layers plus a final LayerNorm.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: optional bool `(batch_size, sequence_length)`.
        attention_mask: optional bool `(batch_size, sequence_length,
            sequence_length)`.
        return_attention_scores: bool, also return the list of the
            self-attention weights of every layer, each `(batch_size,
            num_heads, sequence_length, sequence_length)`.
        training: bool.

    Returns:
        `(batch_size, sequence_length, hidden_dim)`, or `(outputs, weights)`.
    """

    def __init__(
        self,
        num_layers,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_layers = check_int("num_layers", num_layers)
        self._set_transformer_args(
            num_heads,
            intermediate_dim,
            dropout,
            activation,
            layer_norm_epsilon,
            normalize_first,
            kernel_initializer,
            bias_initializer,
        )

    def build(self, inputs_shape):
        self.encoder_layers = []
        for i in range(self.num_layers):
            layer = TransformerEncoderLayer(
                **self._transformer_args(),
                dtype=self.dtype_policy,
                name=f"layer_{i}",
            )
            layer.build(inputs_shape)
            self.encoder_layers.append(layer)
        self.output_layer_norm = None
        if self.normalize_first:
            self.output_layer_norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon,
                dtype=self.dtype_policy,
                name="output_layer_norm",
            )
            self.output_layer_norm.build(inputs_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        x = inputs
        all_weights = []
        for layer in self.encoder_layers:
            x = layer(
                x,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
            )
            if return_attention_scores:
                x, weights = x
                all_weights.append(weights)
        if self.output_layer_norm is not None:
            x = self.output_layer_norm(x)
        if return_attention_scores:
            return x, all_weights
        return x

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                **self._transformer_args(),
                "num_layers": self.num_layers,
            }
        )
        return config
