"""SavedModel export of BERT classifiers and span predictors, raw text in.

Why TensorFlow here: a SavedModel for TF Serving is a TensorFlow artifact;
its serving functions run the in-graph `keras_seq.text.WordPieceTokenizer`
(tensorflow-text) and `BertInputPacker` before the Keras model, so the
endpoint takes strings. The models are exported with
`keras.export.ExportArchive` (the path that also loads in the TF1 session
API used by TF Serving). The Translator and Captioner export themselves
(`keras_seq.export`); a BERT classifier or span predictor is a model, not a
task object with its own text side, so its raw-text serving export lives
here, beside the TF Serving layout and client.
"""

import keras
import tensorflow as tf

from keras_seq.models.bert.bert_classifier import BertClassifier
from keras_seq.models.bert.bert_input_packer import BertInputPacker
from keras_seq.models.bert.bert_span_predictor import BertSpanPredictor
from keras_seq.models.bert.span_decoding import best_span
from keras_seq.models.bert.span_texts import span_texts


def _packer(tokenizer, sequence_length):
    return BertInputPacker(
        sequence_length,
        cls_id=tokenizer.token_to_id("[CLS]"),
        sep_id=tokenizer.token_to_id("[SEP]"),
        pad_id=tokenizer.pad_id,
    )


def _check_tokenizer(tokenizer):
    vocabulary = set(getattr(tokenizer, "vocabulary", []) or [])
    missing = [t for t in ("[CLS]", "[SEP]") if t not in vocabulary]
    if missing:
        raise ValueError(
            "`tokenizer` must be a keras_seq WordPieceTokenizer with a BERT "
            f"vocabulary containing [CLS] and [SEP]; missing {missing}. "
            f"Received: tokenizer={tokenizer!r}"
        )


def _archive(model, tokenizer):
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)
    return archive


def export_bert_classifier(
    classifier, tokenizer, path, sequence_length, pair=False
):
    """Writes a SavedModel whose `serve` endpoint classifies raw text.

    Signature (also `serving_default`): `texts` tf.string `(batch_size,)`
    (and `texts_b` for a pair classifier) -> `probabilities` float32
    `(batch_size, num_classes)` = softmax(W C) and `class_ids` int32
    `(batch_size,)`.

    Args:
        classifier: a `BertClassifier`.
        tokenizer: the `WordPieceTokenizer` of the backbone's vocabulary.
        path: output directory.
        sequence_length: packed length (texts are truncated to fit).
        pair: whether the endpoint takes a second text (segment B).
    """
    if not isinstance(classifier, BertClassifier):
        raise ValueError(
            "`classifier` must be a BertClassifier. "
            f"Received: classifier={classifier!r}"
        )
    _check_tokenizer(tokenizer)
    packer = _packer(tokenizer, sequence_length)

    def classify(x):
        probabilities = tf.nn.softmax(classifier(x, training=False), axis=-1)
        return {
            "probabilities": probabilities,
            "class_ids": tf.argmax(probabilities, -1, output_type=tf.int32),
        }

    archive = _archive(classifier, tokenizer)
    spec = tf.TensorSpec([None], tf.string, name="texts")
    if pair:

        def serve(texts, texts_b):
            return classify(
                packer(tokenizer.tokenize(texts), tokenizer.tokenize(texts_b))
            )

        signature = [spec, tf.TensorSpec([None], tf.string, name="texts_b")]
    else:

        def serve(texts):
            return classify(packer(tokenizer.tokenize(texts)))

        signature = [spec]
    archive.add_endpoint("serve", serve, input_signature=signature)
    archive.write_out(path, verbose=False)


def export_bert_span_predictor(model, tokenizer, path, sequence_length):
    """Writes a SavedModel whose `serve` endpoint answers questions.

    Signature (also `serving_default`): `questions` and `paragraphs`,
    tf.string `(batch_size,)` -> `start`, `end` int32 `(batch_size,)` (token
    positions in `[CLS] question [SEP] paragraph [SEP]`), `score` float32
    (S.T_i + E.T_j), `found` bool and `answers` tf.string, the text of the
    span (detokenized word pieces, lower-cased for an uncased vocabulary).

    Args:
        model: a `BertSpanPredictor`.
        tokenizer: the `WordPieceTokenizer` of the backbone's vocabulary.
        path: output directory.
        sequence_length: packed length (the longer of question and
            paragraph is truncated first).
    """
    if not isinstance(model, BertSpanPredictor):
        raise ValueError(
            f"`model` must be a BertSpanPredictor. Received: model={model!r}"
        )
    _check_tokenizer(tokenizer)
    packer = _packer(tokenizer, sequence_length)

    def serve(questions, paragraphs):
        x = packer(
            tokenizer.tokenize(questions), tokenizer.tokenize(paragraphs)
        )
        outputs = model(x, training=False)
        span = best_span(
            outputs["start_logits"],
            outputs["end_logits"],
            model.paragraph_mask(x),
            model.max_answer_length,
        )
        span["answers"] = span_texts(
            tokenizer, x["token_ids"], span["start"], span["end"], span["found"]
        )
        return span

    archive = _archive(model, tokenizer)
    archive.add_endpoint(
        "serve",
        serve,
        input_signature=[
            tf.TensorSpec([None], tf.string, name="questions"),
            tf.TensorSpec([None], tf.string, name="paragraphs"),
        ],
    )
    archive.write_out(path, verbose=False)
