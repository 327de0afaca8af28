"""One Transformer decoder layer."""

import keras

from keras_seq.layers.feed_forward import FeedForward
from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.transformer_args import TransformerArgs
from keras_seq.layers.transformer_args import head_dim_for


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerDecoderLayer(TransformerArgs, keras.layers.Layer):
    """Transformer decoder layer (Vaswani et al. 2017 sec. 3.1, 3.2.3).

    Three sublayers, each in a residual connection with layer normalization
    (post-norm by default, pre-norm with `normalize_first=True`):

    1. masked multi-head self-attention: position i attends only to
       positions <= i (`self_attention`, `self_attention_layer_norm`);
    2. cross-attention, queries from the decoder, keys and values from the
       encoder output (`cross_attention`, `cross_attention_layer_norm`),
       present only when `use_cross_attention=True` (a decoder-only layer
       otherwise);
    3. the position-wise feed-forward network (`feed_forward`,
       `feed_forward_layer_norm`).

    Incremental decoding: `self_attention_cache` (`{"key", "value"}` of shape
    `(batch_size, max_length, num_heads, head_dim)`, see
    `initial_self_attention_cache`) is updated at
    `self_attention_cache_update_index`; `cross_attention_cache` holds the
    encoder keys/values projected once (`compute_cross_attention_cache`), in
    which case `encoder_sequence` is not needed.

    Args:
        num_heads: int, number of attention heads h.
        intermediate_dim: int, inner size d_ff of the feed-forward network.
        dropout: float in [0, 1), residual/attention/FFN dropout.
        activation: feed-forward activation, "relu" or "gelu".
        layer_norm_epsilon: float, epsilon of the layer normalizations.
        normalize_first: bool, pre-norm instead of post-norm.
        use_cross_attention: bool, whether the layer has cross-attention.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: base layer arguments.

    Call arguments:
        decoder_sequence: `(batch_size, T, hidden_dim)`.
        encoder_sequence: `(batch_size, S, encoder_dim)`; required with
            cross-attention unless `cross_attention_cache` is given.
        decoder_padding_mask: optional bool `(batch_size, T)`.
        encoder_padding_mask: optional bool `(batch_size, S)`.
        self_attention_cache: optional dict, see above.
        self_attention_cache_update_index: int scalar, position of the first
            query when decoding with the cache.
        cross_attention_cache: optional dict of projected encoder keys/values.
        return_attention_scores: bool, also return the attention weights.
        training: bool.

    Returns:
        `outputs` `(batch_size, T, hidden_dim)`; with
        `return_attention_scores` a tuple `(outputs, self_attention_weights
        (batch_size, num_heads, T, T or max_length), cross_attention_weights
        (batch_size, num_heads, T, S))`; with a self-attention cache the
        caches follow: `(..., self_attention_cache, cross_attention_cache)`.
        Without cross-attention its weights and cache are left out.

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
        use_cross_attention=True,
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
        self.use_cross_attention = use_cross_attention

    def _layer_norm(self, name, shape):
        layer = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(shape)
        return layer

    def _dropout(self, name):
        return keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name=name
        )

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        hidden_dim = decoder_sequence_shape[-1]
        head_dim = head_dim_for(hidden_dim, self.num_heads)
        self.head_dim = head_dim
        self.self_attention = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=head_dim,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="self_attention",
            **self._initializers(),
        )
        self.self_attention.build(
            decoder_sequence_shape, decoder_sequence_shape
        )
        self.self_attention_layer_norm = self._layer_norm(
            "self_attention_layer_norm", decoder_sequence_shape
        )
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        if self.use_cross_attention:
            if encoder_sequence_shape is None:
                encoder_sequence_shape = decoder_sequence_shape
            self.cross_attention = MultiHeadAttention(
                num_heads=self.num_heads,
                key_dim=head_dim,
                dropout=self.dropout,
                output_dim=hidden_dim,
                dtype=self.dtype_policy,
                name="cross_attention",
                **self._initializers(),
            )
            self.cross_attention.build(
                decoder_sequence_shape, encoder_sequence_shape
            )
            self.cross_attention_layer_norm = self._layer_norm(
                "cross_attention_layer_norm", decoder_sequence_shape
            )
            self.cross_attention_dropout = self._dropout(
                "cross_attention_dropout"
            )
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="feed_forward",
            **self._initializers(),
        )
        self.feed_forward.build(decoder_sequence_shape)
        self.feed_forward_layer_norm = self._layer_norm(
            "feed_forward_layer_norm", decoder_sequence_shape
        )
        self.feed_forward_dropout = self._dropout("feed_forward_dropout")
        self.built = True

    def initial_self_attention_cache(self, batch_size, max_length):
        """Zero self-attention key/value cache of `max_length` positions."""
        return self.self_attention.initial_cache(batch_size, max_length)

    def compute_cross_attention_cache(self, encoder_sequence):
        """Encoder keys/values of the cross-attention, projected once."""
        if not self.use_cross_attention:
            raise ValueError(
                "This layer has no cross-attention. "
                "Received: use_cross_attention=False"
            )
        return self.cross_attention.compute_key_value(encoder_sequence)

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        self_attention_cache=None,
        self_attention_cache_update_index=None,
        cross_attention_cache=None,
        return_attention_scores=False,
        training=None,
    ):
        if self.use_cross_attention and (
            encoder_sequence is None and cross_attention_cache is None
        ):
            raise ValueError(
                "`encoder_sequence` (or `cross_attention_cache`) is required "
                "when `use_cross_attention=True`. Received: "
                "encoder_sequence=None"
            )
        if not self.use_cross_attention and encoder_sequence is not None:
            raise ValueError(
                "This layer has no cross-attention, do not pass an encoder "
                "sequence. Received: use_cross_attention=False"
            )
        x = decoder_sequence
        self_weights = cross_weights = None

        # Masked self-attention block (sec. 3.2.3).
        residual = x
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        results = self.self_attention(
            x,
            x,
            value_mask=decoder_padding_mask,
            use_causal_mask=True,
            return_attention_scores=return_attention_scores,
            training=training,
            cache=self_attention_cache,
            cache_update_index=self_attention_cache_update_index,
        )
        if not isinstance(results, tuple):
            results = (results,)
        x = results[0]
        if return_attention_scores:
            self_weights = results[1]
        if self_attention_cache is not None:
            self_attention_cache = results[-1]
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        # Cross-attention block: queries from the decoder, keys and values
        # from the encoder output.
        if self.use_cross_attention:
            residual = x
            if self.normalize_first:
                x = self.cross_attention_layer_norm(x)
            value = (
                encoder_sequence
                if encoder_sequence is not None
                else cross_attention_cache["value"]
            )
            results = self.cross_attention(
                x,
                value,
                value_mask=encoder_padding_mask,
                return_attention_scores=return_attention_scores,
                training=training,
                cache=cross_attention_cache,
            )
            if not isinstance(results, tuple):
                results = (results,)
            x = results[0]
            if return_attention_scores:
                cross_weights = results[1]
            x = residual + self.cross_attention_dropout(x, training=training)
            if not self.normalize_first:
                x = self.cross_attention_layer_norm(x)

        # Position-wise feed-forward block (sec. 3.3).
        residual = x
        if self.normalize_first:
            x = self.feed_forward_layer_norm(x)
        x = self.feed_forward(x, training=training)
        x = residual + self.feed_forward_dropout(x, training=training)
        if not self.normalize_first:
            x = self.feed_forward_layer_norm(x)

        outputs = (x,)
        if return_attention_scores:
            outputs += (self_weights,)
            if self.use_cross_attention:
                outputs += (cross_weights,)
        if self_attention_cache is not None:
            outputs += (self_attention_cache,)
            if self.use_cross_attention:
                outputs += (cross_attention_cache,)
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_output_shape(
        self, decoder_sequence_shape, encoder_sequence_shape=None
    ):
        return tuple(decoder_sequence_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                **self._transformer_args(),
                "use_cross_attention": self.use_cross_attention,
            }
        )
        return config
