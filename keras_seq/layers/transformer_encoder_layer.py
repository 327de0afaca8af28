"""One Transformer encoder layer."""

import keras

from keras_seq.layers.feed_forward import FeedForward
from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.transformer_args import TransformerArgs
from keras_seq.layers.transformer_args import head_dim_for


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
