"""An image captioner with a Transformer decoder over the image regions."""

import math

import keras
from keras import ops

from keras_seq import metrics as _metrics  # noqa: F401
from keras_seq.layers.position_embedding import PositionEmbedding
from keras_seq.layers.sinusoidal_positional_encoding import (
    SinusoidalPositionalEncoding,
)
from keras_seq.layers.transformer_decoder import TransformerDecoder
from keras_seq.layers.transformer_encoder import TransformerEncoder
from keras_seq.models.show_attend_tell_captioner import PAD_ID
from keras_seq.models.show_attend_tell_captioner import _generate
from keras_seq.models.show_attend_tell_captioner import check_encoder
from keras_seq.models.show_attend_tell_captioner import (
    check_images_and_captions,
)
from keras_seq.models.show_attend_tell_captioner import check_positive_int


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerCaptioner(keras.Model):
    """Transformer decoder cross-attending to the `L` regions of an image.

    The CNN (`ImageFeatureEncoder`) gives the annotation vectors `a_i`
    `(B, L, D)` of Xu et al. (2015); they are projected to `hidden_dim`
    (sublayer `feature_projection`), given a learned embedding of their
    grid position (`region_position_embedding`, one row per region) and,
    with `num_encoder_layers > 0`, contextualised by Transformer encoder
    layers (`region_encoder`). The caption goes through keras-seq's
    `TransformerDecoder` (masked self-attention, cross-attention over the
    regions, FFN; Vaswani et al. 2017 sec. 3.1) with token embeddings
    scaled by `sqrt(hidden_dim)` plus sinusoidal positions (sec. 3.4-3.5),
    and a linear `output_projection` gives the logits.

    The decoding contract is the one of `TransformerSeq2Seq`:
    `initial_decoding_state(images, max_length)` encodes once, projects
    each layer's cross-attention keys/values once and preallocates the
    self-attention cache; `decode_step` returns the last decoder layer's
    cross-attention weights averaged over the heads as `alignment`
    `(B, L)`, the Transformer's counterpart of `alpha_t`.

    Args:
        encoder: an `ImageFeatureEncoder`.
        vocabulary_size: int (ids 0-3 are [PAD], [UNK], [BOS], [EOS]).
        hidden_dim: int, d_model.
        num_layers: int, decoder layers.
        num_heads: int, divides `hidden_dim`.
        intermediate_dim: int, d_ff.
        num_encoder_layers: int >= 0, Transformer encoder layers over the
            regions (0: the projected CNN features are used as they are).
        dropout: float in [0, 1).
        max_caption_length: int, longest `target_in` and decoding length.
        normalize_first: bool, pre-norm layers.
        activation: FFN activation, "relu" or "gelu".
        layer_norm_epsilon: float.
        **kwargs: `keras.Model` arguments.

    Call arguments:
        inputs: dict with `"images"` float `(batch_size, height, width, 3)`
            in `[0, 1]` and `"target_in"` int `(batch_size, T)`.
        training: bool.
        return_alignments: bool, also return the last layer's
            cross-attention averaged over heads, `(batch_size, T, L)`.

    Returns:
        logits `(batch_size, T, vocabulary_size)` float32, or
        `(logits, alignments)`.

    References:
        Vaswani et al. (2017). Attention Is All You Need.
        Xu et al. (2015). Show, Attend and Tell. ICML.
    """

    # `_generate` passes `max_length` to `initial_decoding_state`.
    needs_max_length = True

    def __init__(
        self,
        encoder,
        vocabulary_size,
        hidden_dim=128,
        num_layers=2,
        num_heads=4,
        intermediate_dim=512,
        num_encoder_layers=0,
        dropout=0.1,
        max_caption_length=32,
        normalize_first=False,
        activation="relu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        encoder = check_encoder(encoder)
        for name, value in (
            ("vocabulary_size", vocabulary_size),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
            ("num_heads", num_heads),
            ("intermediate_dim", intermediate_dim),
            ("max_caption_length", max_caption_length),
        ):
            check_positive_int(name, value)
        if (
            isinstance(num_encoder_layers, bool)
            or not isinstance(num_encoder_layers, int)
            or num_encoder_layers < 0
        ):
            raise ValueError(
                "`num_encoder_layers` must be an int >= 0. "
                f"Received: num_encoder_layers={num_encoder_layers!r}"
            )
        if hidden_dim % num_heads:
            raise ValueError(
                "`hidden_dim` must be divisible by `num_heads`. "
                f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
            )
        if isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout!r}"
            )
        self.encoder = encoder
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.num_encoder_layers = num_encoder_layers
        self.dropout = dropout
        self.max_caption_length = max_caption_length
        self.normalize_first = normalize_first
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        policy = self.dtype_policy
        self.feature_projection = keras.layers.Dense(
            hidden_dim, dtype=policy, name="feature_projection"
        )
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            hidden_dim,
            embeddings_initializer=keras.initializers.RandomNormal(
                stddev=hidden_dim**-0.5
            ),
            dtype=policy,
            name="token_embedding",
        )
        self.token_position_encoding = SinusoidalPositionalEncoding(
            max_caption_length, dtype=policy, name="token_position_encoding"
        )
        self.embedding_dropout = keras.layers.Dropout(
            dropout, dtype=policy, name="embedding_dropout"
        )
        common = {
            "num_heads": num_heads,
            "intermediate_dim": intermediate_dim,
            "dropout": dropout,
            "activation": activation,
            "layer_norm_epsilon": layer_norm_epsilon,
            "normalize_first": normalize_first,
            "dtype": policy,
        }
        self.region_encoder = None
        if num_encoder_layers:
            self.region_encoder = TransformerEncoder(
                num_encoder_layers, name="region_encoder", **common
            )
        self.decoder = TransformerDecoder(num_layers, name="decoder", **common)
        self.output_projection = keras.layers.Dense(
            vocabulary_size, dtype=policy, name="output_projection"
        )

    def build(self, input_shape=None):
        if self.built:
            return
        if not self.encoder.built:
            self.encoder.build((None,) + tuple(self.encoder.image_shape))
        d = self.hidden_dim
        num_regions = self.encoder.num_regions
        # One learned vector per grid cell: created here because L is only
        # known once the CNN is built.
        self.region_position_embedding = PositionEmbedding(
            num_regions,
            dtype=self.dtype_policy,
            name="region_position_embedding",
        )
        self.feature_projection.build((None, None, self.encoder.feature_dim))
        self.region_position_embedding.build((None, num_regions, d))
        self.token_embedding.build((None, None))
        self.token_position_encoding.build((None, None, d))
        if self.region_encoder is not None:
            self.region_encoder.build((None, num_regions, d))
        self.decoder.build((None, None, d), (None, num_regions, d))
        self.output_projection.build((None, None, d))
        self.built = True

    def build_from_config(self, config):
        self.build()

    @property
    def num_regions(self):
        return self.encoder.num_regions

    # ------------------------------------------------------------------

    def encode(self, images, training=None):
        """The regions as the decoder's memory, `(B, L, hidden_dim)`."""
        self.build()
        features = self.encoder(images, training=training)  # (B, L, D)
        x = self.feature_projection(features)
        x = self.region_position_embedding(x)
        x = self.embedding_dropout(x, training=training)
        if self.region_encoder is not None:
            x = self.region_encoder(x, training=training)
        return x

    def _embed(self, token_ids, start_index=0, training=None):
        x = self.token_embedding(token_ids)
        # Vaswani et al. 2017 sec. 3.4: embeddings times sqrt(d_model).
        x = x * ops.cast(math.sqrt(self.hidden_dim), x.dtype)
        x = self.token_position_encoding(x, start_index=start_index)
        return self.embedding_dropout(x, training=training)

    def call(self, inputs, training=None, return_alignments=False):
        images, target_in = check_images_and_captions(inputs)
        length = target_in.shape[1]
        if length is not None and length > self.max_caption_length:
            raise ValueError(
                "`target_in` is longer than max_caption_length="
                f"{self.max_caption_length}. "
                f"Received: target_in.shape={tuple(target_in.shape)}"
            )
        memory = self.encode(images, training=training)
        y = self._embed(target_in, training=training)
        outputs = self.decoder(
            y,
            memory,
            decoder_padding_mask=ops.not_equal(target_in, PAD_ID),
            return_attention_scores=return_alignments,
            training=training,
        )
        if not return_alignments:
            return ops.cast(self.output_projection(outputs), "float32")
        y, weights = outputs
        logits = ops.cast(self.output_projection(y), "float32")
        # (B, heads, T, L) -> mean over heads (B, T, L).
        alignments = ops.mean(ops.cast(weights["cross"][-1], "float32"), 1)
        return logits, alignments

    def compute_output_shape(self, input_shape):
        batch, length = input_shape["target_in"]
        return (batch, length, self.vocabulary_size)

    # ------------------------------------------------------------------
    # Decoding contract (docs/design.md).

    def initial_decoding_state(self, images, max_length=None):
        """Encodes the images; returns `{"cache": ...}` for `decode_step`.

        Args:
            images: float `(B, height, width, 3)`.
            max_length: int, positions of the self-attention cache;
                defaults to `max_caption_length`.
        """
        if max_length is None:
            max_length = self.max_caption_length
        if (
            not isinstance(max_length, int)
            or isinstance(max_length, bool)
            or not 1 <= max_length <= self.max_caption_length
        ):
            raise ValueError(
                "`max_length` must be an int in [1, max_caption_length="
                f"{self.max_caption_length}]. Received: max_length={max_length}"
            )
        memory = self.encode(images, training=False)
        batch = ops.shape(memory)[0]
        return {"cache": self.decoder.initial_cache(batch, max_length, memory)}

    def decode_step(self, token_ids, state, step):
        """`(logits (B, V) float32, new_state, {"alignment": (B, L)})`."""
        self.build()
        token_ids = ops.expand_dims(ops.cast(token_ids, "int32"), 1)
        step = ops.cast(step, "int32")
        y = self._embed(token_ids, start_index=step, training=False)
        y, weights, cache = self.decoder(
            y,
            cache=state["cache"],
            cache_update_index=step,
            return_attention_scores=True,
            training=False,
        )
        logits = ops.cast(self.output_projection(y), "float32")[:, 0, :]
        alignment = ops.mean(
            ops.cast(weights["cross"][-1][:, :, 0, :], "float32"), axis=1
        )  # (B, L)
        return logits, {"cache": cache}, {"alignment": alignment}

    def generate(self, images, strategy="greedy", max_length=None, **kw):
        """Captions `images`; same arguments and outputs as
        `ShowAttendTellCaptioner.generate` (without `gate`)."""
        return _generate(self, images, strategy, max_length, kw)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "num_encoder_layers": self.num_encoder_layers,
                "dropout": self.dropout,
                "max_caption_length": self.max_caption_length,
                "normalize_first": self.normalize_first,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
