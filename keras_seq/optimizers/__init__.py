"""Public API of keras_seq.optimizers; each module adds its exports here."""

from keras_seq.optimizers.transformer_schedule import TransformerSchedule

__all__ = ["TransformerSchedule"]
