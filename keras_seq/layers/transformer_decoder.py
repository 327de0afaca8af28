"""A stack of Transformer decoder layers with a key/value cache."""

import keras

from keras_seq.layers.transformer_args import TransformerArgs
from keras_seq.layers.transformer_decoder_layer import TransformerDecoderLayer
from keras_seq.validation import check_int


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerDecoder(TransformerArgs, keras.layers.Layer):
    """N identical decoder layers (Vaswani et al. 2017 sec. 3.1, N = 6).

    Sublayers `layer_0` .. `layer_{N-1}` (`TransformerDecoderLayer`) and, for
    pre-norm, a final `output_layer_norm`.

    Cached decoding: `initial_cache(batch_size, max_length, encoder_sequence)`
    returns `{"layer_i": {"self_key", "self_value", "cross_key",
    "cross_value"}}`: the self-attention cache preallocated to `max_length`
    (zeros, `(batch_size, max_length, num_heads, head_dim)`) and the
    cross-attention keys/values projected once from the encoder output
    (`(batch_size, S, num_heads, head_dim)`). Calling with `cache=` and
    `cache_update_index=step` writes the new positions at `step` and
    returns the updated cache.

    Args:
        num_layers: int, number of layers N.
        num_heads: int, attention heads per layer.
        intermediate_dim: int, feed-forward inner size d_ff.
        dropout: float in [0, 1).
        activation: feed-forward activation, "relu" or "gelu".
        layer_norm_epsilon: float.
        normalize_first: bool, pre-norm layers plus a final LayerNorm.
        use_cross_attention: bool, False for a decoder-only stack.
        kernel_initializer: initializer of all kernels.
        bias_initializer: initializer of all biases.
        **kwargs: base layer arguments.

    Call arguments:
        decoder_sequence: `(batch_size, T, hidden_dim)`.
        encoder_sequence: `(batch_size, S, encoder_dim)`, not needed when
            `cache` holds the cross-attention keys/values.
        decoder_padding_mask: optional bool `(batch_size, T)`.
        encoder_padding_mask: optional bool `(batch_size, S)`.
        cache: optional dict from `initial_cache`.
        cache_update_index: int scalar, position of the first query.
        return_attention_scores: bool, also return a dict
            `{"self": [per layer (batch_size, num_heads, T, T|max_length)],
            "cross": [per layer (batch_size, num_heads, T, S)]}`.
        training: bool.

    Returns:
        `outputs` `(batch_size, T, hidden_dim)`, then the weights dict if
        requested, then the updated cache if one was given.
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
        use_cross_attention=True,
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
        self.use_cross_attention = use_cross_attention

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        self.decoder_layers = []
        for i in range(self.num_layers):
            layer = TransformerDecoderLayer(
                **self._transformer_args(),
                use_cross_attention=self.use_cross_attention,
                dtype=self.dtype_policy,
                name=f"layer_{i}",
            )
            layer.build(decoder_sequence_shape, encoder_sequence_shape)
            self.decoder_layers.append(layer)
        self.output_layer_norm = None
        if self.normalize_first:
            self.output_layer_norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon,
                dtype=self.dtype_policy,
                name="output_layer_norm",
            )
            self.output_layer_norm.build(decoder_sequence_shape)
        self.built = True

    def initial_cache(self, batch_size, max_length, encoder_sequence=None):
        """Preallocated self-attention cache + cross keys/values computed once.

        Args:
            batch_size: int or int scalar tensor.
            max_length: int, number of positions the cache holds.
            encoder_sequence: `(batch_size, S, encoder_dim)`, required with
                cross-attention.

        Returns:
            Dict `{"layer_i": {"self_key", "self_value"[, "cross_key",
            "cross_value"]}}`.
        """
        if self.use_cross_attention and encoder_sequence is None:
            raise ValueError(
                "`encoder_sequence` is required with cross-attention. "
                "Received: encoder_sequence=None"
            )
        cache = {}
        for i, layer in enumerate(self.decoder_layers):
            self_cache = layer.initial_self_attention_cache(
                batch_size, max_length
            )
            entry = {
                "self_key": self_cache["key"],
                "self_value": self_cache["value"],
            }
            if self.use_cross_attention:
                cross = layer.compute_cross_attention_cache(encoder_sequence)
                entry["cross_key"] = cross["key"]
                entry["cross_value"] = cross["value"]
            cache[f"layer_{i}"] = entry
        return cache

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        cache=None,
        cache_update_index=None,
        return_attention_scores=False,
        training=None,
    ):
        if cache is not None and cache_update_index is None:
            raise ValueError(
                "`cache_update_index` is required with a `cache`. "
                "Received: cache_update_index=None"
            )
        x = decoder_sequence
        weights = {"self": [], "cross": []}
        new_cache = {}
        for i, layer in enumerate(self.decoder_layers):
            kwargs = {}
            if cache is not None:
                entry = cache[f"layer_{i}"]
                kwargs["self_attention_cache"] = {
                    "key": entry["self_key"],
                    "value": entry["self_value"],
                }
                kwargs["self_attention_cache_update_index"] = cache_update_index
                if self.use_cross_attention:
                    kwargs["cross_attention_cache"] = {
                        "key": entry["cross_key"],
                        "value": entry["cross_value"],
                    }
            outputs = layer(
                x,
                encoder_sequence=(encoder_sequence if cache is None else None),
                decoder_padding_mask=decoder_padding_mask,
                encoder_padding_mask=encoder_padding_mask,
                return_attention_scores=return_attention_scores,
                training=training,
                **kwargs,
            )
            if not isinstance(outputs, tuple):
                outputs = (outputs,)
            x = outputs[0]
            rest = list(outputs[1:])
            if return_attention_scores:
                weights["self"].append(rest.pop(0))
                if self.use_cross_attention:
                    weights["cross"].append(rest.pop(0))
            if cache is not None:
                self_cache = rest.pop(0)
                entry = dict(cache[f"layer_{i}"])
                entry["self_key"] = self_cache["key"]
                entry["self_value"] = self_cache["value"]
                new_cache[f"layer_{i}"] = entry
        if self.output_layer_norm is not None:
            x = self.output_layer_norm(x)
        results = (x,)
        if return_attention_scores:
            results += (weights,)
        if cache is not None:
            results += (new_cache,)
        return results[0] if len(results) == 1 else results

    def compute_output_shape(
        self, decoder_sequence_shape, encoder_sequence_shape=None
    ):
        return tuple(decoder_sequence_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                **self._transformer_args(),
                "num_layers": self.num_layers,
                "use_cross_attention": self.use_cross_attention,
            }
        )
        return config
