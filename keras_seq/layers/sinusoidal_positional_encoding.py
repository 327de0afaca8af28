"""Fixed sinusoidal positional encoding of the Transformer."""

import keras
from keras import ops

from keras_seq.validation import check_int
from keras_seq.validation import check_one_of
from keras_seq.validation import check_positive

LAYOUTS = ("interleaved", "concatenated")


@keras.saving.register_keras_serializable(package="keras_seq")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Sinusoidal positional encoding (Vaswani et al. 2017 sec. 3.5).

    PE(pos, 2i) = sin(pos / base^(2i / d)) and
    PE(pos, 2i + 1) = cos(pos / base^(2i / d)), d the hidden size.

    Two layouts of the same numbers:

    - `"interleaved"` (default, the formula as written): even features are
      sines, odd features cosines.
    - `"concatenated"`: all sines (i = 0 .. d/2 - 1) then all cosines, the
      layout of tensor2tensor and keras-hub's `SinusoidalPositionEncoding`.
      It is a fixed permutation of the features, equivalent for a model
      trained with it but not interchangeable with the other layout.

    The paper uses `base=10000`; some lecture slides print 1000. `base` is a
    parameter so both can be reproduced.

    The layer has no weights. With `add_to_inputs=True` (default) it returns
    `inputs + PE`; with `add_to_inputs=False` it returns the encoding alone,
    broadcast to the shape of `inputs`.

    Args:
        max_sequence_length: int, largest position + 1 the layer accepts
            (checked when the length is static).
        base: float, the base of the wavelengths (10000 in the paper).
        layout: "interleaved" or "concatenated", see above.
        add_to_inputs: bool, add the encoding to the inputs or return it.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`, hidden_dim even.
        start_index: int or int scalar tensor, position of the first element
            (the decoding step when decoding one token at a time).

    Returns:
        `(batch_size, sequence_length, hidden_dim)`.

    References:
        Vaswani et al. 2017, "Attention Is All You Need", sec. 3.5.
    """

    def __init__(
        self,
        max_sequence_length,
        base=10000.0,
        layout="interleaved",
        add_to_inputs=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        max_sequence_length = check_int(
            "max_sequence_length", max_sequence_length
        )
        check_positive("base", base)
        check_one_of("layout", layout, LAYOUTS)
        self.max_sequence_length = max_sequence_length
        self.base = float(base)
        self.layout = layout
        self.add_to_inputs = add_to_inputs
        self.built = True

    def _check_inputs(self, inputs_shape):
        hidden_dim = inputs_shape[-1]
        if hidden_dim is not None and hidden_dim % 2:
            raise ValueError(
                "The hidden size of the inputs must be even. "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        length = inputs_shape[-2]
        if length is not None and length > self.max_sequence_length:
            raise ValueError(
                "The inputs are longer than `max_sequence_length`="
                f"{self.max_sequence_length}. "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )

    def encoding(self, length, hidden_dim, start_index=0):
        """The encoding `(length, hidden_dim)` in float32."""
        positions = ops.cast(
            ops.arange(length, dtype="int32") + ops.cast(start_index, "int32"),
            "float32",
        )
        # 1 / base^(2i / d) for i = 0 .. d/2 - 1.
        two_i = ops.arange(0, hidden_dim, 2, dtype="float32")
        inverse_wavelengths = ops.exp(
            -ops.log(self.base) * two_i / float(hidden_dim)
        )
        angles = ops.expand_dims(positions, 1) * ops.expand_dims(
            inverse_wavelengths, 0
        )  # (length, d/2)
        sines, cosines = ops.sin(angles), ops.cos(angles)
        if self.layout == "concatenated":
            return ops.concatenate([sines, cosines], axis=-1)
        # (length, d/2, 2) -> (length, d): sin, cos, sin, cos, ...
        return ops.reshape(
            ops.stack([sines, cosines], axis=-1), (length, hidden_dim)
        )

    def call(self, inputs, start_index=0):
        self._check_inputs(inputs.shape)
        shape = ops.shape(inputs)
        encoding = self.encoding(shape[-2], inputs.shape[-1], start_index)
        encoding = ops.cast(encoding, self.compute_dtype)
        if self.add_to_inputs:
            return ops.cast(inputs, self.compute_dtype) + encoding
        return ops.broadcast_to(encoding, shape)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_sequence_length": self.max_sequence_length,
                "base": self.base,
                "layout": self.layout,
                "add_to_inputs": self.add_to_inputs,
            }
        )
        return config
