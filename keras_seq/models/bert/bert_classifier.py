"""BERT sequence (pair) classification."""

import keras

from keras_seq.models.bert.bert_encoder import BertEncoder
from keras_seq.models.bert.bert_encoder import bert_inputs
from keras_seq.models.bert.bert_encoder import head_dense
from keras_seq.validation import check_fraction
from keras_seq.validation import check_int
from keras_seq.validation import check_one_of

_REPRESENTATIONS = ("cls", "pooled")


@keras.saving.register_keras_serializable(package="keras_seq")
class BertClassifier(keras.Model):
    """Classifies a sequence (or a pair) from the final state of `[CLS]`.

    Devlin et al. 2019, sec. 4.1: P = softmax(W C), with C
    the final hidden state of `[CLS]` and W of shape `(num_classes, H)` (a
    dense layer, whose kernel is W^T, plus a bias). With
    `representation="pooled"` the pooled output tanh(W_p C) is used instead
    (what the reference implementation and Hugging Face do). The model
    returns the logits W C + b; apply a softmax for P.

    Args:
        backbone: a `BertEncoder`.
        num_classes: int >= 2, number of classes M.
        dropout: float in [0, 1), dropout on C before W.
        representation: "cls" (C, default) or "pooled" (tanh(W_p C)).
        **kwargs: `keras.Model` arguments.

    Call arguments (a dict): `token_ids`, `segment_ids`, `padding_mask`, each
        `(batch_size, sequence_length)`.

    Returns:
        float32 logits `(batch_size, num_classes)`.
    """

    def __init__(
        self,
        backbone,
        num_classes,
        dropout=0.1,
        representation="cls",
        **kwargs,
    ):
        if not isinstance(backbone, BertEncoder):
            raise ValueError(
                "`backbone` must be a keras_seq BertEncoder. "
                f"Received: backbone={backbone!r}"
            )
        num_classes = check_int("num_classes", num_classes, minimum=2)
        check_fraction("dropout", dropout)
        check_one_of("representation", representation, _REPRESENTATIONS)
        # === Layers ===
        dropout_layer = keras.layers.Dropout(
            dropout, dtype=backbone.dtype_policy, name="classifier_dropout"
        )
        output_dense = head_dense(backbone, num_classes, "classifier_dense")

        # === Functional model ===
        inputs = bert_inputs()
        outputs = backbone(inputs)
        key = "cls_output" if representation == "cls" else "pooled_output"
        x = dropout_layer(outputs[key])
        logits = keras.ops.cast(output_dense(x), "float32")  # W C + b
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.output_dense = output_dense
        self.num_classes = num_classes
        self.dropout = dropout
        self.representation = representation

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics="auto",
        **kwargs,
    ):
        """`keras.Model.compile` with fine-tuning defaults.

        Defaults: Adam with learning rate 5e-5 (Devlin et al. 2019, A.3),
        sparse cross-entropy from logits, accuracy.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(5e-5)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy("accuracy")]
        super().compile(
            optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "representation": self.representation,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(
            config["backbone"]
        )
        return cls(**config)
