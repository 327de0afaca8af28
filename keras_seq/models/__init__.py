"""Public API of keras_seq.models; each module adds its exports here."""
