"""The Transformer encoder-decoder for translation (Vaswani et al. 2017)."""

import math

import keras
from keras import ops

from keras_seq.layers.position_embedding import PositionEmbedding
from keras_seq.layers.sinusoidal_positional_encoding import (
    SinusoidalPositionalEncoding,
)
from keras_seq.layers.transformer_decoder import TransformerDecoder
from keras_seq.layers.transformer_encoder import TransformerEncoder
from keras_seq.text.special_tokens import BOS_ID
from keras_seq.text.special_tokens import EOS_ID
from keras_seq.text.special_tokens import PAD_ID
from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of
from keras_seq.validation import check_token_ids

POSITIONAL_ENCODINGS = ("sinusoidal", "learned")


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerSeq2Seq(keras.Model):
    """Transformer encoder-decoder (Vaswani et al. 2017, fig. 1).

    source ids -> embedding * sqrt(d) + positional encoding -> dropout ->
    N encoder layers; target ids (`[BOS] y_1 .. y_n`) -> embedding * sqrt(d)
    + positional encoding -> dropout -> N decoder layers (masked
    self-attention, cross-attention on the encoder output, FFN) -> linear
    output projection -> logits over the target vocabulary (sec. 3.4).

    Padding is derived from `ids != 0` (`[PAD]`). Logits are float32 under
    any dtype policy (`"mixed_float16"`, `"mixed_bfloat16"`), so losses and
    decoding are computed in float32.

    Sublayers: `source_embedding`, `target_embedding` (the same layer when
    `share_embeddings`), `source_position_encoding`,
    `target_position_encoding`, `encoder` (`TransformerEncoder`), `decoder`
    (`TransformerDecoder`) and `output_projection` (a `Dense`, absent when
    `share_embeddings`: the logits are then `x E^T`, the weight tying of
    sec. 3.4).

    Decoding contract (docs/design.md): `initial_decoding_state(source_ids,
    max_length)` encodes the source once, projects the cross-attention keys
    and values of every decoder layer once and preallocates the
    self-attention cache to `max_length`; `decode_step(token_ids, state,
    step)` runs the decoder on one token and returns `(logits (B, V),
    state, {"alignment": (B, S)})`, the alignment being the last decoder
    layer's cross-attention weights averaged over the heads; `generate`
    runs `keras_seq.decoding.greedy_search` / `beam_search`.

    Args:
        source_vocabulary_size: int.
        target_vocabulary_size: int.
        hidden_dim: int, d_model.
        num_layers: int, N, layers of the encoder and of the decoder.
        num_heads: int, h; must divide `hidden_dim`.
        intermediate_dim: int, d_ff.
        dropout: float in [0, 1), P_drop (embeddings, residuals, attention
            weights, FFN).
        max_source_length: int, longest source accepted.
        max_target_length: int, longest target (and decoding length).
        share_embeddings: bool, one embedding matrix for source, target and
            the output projection (needs equal vocabulary sizes, i.e. a
            joint vocabulary).
        positional_encoding: "sinusoidal" (sec. 3.5) or "learned".
        normalize_first: bool, pre-norm layers (post-norm, the paper's, by
            default).
        activation: FFN activation, "relu" (paper) or "gelu".
        layer_norm_epsilon: float.
        **kwargs: `keras.Model` arguments (`name`, `dtype`).

    Call arguments:
        inputs: dict with `source_ids` `(batch_size, S)` and `target_in`
            `(batch_size, T)` int32, padded with 0.
        training: bool.
        return_attention_scores: bool, also return a dict of every
            attention weight: `encoder` (list per layer of `(B, h, S, S)`),
            `decoder_self` (`(B, h, T, T)`), `decoder_cross` (`(B, h, T, S)`).

    Returns:
        logits `(batch_size, T, target_vocabulary_size)` float32, or
        `(logits, weights)`.

    References:
        Vaswani et al. 2017, "Attention Is All You Need".
    """

    def __init__(
        self,
        source_vocabulary_size,
        target_vocabulary_size,
        hidden_dim=256,
        num_layers=3,
        num_heads=4,
        intermediate_dim=1024,
        dropout=0.1,
        max_source_length=128,
        max_target_length=128,
        share_embeddings=False,
        positional_encoding="sinusoidal",
        normalize_first=False,
        activation="relu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        source_vocabulary_size = check_int(
            "source_vocabulary_size", source_vocabulary_size
        )
        target_vocabulary_size = check_int(
            "target_vocabulary_size", target_vocabulary_size
        )
        hidden_dim = check_int("hidden_dim", hidden_dim)
        num_layers = check_int("num_layers", num_layers)
        num_heads = check_int("num_heads", num_heads)
        intermediate_dim = check_int("intermediate_dim", intermediate_dim)
        max_source_length = check_int("max_source_length", max_source_length)
        max_target_length = check_int("max_target_length", max_target_length)
        if hidden_dim % num_heads:
            raise ValueError(
                "`hidden_dim` must be divisible by `num_heads`. "
                f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
            )
        check_fraction("dropout", dropout)
        check_one_of(
            "positional_encoding", positional_encoding, POSITIONAL_ENCODINGS
        )
        if share_embeddings and (
            source_vocabulary_size != target_vocabulary_size
        ):
            raise ValueError(
                "`share_embeddings=True` needs one joint vocabulary "
                "(equal sizes). Received: share_embeddings=True, "
                f"source_vocabulary_size={source_vocabulary_size}, "
                f"target_vocabulary_size={target_vocabulary_size}"
            )
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.share_embeddings = share_embeddings
        self.positional_encoding = positional_encoding
        self.normalize_first = normalize_first
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self._create_layers()

    def _create_layers(self):
        policy = self.dtype_policy
        # With the sqrt(d) scale of sec. 3.4, N(0, d^-1/2) embeddings give
        # unit-variance inputs (as tensor2tensor initializes them).
        initializer = keras.initializers.RandomNormal(
            stddev=self.hidden_dim**-0.5
        )
        self.source_embedding = keras.layers.Embedding(
            self.source_vocabulary_size,
            self.hidden_dim,
            embeddings_initializer=initializer,
            dtype=policy,
            name="source_embedding",
        )
        if self.share_embeddings:
            self.target_embedding = self.source_embedding
        else:
            self.target_embedding = keras.layers.Embedding(
                self.target_vocabulary_size,
                self.hidden_dim,
                embeddings_initializer=initializer,
                dtype=policy,
                name="target_embedding",
            )

        def position(name, length):
            if self.positional_encoding == "sinusoidal":
                return SinusoidalPositionalEncoding(
                    length, dtype=policy, name=name
                )
            return PositionEmbedding(length, dtype=policy, name=name)

        self.source_position_encoding = position(
            "source_position_encoding", self.max_source_length
        )
        self.target_position_encoding = position(
            "target_position_encoding", self.max_target_length
        )
        self.embedding_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="embedding_dropout"
        )
        common = {
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "normalize_first": self.normalize_first,
            "dtype": policy,
        }
        self.encoder = TransformerEncoder(name="encoder", **common)
        self.decoder = TransformerDecoder(name="decoder", **common)
        self.output_projection = None
        if not self.share_embeddings:
            self.output_projection = keras.layers.Dense(
                self.target_vocabulary_size,
                dtype=policy,
                name="output_projection",
            )

    def build(self, input_shape=None):
        # Every size is known from the constructor: build the same way
        # whatever shape is given (also when loaded from .keras).
        if self.built:
            return
        d = self.hidden_dim
        self.source_embedding.build((None, None))
        self.target_embedding.build((None, None))
        self.source_position_encoding.build((None, None, d))
        self.target_position_encoding.build((None, None, d))
        self.encoder.build((None, None, d))
        self.decoder.build((None, None, d), (None, None, d))
        if self.output_projection is not None:
            self.output_projection.build((None, None, d))
        self.built = True

    def build_from_config(self, config):
        self.build()

    # ------------------------------------------------------------------

    def _check_ids(self, name, ids, max_length, integer_dtype=False):
        # Float dtypes pass here (Keras may convert `call()` inputs, e.g.
        # under a distribution strategy) but known values must be whole
        # numbers in range; `generate()` also requires an integer dtype.
        size = (
            self.source_vocabulary_size
            if name == "source_ids"
            else self.target_vocabulary_size
        )
        check_token_ids(
            name,
            ids,
            size,
            max_length=max_length,
            max_length_name=(
                "max_source_length"
                if name == "source_ids"
                else "max_target_length"
            ),
            integer_dtype=integer_dtype,
        )

    def _embed(
        self, embedding, position, token_ids, start_index=0, training=None
    ):
        # sec. 3.4: "we multiply those weights by sqrt(d_model)".
        x = embedding(token_ids)
        x = x * ops.cast(math.sqrt(self.hidden_dim), x.dtype)
        x = position(x, start_index=start_index)
        return self.embedding_dropout(x, training=training)

    def _project(self, x):
        if self.output_projection is not None:
            logits = self.output_projection(x)
        else:
            table = ops.cast(self.target_embedding.embeddings, x.dtype)
            logits = ops.matmul(x, ops.transpose(table))
        return ops.cast(logits, "float32")

    def encode(self, source_ids, training=None, return_attention_scores=False):
        """Encoder output `(B, S, d)` and the source padding mask `(B, S)`.

        With `return_attention_scores` the list of encoder self-attention
        weights follows.
        """
        self.build()
        self._check_ids("source_ids", source_ids, self.max_source_length)
        source_ids = ops.cast(source_ids, "int32")
        source_mask = ops.not_equal(source_ids, PAD_ID)
        x = self._embed(
            self.source_embedding,
            self.source_position_encoding,
            source_ids,
            training=training,
        )
        outputs = self.encoder(
            x,
            padding_mask=source_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        if return_attention_scores:
            return outputs[0], source_mask, outputs[1]
        return outputs, source_mask

    def call(self, inputs, training=None, return_attention_scores=False):
        source_ids = inputs["source_ids"]
        self._check_ids(
            "target_in", inputs["target_in"], self.max_target_length
        )
        target_in = ops.cast(inputs["target_in"], "int32")
        encoded = self.encode(
            source_ids,
            training=training,
            return_attention_scores=return_attention_scores,
        )
        encoder_output, source_mask = encoded[0], encoded[1]
        target_mask = ops.not_equal(target_in, PAD_ID)
        y = self._embed(
            self.target_embedding,
            self.target_position_encoding,
            target_in,
            training=training,
        )
        decoded = self.decoder(
            y,
            encoder_output,
            decoder_padding_mask=target_mask,
            encoder_padding_mask=source_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        if not return_attention_scores:
            return self._project(decoded)
        y, decoder_weights = decoded
        weights = {
            "encoder": encoded[2],
            "decoder_self": decoder_weights["self"],
            "decoder_cross": decoder_weights["cross"],
        }
        return self._project(y), weights

    def compute_output_shape(self, input_shape):
        target_shape = input_shape["target_in"]
        return (target_shape[0], target_shape[1], self.target_vocabulary_size)

    # ------------------------------------------------------------------
    # Decoding (docs/design.md).

    def initial_decoding_state(self, source_ids, max_length=None):
        """Encodes the source once; returns the state `decode_step` carries.

        Args:
            source_ids: int `(B, S)`, padded with 0.
            max_length: int, number of target positions the self-attention
                cache holds (the most steps that can be decoded); defaults
                to `max_target_length`.

        Returns:
            Dict with `source_padding_mask` `(B, S)` bool and `cache`:
            `{"layer_i": {"self_key", "self_value": (B, max_length, h,
            d/h), "cross_key", "cross_value": (B, S, h, d/h)}}` (the
            cross-attention keys/values of the encoder output, computed
            here once).
        """
        if max_length is None:
            max_length = self.max_target_length
        if not isinstance(max_length, int) or not (
            1 <= max_length <= self.max_target_length
        ):
            raise ValueError(
                "`max_length` must be an int in [1, max_target_length="
                f"{self.max_target_length}]. Received: max_length={max_length}"
            )
        encoder_output, source_mask = self.encode(source_ids, training=False)
        batch_size = ops.shape(encoder_output)[0]
        cache = self.decoder.initial_cache(
            batch_size, max_length, encoder_output
        )
        return {"source_padding_mask": source_mask, "cache": cache}

    def decode_step(self, token_ids, state, step):
        """One decoding step with the cache.

        Args:
            token_ids: int `(B,)`, the previous token (BOS at step 0).
            state: the dict from `initial_decoding_state`.
            step: int scalar, 0-based index of the token being produced
                (its position in the target).

        Returns:
            `(logits (B, V) float32, new_state, {"alignment": (B, S)})`.
        """
        self.build()
        token_ids = ops.expand_dims(ops.cast(token_ids, "int32"), 1)
        step = ops.cast(step, "int32")
        y = self._embed(
            self.target_embedding,
            self.target_position_encoding,
            token_ids,
            start_index=step,
            training=False,
        )  # (B, 1, d)
        y, weights, cache = self.decoder(
            y,
            encoder_padding_mask=state["source_padding_mask"],
            cache=state["cache"],
            cache_update_index=step,
            return_attention_scores=True,
            training=False,
        )
        logits = self._project(y)[:, 0, :]  # (B, V)
        # Alignment: last layer's cross-attention averaged over heads.
        alignment = ops.mean(
            ops.cast(weights["cross"][-1][:, :, 0, :], "float32"), axis=1
        )  # (B, S)
        new_state = {
            "source_padding_mask": state["source_padding_mask"],
            "cache": cache,
        }
        return logits, new_state, {"alignment": alignment}

    def generate(self, source_ids, strategy="greedy", max_length=None, **kw):
        """Translates `source_ids` `(B, S)` with `keras_seq.decoding`.

        Args:
            source_ids: int `(batch_size, source_length)`, padded with 0.
            strategy: "greedy", "beam" or "sample" (see
                `keras_seq.decoding.search`).
            max_length: int, most tokens produced per sentence (EOS
                included); defaults to `max_target_length`.
            **kw: passed to the search function (e.g. `beam_width`,
                `length_penalty`).

        Returns:
            dict with `token_ids` `(B, L)` int32 (0 after EOS), `lengths`,
            `scores` and `alignment` `(B, L, S)`.
        """
        from keras_seq import decoding

        if max_length is None:
            max_length = self.max_target_length
        self._check_ids("source_ids", source_ids, self.max_source_length, True)
        source_ids = ops.convert_to_tensor(source_ids, "int32")
        state = self.initial_decoding_state(source_ids, max_length)
        start_ids = ops.full((ops.shape(source_ids)[0],), BOS_ID, "int32")
        return decoding.search(
            strategy,
            self.decode_step,
            state,
            start_ids,
            end_id=EOS_ID,
            max_length=max_length,
            source_mask=state["source_padding_mask"],
            **kw,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "source_vocabulary_size": self.source_vocabulary_size,
                "target_vocabulary_size": self.target_vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "max_source_length": self.max_source_length,
                "max_target_length": self.max_target_length,
                "share_embeddings": self.share_embeddings,
                "positional_encoding": self.positional_encoding,
                "normalize_first": self.normalize_first,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
