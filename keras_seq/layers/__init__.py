"""Public API of keras_seq.layers; each module adds its exports here."""
