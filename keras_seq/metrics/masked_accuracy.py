"""Token accuracy that ignores padding."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_seq")
class MaskedAccuracy(keras.metrics.Metric):
    """Share of real (non-pad) target tokens whose argmax prediction is right.

    `sum_t m_t [argmax p_t == y_t] / sum_t m_t` with
    `m_t = [y_t != ignore_class]` (times `sample_weight` if given),
    accumulated over batches; 0 before any real token was seen.

    Args:
        ignore_class: the label id to ignore (the PAD id, 0), or None.
        name: metric name.
        dtype: dtype of the metric variables.

    Call arguments (`update_state`):
        y_true: int labels `(batch_size, length)`.
        y_pred: scores `(batch_size, length, vocabulary_size)`.
        sample_weight: optional weights broadcastable to
            `(batch_size, length)`.
    """

    def __init__(self, ignore_class=0, name="masked_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, int)
        ):
            raise ValueError(
                "`ignore_class` must be an int or None. Received: "
                f"ignore_class={ignore_class!r}"
            )
        self.ignore_class = ignore_class
        self.correct = self.add_variable(
            shape=(), initializer="zeros", name="correct"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", name="count"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, axis=-1)
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        if self.ignore_class is not None:
            weights = ops.cast(
                ops.not_equal(y_true, self.ignore_class), self.dtype
            )
        else:
            weights = ops.ones(ops.shape(y_true), dtype=self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            while len(sample_weight.shape) < len(weights.shape):
                sample_weight = ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
        hits = ops.cast(ops.equal(predicted, y_true), self.dtype)
        self.correct.assign_add(ops.sum(hits * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.correct, self.count)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config["ignore_class"] = self.ignore_class
        return config
