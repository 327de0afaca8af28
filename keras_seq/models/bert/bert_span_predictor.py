"""BERT answer-span prediction (extractive question answering)."""

import keras

from keras_seq.models.bert import span_decoding
from keras_seq.models.bert.bert_encoder import BertEncoder
from keras_seq.models.bert.bert_encoder import bert_inputs
from keras_seq.models.bert.bert_encoder import head_dense
from keras_seq.validation import check_int

# [PAD], [CLS], [SEP] of the uncased BERT vocabulary.
_DEFAULT_SPECIAL_IDS = (0, 101, 102)


@keras.saving.register_keras_serializable(package="keras_seq")
class BertSpanPredictor(keras.Model):
    """Predicts the answer span of a question in a paragraph.

    Devlin et al. 2019, sec. 4.2. Input
    `[CLS] question [SEP] paragraph [SEP]` (segment ids 0 then 1). A start
    vector S and an end vector E (the two columns of the kernel of the
    `span_head` dense layer, no bias) give the start logit S.T_i and the end
    logit E.T_i of every token. Only paragraph tokens (segment 1, not padding,
    not a special token) are eligible: the logits of all other positions are
    set to -1e9, so a softmax over the returned logits is P_i(start) of
    eq. 18. `predict_span` decodes the best span (i, j), j >= i,
    j - i < `max_answer_length`, maximizing S.T_i + E.T_j.

    Training: `y = {"start_logits": start_positions, "end_logits":
    end_positions}` (token indices); `compile()` defaults to the sum of the
    two cross-entropies, as in the paper.

    Args:
        backbone: a `BertEncoder`.
        max_answer_length: int, the longest span (in word pieces) decoded.
        special_token_ids: ids never eligible in an answer (`[PAD]`, `[CLS]`,
            `[SEP]` by default).
        **kwargs: `keras.Model` arguments.

    Call arguments (a dict): `token_ids`, `segment_ids`, `padding_mask`, each
        `(batch_size, sequence_length)`.

    Returns:
        Dict with float32 `start_logits` and `end_logits`, each
        `(batch_size, sequence_length)`.
    """

    def __init__(
        self,
        backbone,
        max_answer_length=30,
        special_token_ids=_DEFAULT_SPECIAL_IDS,
        **kwargs,
    ):
        if not isinstance(backbone, BertEncoder):
            raise ValueError(
                "`backbone` must be a keras_seq BertEncoder. "
                f"Received: backbone={backbone!r}"
            )
        max_answer_length = check_int("max_answer_length", max_answer_length)
        special_token_ids = [int(i) for i in special_token_ids]
        # === Layers ===
        # Column 0 is the start vector S, column 1 the end vector E.
        span_head = head_dense(backbone, 2, "span_head", use_bias=False)

        # === Functional model ===
        inputs = bert_inputs()
        outputs = backbone(inputs)
        logits = span_head(outputs["sequence_output"])  # (B, T, 2)
        mask = span_decoding.paragraph_mask(
            inputs["token_ids"],
            inputs["segment_ids"],
            inputs["padding_mask"],
            special_token_ids,
        )
        start_logits = span_decoding.masked_logits(logits[:, :, 0], mask)
        end_logits = span_decoding.masked_logits(logits[:, :, 1], mask)
        super().__init__(
            inputs=inputs,
            outputs={"start_logits": start_logits, "end_logits": end_logits},
            **kwargs,
        )

        # === Config ===
        self.backbone = backbone
        self.span_head = span_head
        self.max_answer_length = max_answer_length
        self.special_token_ids = special_token_ids

    def paragraph_mask(self, inputs):
        """bool `(batch_size, sequence_length)`: tokens that may be answers."""
        return span_decoding.paragraph_mask(
            inputs["token_ids"],
            inputs["segment_ids"],
            inputs["padding_mask"],
            self.special_token_ids,
        )

    def predict_span(self, inputs, training=False):
        """Best span per example, in graph (usable in a serving function).

        Returns:
            Dict of `span_decoding.best_span` (`start`, `end`, `score`,
            `found`, each `(batch_size,)`) plus `start_logits` and
            `end_logits`.
        """
        outputs = self(inputs, training=training)
        span = span_decoding.best_span(
            outputs["start_logits"],
            outputs["end_logits"],
            self.paragraph_mask(inputs),
            self.max_answer_length,
        )
        span.update(outputs)
        return span

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics="auto",
        **kwargs,
    ):
        """`keras.Model.compile` with defaults: Adam 5e-5, start + end CE."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(5e-5)
        if loss == "auto":
            loss = {
                "start_logits": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True
                ),
                "end_logits": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True
                ),
            }
        if metrics == "auto":
            metrics = {
                "start_logits": [
                    keras.metrics.SparseCategoricalAccuracy("accuracy")
                ],
                "end_logits": [
                    keras.metrics.SparseCategoricalAccuracy("accuracy")
                ],
            }
        super().compile(
            optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "max_answer_length": self.max_answer_length,
            "special_token_ids": list(self.special_token_ids),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(
            config["backbone"]
        )
        return cls(**config)
