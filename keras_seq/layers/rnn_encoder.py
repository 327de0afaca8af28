"""Stacked (bi)LSTM/GRU encoder of the RNN encoder-decoder models."""

import keras
from keras import ops

from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of

CELLS = ("lstm", "gru")


@keras.saving.register_keras_serializable(package="keras_seq")
class RNNEncoder(keras.layers.Layer):
    """Token embedding followed by stacked, optionally bidirectional RNNs.

    The encoder of Sutskever et al. (2014), Cho et al. (2014), Bahdanau et
    al. (2015) and Luong et al. (2015): it reads `x_1..x_Tx` and returns every
    top-layer hidden state `h_1..h_Tx` (the memory attention reads, Luong
    et al. 2015 eq. 7, Bahdanau et al. 2015 eq. 5) and the final state of
    every layer (the fixed context `c = h_Tx`, Sutskever et al. 2014 sec. 2
    and Cho et al. 2014 sec. 2.2, and the decoder's initial state).

    Padding (token id 0, or `padding_mask=False`) is masked: the recurrence
    skips padded steps (the state is carried over unchanged), so the outputs
    and final states of a sequence do not depend on its padding, and the
    outputs at padded positions are exactly zero. A row that is all padding
    gives zero outputs and zero states.

    Bidirectional: each direction has `hidden_dim // 2` units (so
    `hidden_dim` must be even) and the two directions are concatenated
    `[forward; backward]`, the OpenNMT convention. The outputs and every
    final state therefore have size `hidden_dim` whether or not the encoder
    is bidirectional, and can initialise a unidirectional decoder of size
    `hidden_dim` without a projection. The backward final state is the
    state after reading `x_1` (Bahdanau et al. 2015 sec. 3.1 use it to start
    the decoder).

    Args:
        vocabulary_size: int, number of source token ids (id 0 is padding).
        embedding_dim: int, size of the token embeddings.
        hidden_dim: int, size of the outputs and of each final state.
        cell: `"lstm"` or `"gru"`.
        num_layers: int, number of stacked recurrent layers.
        bidirectional: bool, whether every layer reads in both directions.
        dropout: float in [0, 1), dropout on the embeddings and between
            stacked layers (not on the recurrent connections).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        token_ids: int tensor `(batch_size, source_length)`.
        padding_mask: optional bool tensor `(batch_size, source_length)`,
            `True` for real tokens. Defaults to `token_ids != 0`.
        training: bool, whether dropout is active.

    Returns:
        `(outputs, states)`: `outputs` is `(batch_size, source_length,
        hidden_dim)`; `states` is a list with one entry per layer (bottom
        first), each a list `[h, c]` for an LSTM or `[h]` for a GRU of
        tensors `(batch_size, hidden_dim)`.

    Example:
    >>> encoder = RNNEncoder(100, 16, 32, cell="lstm", bidirectional=True)
    >>> outputs, states = encoder(np.array([[5, 6, 7, 0]]))
    >>> outputs.shape, len(states), len(states[0])  # (1, 4, 32), 1, 2

    References:
        Sutskever, Vinyals, Le (2014). Sequence to Sequence Learning with
        Neural Networks. https://arxiv.org/abs/1409.3215
        Bahdanau, Cho, Bengio (2015). Neural Machine Translation by Jointly
        Learning to Align and Translate. https://arxiv.org/abs/1409.0473
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        cell="lstm",
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        vocabulary_size = check_int("vocabulary_size", vocabulary_size)
        embedding_dim = check_int("embedding_dim", embedding_dim)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        num_layers = check_int("num_layers", num_layers)
        check_one_of("cell", cell, CELLS)
        check_fraction("dropout", dropout)
        if not isinstance(bidirectional, bool):
            raise ValueError(
                "`bidirectional` must be a bool. "
                f"Received: bidirectional={bidirectional!r}"
            )
        if bidirectional and hidden_dim % 2:
            raise ValueError(
                "A bidirectional encoder splits `hidden_dim` between its two "
                "directions, so it must be even. "
                f"Received: hidden_dim={hidden_dim}"
            )
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.cell = cell
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout

    @property
    def num_states(self):
        """Number of state tensors per layer: 2 (h, c) for LSTM, 1 for GRU."""
        return 2 if self.cell == "lstm" else 1

    def build(self, token_ids_shape=None, padding_mask_shape=None):
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build(token_ids_shape)
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        rnn_class = (
            keras.layers.LSTM if self.cell == "lstm" else keras.layers.GRU
        )
        units = self.hidden_dim // 2 if self.bidirectional else self.hidden_dim
        self.rnn_layers = []
        input_dim = self.embedding_dim
        for i in range(self.num_layers):
            rnn = rnn_class(
                units,
                return_sequences=True,
                return_state=True,
                dtype=self.dtype_policy,
                name=f"{self.cell}_{i}",
            )
            if self.bidirectional:
                rnn = keras.layers.Bidirectional(
                    rnn,
                    merge_mode="concat",
                    dtype=self.dtype_policy,
                    name=f"bidirectional_{self.cell}_{i}",
                )
            rnn.build((None, None, input_dim))
            self.rnn_layers.append(rnn)
            input_dim = self.hidden_dim
        self.built = True

    def _check_inputs(self, token_ids):
        if len(token_ids.shape) != 2:
            raise ValueError(
                "`token_ids` must have shape (batch_size, source_length). "
                f"Received: token_ids.shape={tuple(token_ids.shape)}"
            )
        if token_ids.shape[1] == 0:
            raise ValueError(
                "`token_ids` must hold at least one position. "
                f"Received: token_ids.shape={tuple(token_ids.shape)}"
            )

    def call(self, token_ids, padding_mask=None, training=None):
        self._check_inputs(token_ids)
        if padding_mask is None:
            padding_mask = ops.not_equal(token_ids, 0)
        padding_mask = ops.cast(padding_mask, "bool")
        x = self.token_embedding(token_ids)  # (B, S, E)
        x = self.dropout_layer(x, training=training)
        states = []
        n = self.num_states
        for i, rnn in enumerate(self.rnn_layers):
            # Masked steps carry the previous state over, so h_Tx is the
            # state after the last real token, whatever the padding.
            x, *layer_states = rnn(x, mask=padding_mask, training=training)
            if self.bidirectional:
                forward, backward = layer_states[:n], layer_states[n:]
                layer_states = [
                    ops.concatenate([f, b], axis=-1)
                    for f, b in zip(forward, backward)
                ]
            states.append(list(layer_states))
            if i < self.num_layers - 1:
                x = self.dropout_layer(x, training=training)
        # Zero outputs at padded positions (the RNN would copy the last
        # state there), so nothing downstream can read them by accident.
        x = x * ops.cast(ops.expand_dims(padding_mask, -1), x.dtype)
        return x, states

    def compute_output_shape(self, token_ids_shape, padding_mask_shape=None):
        batch, length = token_ids_shape[0], token_ids_shape[1]
        state = (batch, self.hidden_dim)
        states = [[state] * self.num_states for _ in range(self.num_layers)]
        return (batch, length, self.hidden_dim), states

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "cell": self.cell,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "dropout": self.dropout,
            }
        )
        return config
