"""Matplotlib plots of alignments and attention weights."""

from keras_seq.plotting.alignment import plot_alignment
from keras_seq.plotting.alignment import plot_attention_heads
from keras_seq.plotting.attention_overlay import plot_attention_overlay

__all__ = [
    "plot_alignment",
    "plot_attention_heads",
    "plot_attention_overlay",
]
