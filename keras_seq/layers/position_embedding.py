"""Learned position embedding."""

import keras
from keras import ops

from keras_seq.validation import check_int


@keras.saving.register_keras_serializable(package="keras_seq")
class PositionEmbedding(keras.layers.Layer):
    """Learned position embedding, the alternative of Vaswani et al. sec. 3.5.

    A trainable table P of shape `(max_sequence_length, hidden_dim)` (weight
    `embeddings`); position `pos` gets row P[pos]. Used by BERT (Devlin et
    al. 2019) and as `positional_encoding="learned"` in `TransformerSeq2Seq`.

    Args:
        max_sequence_length: int, number of rows of the table.
        initializer: initializer of the table.
        add_to_inputs: bool, return `inputs + P[positions]` (default) or
            `P[positions]` broadcast to the shape of `inputs`.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        start_index: int or int scalar tensor, position of the first element.

    Returns:
        `(batch_size, sequence_length, hidden_dim)`.
    """

    def __init__(
        self,
        max_sequence_length,
        initializer="glorot_uniform",
        add_to_inputs=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        max_sequence_length = check_int(
            "max_sequence_length", max_sequence_length
        )
        self.max_sequence_length = max_sequence_length
        self.initializer = keras.initializers.get(initializer)
        self.add_to_inputs = add_to_inputs

    def build(self, inputs_shape):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
            trainable=True,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        length = inputs.shape[-2]
        if length is not None and length > self.max_sequence_length:
            raise ValueError(
                "The inputs are longer than `max_sequence_length`="
                f"{self.max_sequence_length}. "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        shape = ops.shape(inputs)
        hidden_dim = inputs.shape[-1]
        table = ops.cast(self.embeddings, self.compute_dtype)
        rows = ops.slice(table, (start_index, 0), (shape[-2], hidden_dim))
        if self.add_to_inputs:
            return ops.cast(inputs, self.compute_dtype) + rows
        return ops.broadcast_to(rows, shape)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_sequence_length": self.max_sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
                "add_to_inputs": self.add_to_inputs,
            }
        )
        return config
