"""One Transformer encoder layer."""

import keras

from keras_seq.layers.feed_forward import FeedForward
from keras_seq.layers.multi_head_attention import MultiHeadAttention


def validate_transformer_args(
    num_heads, intermediate_dim, dropout, layer_norm_epsilon
):
    """Shared argument checks of the Transformer layers (Keras style)."""
    if not isinstance(num_heads, int) or num_heads < 1:
        raise ValueError(
            "`num_heads` must be a positive int. "
            f"Received: num_heads={num_heads}"
        )
    if not isinstance(intermediate_dim, int) or intermediate_dim < 1:
        raise ValueError(
            "`intermediate_dim` must be a positive int. "
            f"Received: intermediate_dim={intermediate_dim}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(
            f"`dropout` must be in [0, 1). Received: dropout={dropout}"
        )
    if not layer_norm_epsilon > 0:
        raise ValueError(
            "`layer_norm_epsilon` must be > 0. "
            f"Received: layer_norm_epsilon={layer_norm_epsilon}"
        )


def head_dim_for(hidden_dim, num_heads):
    """d_k = d_model / h (sec. 3.2.2); errors if it does not divide."""
    if hidden_dim % num_heads != 0:
        raise ValueError(
            "The hidden size of the inputs must be divisible by `num_heads`. "
            f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
        )
    return hidden_dim // num_heads


class TransformerArgs:
    """Mixin of the arguments every Transformer layer and stack shares.

    `num_heads`, `intermediate_dim`, `dropout`, `activation`,
    `layer_norm_epsilon`, `normalize_first` and the two initializers: checked
    and stored once here; `_transformer_args()` returns them as config values
    (initializers serialized), for `get_config` and for building the layers
    of a stack.
    """

    def _set_transformer_args(
        self,
        num_heads,
        intermediate_dim,
        dropout,
        activation,
        layer_norm_epsilon,
        normalize_first,
        kernel_initializer,
        bias_initializer,
    ):
        validate_transformer_args(
            num_heads, intermediate_dim, dropout, layer_norm_epsilon
        )
        try:
            keras.activations.get(activation)
        except ValueError as error:
            raise ValueError(
                f"Unknown `activation`. Received: activation={activation}"
            ) from error
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _initializers(self):
        return {
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
        }

    def _transformer_args(self):
        return {
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "normalize_first": self.normalize_first,
            **self._initializers(),
        }


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerEncoderLayer(TransformerArgs, keras.layers.Layer):
    """Transformer encoder layer (Vaswani et al. 2017 sec. 3.1).

    Two sublayers, multi-head self-attention and the position-wise
    feed-forward network, each wrapped in a residual connection with layer
    normalization (sec. 3.1, 5.4):

    - post-norm (paper, default): x = LayerNorm(x + Dropout(Sublayer(x)))
    - pre-norm (`normalize_first=True`): x = x + Dropout(Sublayer(
      LayerNorm(x))); a stack of pre-norm layers needs a final LayerNorm
      (`TransformerEncoder` adds it).

    Sublayers (for weight mapping): `self_attention` (`MultiHeadAttention`,
    key_dim = hidden_dim / num_heads), `self_attention_layer_norm`,
    `feed_forward` (`FeedForward`) and `feed_forward_layer_norm`.

    Args:
        num_heads: int, number of attention heads h.
        intermediate_dim: int, inner size d_ff of the feed-forward network.
        dropout: float in [0, 1), residual dropout P_drop (sec. 5.4), also
            applied to the attention weights and inside the feed-forward
            network.
        activation: feed-forward activation, "relu" (paper) or "gelu" (BERT).
        layer_norm_epsilon: float, epsilon of the layer normalizations.
        normalize_first: bool, pre-norm instead of the paper's post-norm.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: optional bool `(batch_size, sequence_length)`, True for
            real tokens; padded positions get zero attention weight.
        attention_mask: optional bool `(batch_size, sequence_length,
            sequence_length)`.
        return_attention_scores: bool, also return the self-attention weights
            `(batch_size, num_heads, sequence_length, sequence_length)`.
        training: bool.

    Returns:
        `(batch_size, sequence_length, hidden_dim)`, or `(outputs, weights)`.

    References:
        Vaswani et al. 2017, "Attention Is All You Need", sec. 3.1-3.3.
    """

    def __init__(
        self,
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
        hidden_dim = inputs_shape[-1]
        head_dim = head_dim_for(hidden_dim, self.num_heads)
        self.self_attention = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=head_dim,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="self_attention",
            **self._initializers(),
        )
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="self_attention_layer_norm",
        )
        self.self_attention_layer_norm.build(inputs_shape)
        self.self_attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="feed_forward",
            **self._initializers(),
        )
        self.feed_forward.build(inputs_shape)
        self.feed_forward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="feed_forward_layer_norm",
        )
        self.feed_forward_layer_norm.build(inputs_shape)
        self.feed_forward_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="feed_forward_dropout"
        )
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

        # Self-attention block: LayerNorm(x + Dropout(MHA(x, x, x))).
        residual = x
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        attended = self.self_attention(
            x,
            x,
            value_mask=padding_mask,
            attention_mask=attention_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        if return_attention_scores:
            x, weights = attended
        else:
            x = attended
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        # Feed-forward block: LayerNorm(x + Dropout(FFN(x))).
        residual = x
        if self.normalize_first:
            x = self.feed_forward_layer_norm(x)
        x = self.feed_forward(x, training=training)
        x = residual + self.feed_forward_dropout(x, training=training)
        if not self.normalize_first:
            x = self.feed_forward_layer_norm(x)

        if return_attention_scores:
            return x, weights
        return x

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(self._transformer_args())
        return config
