"""Arguments shared by every Transformer layer and stack.

`TransformerArgs` is the mixin of `TransformerEncoderLayer`,
`TransformerDecoderLayer`, `TransformerEncoder` and `TransformerDecoder`;
`head_dim_for` is d_k = d_model / h (Vaswani et al. 2017 sec. 3.2.2).
"""

import keras

from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_positive


def validate_transformer_args(
    num_heads, intermediate_dim, dropout, layer_norm_epsilon
):
    """Shared argument checks of the Transformer layers.

    Returns:
        `(num_heads, intermediate_dim)` as Python ints.
    """
    num_heads = check_int("num_heads", num_heads)
    intermediate_dim = check_int("intermediate_dim", intermediate_dim)
    check_fraction("dropout", dropout)
    check_positive("layer_norm_epsilon", layer_norm_epsilon)
    return num_heads, intermediate_dim


def head_dim_for(hidden_dim, num_heads):
    """d_k = d_model / h (sec. 3.2.2); errors if it does not divide."""
    if hidden_dim % num_heads != 0:
        raise ValueError(
            "The hidden size of the inputs must be divisible by `num_heads`. "
            f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
        )
    return hidden_dim // num_heads


class TransformerArgs:
    """Mixin of the arguments every Transformer layer and stack shares.

    `num_heads`, `intermediate_dim`, `dropout`, `activation`,
    `layer_norm_epsilon`, `normalize_first` and the two initializers: checked
    and stored once here; `_transformer_args()` returns them as config values
    (initializers serialized), for `get_config` and for building the layers
    of a stack.
    """

    def _set_transformer_args(
        self,
        num_heads,
        intermediate_dim,
        dropout,
        activation,
        layer_norm_epsilon,
        normalize_first,
        kernel_initializer,
        bias_initializer,
    ):
        num_heads, intermediate_dim = validate_transformer_args(
            num_heads, intermediate_dim, dropout, layer_norm_epsilon
        )
        try:
            keras.activations.get(activation)
        except ValueError as error:
            raise ValueError(
                f"Unknown `activation`. Received: activation={activation}"
            ) from error
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _initializers(self):
        return {
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
        }

    def _transformer_args(self):
        return {
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "normalize_first": self.normalize_first,
            **self._initializers(),
        }
