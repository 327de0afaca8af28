"""Matplotlib plots of alignments and attention weights."""
