"""Losses and metrics for sequence models."""

from keras_seq.metrics.masked_accuracy import MaskedAccuracy
from keras_seq.metrics.masked_sparse_categorical_crossentropy import (
    MaskedSparseCategoricalCrossentropy,
)
from keras_seq.metrics.text_metrics import corpus_bleu
from keras_seq.metrics.text_metrics import exact_match

__all__ = [
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "corpus_bleu",
    "exact_match",
]
