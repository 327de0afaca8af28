"""Tokenizers and vocabularies built on tensorflow-text (TensorFlow only)."""
