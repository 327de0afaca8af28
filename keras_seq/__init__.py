"""keras-seq: attentional seq2seq, Transformers and BERT for Keras 3."""

from keras_seq import decoding
from keras_seq import layers
from keras_seq import models
from keras_seq.version import __version__

__all__ = ["__version__", "decoding", "layers", "models"]
