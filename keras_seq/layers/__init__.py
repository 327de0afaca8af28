"""Public API of keras_seq.layers; each module adds its exports here."""

from keras_seq.layers.attentional_hidden_state import AttentionalHiddenState
from keras_seq.layers.bahdanau_attention import BahdanauAttention
from keras_seq.layers.feed_forward import FeedForward
from keras_seq.layers.gated_soft_attention import GatedSoftAttention
from keras_seq.layers.gated_soft_attention import doubly_stochastic_penalty
from keras_seq.layers.image_feature_encoder import ImageFeatureEncoder
from keras_seq.layers.local_attention import LocalAttention
from keras_seq.layers.luong_attention import LuongAttention
from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.position_embedding import PositionEmbedding
from keras_seq.layers.rnn_encoder import RNNEncoder
from keras_seq.layers.sinusoidal_positional_encoding import (
    SinusoidalPositionalEncoding,
)
from keras_seq.layers.transformer_decoder import TransformerDecoder
from keras_seq.layers.transformer_decoder_layer import TransformerDecoderLayer
from keras_seq.layers.transformer_encoder import TransformerEncoder
from keras_seq.layers.transformer_encoder_layer import TransformerEncoderLayer

__all__ = [
    "AttentionalHiddenState",
    "BahdanauAttention",
    "FeedForward",
    "GatedSoftAttention",
    "ImageFeatureEncoder",
    "LocalAttention",
    "LuongAttention",
    "MultiHeadAttention",
    "PositionEmbedding",
    "RNNEncoder",
    "SinusoidalPositionalEncoding",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "doubly_stochastic_penalty",
]
