"""Matplotlib plots of alignments and attention weights."""

from keras_seq.plotting.alignment import plot_alignment
from keras_seq.plotting.alignment import plot_attention_heads

__all__ = ["plot_alignment", "plot_attention_heads"]
