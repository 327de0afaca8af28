"""Cross-entropy over token sequences that ignores padding."""

import keras
from keras import ops

# Keras' own `sparse_categorical_crossentropy(ignore_class=...)` marks the
# valid entries with this (non-exported) helper so that `Loss.__call__`
# combines them with any mask carried by `y_pred` and averages over valid
# entries only. We use the same mechanism so the padding mask is never
# applied twice when a model propagates a Keras mask to its logits.
from keras.src.backend.common.masking import set_keras_mask


@keras.saving.register_keras_serializable(package="keras_seq")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Token-level cross-entropy averaged over the real (non-pad) tokens.

    For labels y_t and predicted distributions p_t this is the negative
    log-likelihood of Sutskever et al. 2014 sec. 3.2 (Luong et al. 2015
    eq. 4) per token: `-sum_t m_t log p_t(y_t) / sum_t m_t` with the
    mask `m_t = [y_t != ignore_class]`, so padding contributes nothing and
    the value does not depend on how much padding a batch has. A batch with
    no real token gives 0 (never NaN).

    With label smoothing eps (Szegedy et al. 2016; Vaswani et al. 2017
    sec. 5.4) the target distribution is `(1 - eps) * onehot(y) + eps / V`,
    so the per-token loss is
    `(1 - eps) * (-log p(y)) + eps * mean_v(-log p(v))`.

    Args:
        from_logits: whether `y_pred` holds logits (default) or
            probabilities.
        label_smoothing: float in [0, 1).
        ignore_class: the label id to ignore (the PAD id, 0).
        reduction: Keras loss reduction. With the default
            "sum_over_batch_size" (or "mean") the result is the mean over
            real tokens; "sum" sums them; None returns per-token losses
            `(batch_size, length)`, zero at padding.
        name: loss name.
        dtype: computation dtype (float32 by default, also under mixed
            precision).

    Call arguments:
        y_true: int labels `(batch_size, length)`.
        y_pred: `(batch_size, length, vocabulary_size)` logits/probabilities.
        sample_weight: optional weights broadcastable to `(batch_size,
            length)`.
    """

    def __init__(
        self,
        from_logits=True,
        label_smoothing=0.0,
        ignore_class=0,
        reduction="sum_over_batch_size",
        name="masked_sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(from_logits, bool):
            raise ValueError(
                "`from_logits` must be a bool. Received: "
                f"from_logits={from_logits!r}"
            )
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float))
            or not 0.0 <= label_smoothing < 1.0
        ):
            raise ValueError(
                "`label_smoothing` must be a float in [0, 1). Received: "
                f"label_smoothing={label_smoothing!r}"
            )
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, int)
        ):
            raise ValueError(
                "`ignore_class` must be an int or None. Received: "
                f"ignore_class={ignore_class!r}"
            )
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)
        self.ignore_class = ignore_class

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "int32")
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, axis=-1)
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            log_probs = ops.log(ops.clip(y_pred, keras.config.epsilon(), 1.0))
        if self.ignore_class is not None:
            valid = ops.not_equal(y_true, self.ignore_class)
        else:
            valid = ops.ones_like(y_true, dtype="bool")
        # Ignored labels may be out of range; gather a safe index instead.
        safe_labels = ops.where(valid, y_true, 0)
        nll = -ops.squeeze(
            ops.take_along_axis(
                log_probs, ops.expand_dims(safe_labels, -1), axis=-1
            ),
            axis=-1,
        )
        if self.label_smoothing:
            smooth = -ops.mean(log_probs, axis=-1)
            eps = self.label_smoothing
            nll = (1.0 - eps) * nll + eps * smooth
        losses = ops.where(valid, nll, 0.0)
        losses = ops.cast(losses, self.dtype)
        if self.ignore_class is not None:
            set_keras_mask(losses, mask=valid)
        return losses

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing,
                "ignore_class": self.ignore_class,
            }
        )
        return config
