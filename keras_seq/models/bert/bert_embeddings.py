"""BERT input embeddings: token + segment + learned position."""

import keras
from keras import ops

from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_positive


@keras.saving.register_keras_serializable(package="keras_seq")
class BertEmbeddings(keras.layers.Layer):
    """Sum of token, segment and position embeddings, then LayerNorm, dropout.

    Devlin et al. 2019, sec. 3 ("Input/Output Representations"), fig. 2: the
    input
    representation of token t at position p in segment s is
    `LayerNorm(E_tok[t] + E_seg[s] + E_pos[p])`, followed by dropout. The
    position embeddings are learned, for positions `0 .. max_sequence_length
    - 1`.

    Sublayers (for weight mapping): `token_embedding` (`embeddings` of shape
    `(vocabulary_size, hidden_dim)`, also the tied output matrix of the
    masked-LM head), `segment_embedding` `(num_segments, hidden_dim)`,
    `position_embedding` `(max_sequence_length, hidden_dim)`, `layer_norm`.

    Args:
        vocabulary_size: int, number of word pieces.
        hidden_dim: int, embedding size H.
        max_sequence_length: int, number of learned positions.
        num_segments: int, number of segment (token type) ids.
        dropout: float in [0, 1), dropout after the LayerNorm.
        layer_norm_epsilon: float, epsilon of the LayerNorm.
        initializer_range: float, stddev of the truncated-normal initializer.
        **kwargs: base layer arguments.

    Call arguments:
        token_ids: int `(batch_size, sequence_length)`.
        segment_ids: int `(batch_size, sequence_length)`.
        training: bool.

    Returns:
        `(batch_size, sequence_length, hidden_dim)`.
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        max_sequence_length,
        num_segments=2,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        vocabulary_size = check_int("vocabulary_size", vocabulary_size)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        max_sequence_length = check_int(
            "max_sequence_length", max_sequence_length
        )
        num_segments = check_int("num_segments", num_segments)
        check_fraction("dropout", dropout)
        check_positive("layer_norm_epsilon", layer_norm_epsilon)
        check_positive("initializer_range", initializer_range)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def _initializer(self):
        return keras.initializers.TruncatedNormal(stddev=self.initializer_range)

    def build(self, token_ids_shape, segment_ids_shape=None):
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.hidden_dim,
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build(token_ids_shape)
        self.segment_embedding = keras.layers.Embedding(
            self.num_segments,
            self.hidden_dim,
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="segment_embedding",
        )
        self.segment_embedding.build(token_ids_shape)
        self.position_embedding = keras.layers.Embedding(
            self.max_sequence_length,
            self.hidden_dim,
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.position_embedding.build(token_ids_shape)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="layer_norm",
        )
        self.layer_norm.build(tuple(token_ids_shape) + (self.hidden_dim,))
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.built = True

    def call(self, token_ids, segment_ids=None, training=None):
        length = token_ids.shape[1]
        if length is not None and length > self.max_sequence_length:
            raise ValueError(
                "`token_ids` is longer than `max_sequence_length` "
                f"({self.max_sequence_length}). Received: token_ids with "
                f"shape={token_ids.shape}"
            )
        if segment_ids is None:
            segment_ids = ops.zeros_like(token_ids)
        positions = ops.arange(ops.shape(token_ids)[1])[None, :]  # (1, T)
        x = (
            self.token_embedding(token_ids)
            + self.segment_embedding(segment_ids)
            + self.position_embedding(positions)
        )  # (B, T, H)
        x = self.layer_norm(x)
        return self.dropout_layer(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config
