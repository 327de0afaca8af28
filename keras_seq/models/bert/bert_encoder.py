"""The BERT encoder (Devlin et al. 2019)."""

import keras

from keras_seq.layers.transformer_encoder_layer import TransformerEncoderLayer
from keras_seq.models.bert import checkpoint
from keras_seq.models.bert.bert_embeddings import BertEmbeddings
from keras_seq.validation import check_int

_INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def bert_inputs(*extra_int_inputs):
    """Symbolic inputs of a BERT functional model, as a dict.

    `token_ids` and `segment_ids` (int32) and `padding_mask` (bool), each
    `(batch_size, None)`, plus an int32 `(batch_size, None)` input for each
    name in `extra_int_inputs` (e.g. the pretrainer's `mask_positions`).
    """
    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="bool", name="padding_mask"),
    }
    for name in extra_int_inputs:
        inputs[name] = keras.Input((None,), dtype="int32", name=name)
    return inputs


def head_dense(backbone, units, name, **kwargs):
    """A task head's `Dense`, initialized like the backbone's kernels
    (truncated normal of `initializer_range`) and in its dtype policy."""
    return keras.layers.Dense(
        units,
        kernel_initializer=keras.initializers.TruncatedNormal(
            stddev=backbone.initializer_range
        ),
        dtype=backbone.dtype_policy,
        name=name,
        **kwargs,
    )


@keras.saving.register_keras_serializable(package="keras_seq")
class BertEncoder(keras.Model):
    """BERT: a bidirectional post-norm Transformer encoder.

    Devlin et al. 2019, sec. 3 and fig. 2; the encoder layers are those of
    Vaswani et al. 2017, sec. 3.1. The input representation
    is token + segment + learned position embeddings, LayerNorm and dropout
    (`BertEmbeddings`); then `num_layers` post-norm Transformer encoder
    layers with exact (erf) GELU feed-forward networks
    (`keras_seq.layers.TransformerEncoderLayer`). The outputs are the final
    hidden states T_1..T_N, C = the final hidden state of `[CLS]` (position
    0), and the pooled output tanh(W C + b) that BERT's next-sentence head
    reads.

    Sublayers (for weight mapping, see `checkpoint.py`): `embeddings`,
    `transformer_layer_{i}` and `pooler_dense`.

    Args:
        vocabulary_size: int, number of word pieces.
        num_layers: int, number of Transformer layers L.
        num_heads: int, number of attention heads A.
        hidden_dim: int, hidden size H (divisible by `num_heads`).
        intermediate_dim: int, feed-forward inner size (4H in BERT).
        dropout: float in [0, 1), dropout of the embeddings, the attention
            weights and the residual branches.
        max_sequence_length: int, number of learned positions.
        num_segments: int, number of segment ids.
        layer_norm_epsilon: float, epsilon of every LayerNorm.
        initializer_range: float, stddev of the truncated-normal initializer
            of the kernels and embeddings (0.02 in BERT).
        dtype: dtype policy of the layers (e.g. "mixed_float16").
        **kwargs: `keras.Model` arguments (e.g. `name`).

    Call arguments (a dict):
        token_ids: int32 `(batch_size, sequence_length)`.
        segment_ids: int32 `(batch_size, sequence_length)`.
        padding_mask: bool `(batch_size, sequence_length)`, True for tokens.

    Returns:
        Dict with `sequence_output` `(batch_size, sequence_length,
        hidden_dim)`, `cls_output` `(batch_size, hidden_dim)` and
        `pooled_output` `(batch_size, hidden_dim)`.

    Example:
        >>> encoder = BertEncoder(vocabulary_size=100, num_layers=2,
        ...     num_heads=2, hidden_dim=16, intermediate_dim=32, dropout=0.1,
        ...     max_sequence_length=32)
        >>> outputs = encoder({"token_ids": np.ones((2, 8), "int32"),
        ...     "segment_ids": np.zeros((2, 8), "int32"),
        ...     "padding_mask": np.ones((2, 8), bool)})
        >>> outputs["sequence_output"].shape
        TensorShape([2, 8, 16])

    References:
        Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional
        Transformers for Language Understanding".
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.1,
        max_sequence_length=512,
        num_segments=2,
        layer_norm_epsilon=1e-12,
        initializer_range=0.02,
        dtype=None,
        **kwargs,
    ):
        num_layers = check_int("num_layers", num_layers)
        num_heads = check_int("num_heads", num_heads)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        intermediate_dim = check_int("intermediate_dim", intermediate_dim)
        if hidden_dim % num_heads != 0:
            raise ValueError(
                "`hidden_dim` must be divisible by `num_heads`. Received: "
                f"hidden_dim={hidden_dim}, num_heads={num_heads}"
            )

        # === Layers ===
        embeddings = BertEmbeddings(
            vocabulary_size=vocabulary_size,
            hidden_dim=hidden_dim,
            max_sequence_length=max_sequence_length,
            num_segments=num_segments,
            dropout=dropout,
            layer_norm_epsilon=layer_norm_epsilon,
            initializer_range=initializer_range,
            dtype=dtype,
            name="embeddings",
        )
        transformer_layers = [
            TransformerEncoderLayer(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                activation="gelu",  # keras' gelu is the exact erf form
                layer_norm_epsilon=layer_norm_epsilon,
                normalize_first=False,
                kernel_initializer=keras.initializers.TruncatedNormal(
                    stddev=initializer_range
                ),
                dtype=dtype,
                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        pooler_dense = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=initializer_range
            ),
            dtype=dtype,
            name="pooler_dense",
        )

        # === Functional model ===
        inputs = bert_inputs()
        x = embeddings(inputs["token_ids"], inputs["segment_ids"])
        for layer in transformer_layers:
            x = layer(x, padding_mask=inputs["padding_mask"])
        cls_output = x[:, 0, :]  # C, the final state of [CLS]
        pooled_output = pooler_dense(cls_output)
        super().__init__(
            inputs=inputs,
            outputs={
                "sequence_output": x,
                "cls_output": cls_output,
                "pooled_output": pooled_output,
            },
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.embeddings = embeddings
        self.transformer_layers = transformer_layers
        self.pooler_dense = pooler_dense
        self.vocabulary_size = vocabulary_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_sequence_length = max_sequence_length
        self.num_segments = num_segments
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range

    def call(self, inputs, training=None, mask=None, **kwargs):
        # A functional model flattens a dict input by its sorted keys, so an
        # extra key (e.g. the pretrainer's `mask_positions`) would shift the
        # inputs silently. Keep only the encoder's own inputs.
        if isinstance(inputs, dict):
            missing = [k for k in _INPUT_NAMES if k not in inputs]
            if missing:
                raise ValueError(
                    f"BertEncoder inputs must contain {list(_INPUT_NAMES)}; "
                    f"missing {missing}. Received: inputs with keys="
                    f"{sorted(inputs)}"
                )
            inputs = {k: inputs[k] for k in _INPUT_NAMES}
        return super().call(inputs, training=training, mask=mask, **kwargs)

    @property
    def token_embedding(self):
        """The `keras.layers.Embedding` of the word pieces (tied MLM output)."""
        return self.embeddings.token_embedding

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(
                config["dtype"]
            )
        return cls(**config)

    @classmethod
    def from_hf_checkpoint(cls, directory, **kwargs):
        """Builds the encoder from a Hugging Face BERT checkpoint directory.

        See `keras_seq.models.bert.load_hf_bert_checkpoint`; this returns only
        the encoder.
        """
        return load_hf_bert_checkpoint(directory, **kwargs).encoder


def load_hf_bert_checkpoint(directory, dtype=None, skip_prefixes=("cls.",)):
    """Loads a Hugging Face BERT directory into a `BertEncoder`.

    Reads `config.json`, `model.safetensors` and `vocab.txt` (and
    `tokenizer_config.json` for `do_lower_case`, if present).

    Args:
        directory: path of the checkpoint directory.
        dtype: dtype policy of the encoder (the weights are loaded as
            float32 variables in any case).
        skip_prefixes: weight-name prefixes of task heads to ignore.

    Returns:
        `HFBertCheckpoint(encoder, vocabulary, lowercase, config)`:
        the encoder with the weights, the word pieces (list, id = index),
        whether the tokenizer lower-cases, and the encoder's arguments.

    Raises:
        ValueError: for a missing file, a config the encoder cannot
            represent, a vocabulary whose size differs from the config, or
            missing / unexpected / mis-shaped weights.
    """
    files = checkpoint.read_hf_bert_checkpoint(directory)
    encoder = BertEncoder(**files.config, dtype=dtype)
    checkpoint.assign_hf_weights(
        encoder, files.weights, skip_prefixes=skip_prefixes
    )
    return checkpoint.HFBertCheckpoint(
        encoder, files.vocabulary, files.lowercase, files.config
    )
