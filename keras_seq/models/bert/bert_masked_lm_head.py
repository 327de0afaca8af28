"""The masked-LM head of BERT."""

import keras
from keras import ops

from keras_seq.validation import check_int
from keras_seq.validation import check_positive


@keras.saving.register_keras_serializable(package="keras_seq")
class BertMaskedLMHead(keras.layers.Layer):
    """Predicts the original word pieces at the masked positions.

    Devlin et al. 2019, sec. 3.1 ("Task #1: Masked LM") and the reference
    implementation: the final hidden states at the chosen positions go through
    a transform `LayerNorm(gelu(h W_t + b_t))`, then are multiplied by the
    transposed token-embedding matrix plus an output bias:
    `logits = transform(h) E^T + b` (weights tied to the input embedding).

    Tied mode: pass `token_embedding` (the encoder's `keras.layers.Embedding`,
    e.g. `BertEncoder.token_embedding`); the head then owns only the
    transform and the bias. It is not part of the config: the model that owns
    both (`BertPretrainer`) passes it again when it is rebuilt. Without
    `token_embedding` the head has its own output matrix (untied).

    Args:
        vocabulary_size: int, number of word pieces V.
        token_embedding: optional `keras.layers.Embedding` of shape
            `(vocabulary_size, hidden_dim)` whose matrix is the output layer.
        layer_norm_epsilon: float, epsilon of the transform's LayerNorm.
        initializer_range: float, stddev of the truncated-normal initializer.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`, the encoder's
            `sequence_output`.
        mask_positions: int `(batch_size, num_predictions)`, the positions to
            predict.

    Returns:
        float32 logits `(batch_size, num_predictions, vocabulary_size)`.
    """

    def __init__(
        self,
        vocabulary_size,
        token_embedding=None,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        vocabulary_size = check_int("vocabulary_size", vocabulary_size)
        if token_embedding is not None:
            input_dim = getattr(token_embedding, "input_dim", None)
            if input_dim != vocabulary_size:
                raise ValueError(
                    "`token_embedding` must be a keras.layers.Embedding with "
                    "`input_dim == vocabulary_size`. Received: "
                    f"token_embedding={token_embedding!r} (input_dim="
                    f"{input_dim}), vocabulary_size={vocabulary_size}"
                )
        check_positive("layer_norm_epsilon", layer_norm_epsilon)
        self.vocabulary_size = vocabulary_size
        self.token_embedding = token_embedding
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def _initializer(self):
        return keras.initializers.TruncatedNormal(stddev=self.initializer_range)

    def build(self, inputs_shape, mask_positions_shape=None):
        hidden_dim = inputs_shape[-1]
        if self.token_embedding is not None:
            output_dim = self.token_embedding.output_dim
            if output_dim != hidden_dim:
                raise ValueError(
                    "The hidden size of the inputs must equal the embedding "
                    f"size of `token_embedding` ({output_dim}). Received: "
                    f"inputs with shape={inputs_shape}"
                )
        feature_shape = (None, None, hidden_dim)
        self.transform_dense = keras.layers.Dense(
            hidden_dim,
            activation="gelu",  # exact erf GELU, as BERT
            kernel_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="transform_dense",
        )
        self.transform_dense.build(feature_shape)
        self.transform_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="transform_layer_norm",
        )
        self.transform_layer_norm.build(feature_shape)
        if self.token_embedding is None:
            self.output_kernel = self.add_weight(
                shape=(self.vocabulary_size, hidden_dim),
                initializer=self._initializer(),
                name="output_kernel",
            )
        self.output_bias = self.add_weight(
            shape=(self.vocabulary_size,),
            initializer="zeros",
            name="output_bias",
        )
        self.built = True

    def call(self, inputs, mask_positions):
        mask_positions = ops.cast(mask_positions, "int32")
        # (B, P, H): the hidden states at the chosen positions.
        x = ops.take_along_axis(inputs, mask_positions[:, :, None], axis=1)
        x = self.transform_layer_norm(self.transform_dense(x))
        if self.token_embedding is not None:
            kernel = self.token_embedding.embeddings  # (V, H), tied
        else:
            kernel = self.output_kernel
        kernel = ops.cast(kernel, self.compute_dtype)
        logits = ops.einsum("bph,vh->bpv", x, kernel)
        logits = logits + ops.cast(self.output_bias, self.compute_dtype)
        # float32 for a stable softmax in mixed precision.
        return ops.cast(logits, "float32")

    def compute_output_shape(self, inputs_shape, mask_positions_shape):
        return (
            inputs_shape[0],
            mask_positions_shape[1],
            self.vocabulary_size,
        )

    def compute_output_spec(self, inputs, mask_positions):
        return keras.KerasTensor(
            self.compute_output_shape(inputs.shape, mask_positions.shape),
            dtype="float32",
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "initializer_range": self.initializer_range,
            }
        )
        return config
