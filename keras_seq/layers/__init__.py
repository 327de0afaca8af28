"""Public API of keras_seq.layers; each module adds its exports here."""
from keras_seq.layers.luong_attention import LuongAttention
