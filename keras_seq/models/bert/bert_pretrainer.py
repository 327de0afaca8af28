"""BERT pretraining: masked LM + next-sentence prediction."""

import keras

from keras_seq.models.bert.bert_encoder import BertEncoder
from keras_seq.models.bert.bert_encoder import bert_inputs
from keras_seq.models.bert.bert_encoder import head_dense
from keras_seq.models.bert.bert_masked_lm_head import BertMaskedLMHead


def _check_backbone(backbone):
    if not isinstance(backbone, BertEncoder):
        raise ValueError(
            "`backbone` must be a keras_seq BertEncoder. "
            f"Received: backbone={backbone!r}"
        )


@keras.saving.register_keras_serializable(package="keras_seq")
class BertPretrainer(keras.Model):
    """A `BertEncoder` with the masked-LM and next-sentence heads.

    Devlin et al. 2019, sec. 3.1 (tasks #1 and #2). The masked-LM head
    (`BertMaskedLMHead`, output weights tied to the token embedding)
    predicts the original word pieces at `mask_positions`; the next-sentence
    head is a dense layer with 2 outputs on the pooled output tanh(W C)
    (label 0 = IsNext, 1 = NotNext, as in BERT). The pretraining loss is the
    sum of the mean masked-LM cross-entropy (over real predictions, via
    `mask_weights` as sample weights) and the mean next-sentence
    cross-entropy; `compile()` sets this up by default.

    Training data: `x` from `BertInputPacker` + `BertMaskedLMGenerator`
    (`token_ids` masked, `segment_ids`, `padding_mask`, `mask_positions`),
    `y = {"mlm": mask_ids, "nsp": labels}`,
    `sample_weight = {"mlm": mask_weights, "nsp": ones}`.

    Args:
        backbone: a `BertEncoder`.
        **kwargs: `keras.Model` arguments.

    Call arguments (a dict): `token_ids`, `segment_ids`, `padding_mask`
        `(batch_size, sequence_length)` and `mask_positions` int32
        `(batch_size, num_predictions)`.

    Returns:
        Dict with float32 logits `mlm` `(batch_size, num_predictions,
        vocabulary_size)` and `nsp` `(batch_size, 2)`.
    """

    def __init__(self, backbone, **kwargs):
        _check_backbone(backbone)
        # === Layers ===
        masked_lm_head = BertMaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            token_embedding=backbone.token_embedding,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            initializer_range=backbone.initializer_range,
            dtype=backbone.dtype_policy,
            name="masked_lm_head",
        )
        next_sentence_head = head_dense(backbone, 2, "next_sentence_head")

        # === Functional model ===
        inputs = bert_inputs("mask_positions")
        outputs = backbone(
            {k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")}
        )
        mlm = masked_lm_head(
            outputs["sequence_output"], inputs["mask_positions"]
        )
        nsp = keras.ops.cast(
            next_sentence_head(outputs["pooled_output"]), "float32"
        )
        super().__init__(
            inputs=inputs, outputs={"mlm": mlm, "nsp": nsp}, **kwargs
        )

        # === Config ===
        self.backbone = backbone
        self.masked_lm_head = masked_lm_head
        self.next_sentence_head = next_sentence_head

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        weighted_metrics="auto",
        **kwargs,
    ):
        """`keras.Model.compile` with BERT pretraining defaults.

        Defaults: Adam (learning rate 1e-4, as BERT pretraining), sparse
        cross-entropy from logits for both heads (summed by Keras), and
        weighted accuracy for both (weighted by `mask_weights` for `mlm`).
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-4)
        if loss == "auto":
            loss = {
                # Mean over the real predictions only (mask_weights).
                "mlm": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True, reduction="mean_with_sample_weight"
                ),
                "nsp": keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True
                ),
            }
        if weighted_metrics == "auto":
            weighted_metrics = {
                "mlm": [keras.metrics.SparseCategoricalAccuracy("accuracy")],
                "nsp": [keras.metrics.SparseCategoricalAccuracy("accuracy")],
            }
        super().compile(
            optimizer=optimizer,
            loss=loss,
            weighted_metrics=weighted_metrics,
            **kwargs,
        )

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(
            config["backbone"]
        )
        return cls(**config)
