"""Public API of keras_seq.decoding; each module adds its exports here."""
