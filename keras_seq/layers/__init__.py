"""Public API of keras_seq.layers; each module adds its exports here."""
from keras_seq.layers.luong_attention import LuongAttention
from keras_seq.layers.rnn_encoder import RNNEncoder
from keras_seq.layers.attentional_hidden_state import AttentionalHiddenState
from keras_seq.layers.bahdanau_attention import BahdanauAttention
