"""Builds a small exported translator for the serving tests.

Trains a tiny `keras_seq.models.RNNSeq2Seq` (or `TransformerSeq2Seq`) for a
few epochs, wraps it in a `keras_seq.models.Translator` with its
`keras_seq.text` tokenizers and exports it with `Translator.export`, the
path the pipeline's Trainer takes. No TFX orchestration, so it takes
seconds.
"""

import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from keras_seq.text import special_tokens

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def session_run(export_dir, signature, feeds):
    """Runs a signature by tensor names through the TF1 session API."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta_graph = tf.compat.v1.saved_model.loader.load(
            sess, ["serve"], export_dir
        )
        sig = meta_graph.signature_def[signature]
        fetches = {k: v.name for k, v in sig.outputs.items()}
        feed = {sig.inputs[k].name: v for k, v in feeds.items()}
        return sess.run(fetches, feed_dict=feed)


def join_tokens(tokens, joiner):
    """Word tokens -> text, written here from the joiner rule (a token
    carrying the joiner is glued to the previous one)."""
    text = ""
    for token in tokens:
        if token.startswith(joiner):
            text += token[len(joiner) :]
        else:
            text += (" " if text else "") + token
    return text


def detokenize_rows(token_ids, vocabulary, joiner):
    """Texts of id rows, written here independently of the serving graph:
    stop at EOS, drop PAD/BOS (keep UNK), join by the joiner rule."""
    texts = []
    for row in np.asarray(token_ids):
        tokens = []
        for token_id in row:
            if token_id == special_tokens.EOS_ID:
                break
            if token_id >= 4 or token_id == special_tokens.UNK_ID:
                tokens.append(vocabulary[token_id])
        texts.append(join_tokens(tokens, joiner))
    return texts


def run_op_check(export_dir):
    """`python -m keras_seq_serving.op_check export_dir` in a fresh process
    (this one has tensorflow_text loaded); returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "keras_seq_serving.op_check", export_dir],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def build_translator(
    output_dir, num_train=800, epochs=2, beam_width=3, dataset="dates"
):
    """Trains a small Translator and exports it; returns a dict describing
    the export.

    `dataset="dates"`: a small RNN attention model on the date corpus (word
    tokenizers, spacing kept). `dataset="multi30k"`: a tiny Transformer on
    the first `num_train` Multi30k pairs with SentencePiece tokenizers, so
    the subword path of the serving graph is exported and checked too.
    """
    import keras

    from keras_seq import models
    from keras_seq import text
    from keras_seq.metrics import MaskedSparseCategoricalCrossentropy

    keras.utils.set_random_seed(0)
    if dataset == "dates":
        from keras_seq.datasets import load_dates

        pairs = load_dates(num_train=num_train, num_val=0, num_test=200, seed=1)
        source = text.WordTokenizer.from_corpus([s for s, _ in pairs["train"]])
        target = text.WordTokenizer.from_corpus(
            [t for _, t in pairs["train"]], lowercase=False
        )
        lengths = (16, 8)
        seq2seq = models.RNNSeq2Seq(
            source.vocabulary_size,
            target.vocabulary_size,
            embedding_dim=16,
            hidden_dim=32,
            attention="luong",
            max_source_length=lengths[0],
            max_target_length=lengths[1],
        )
    else:
        from keras_seq.datasets import load_multi30k
        from keras_seq_pipelines.data import MULTI30K_DIR

        pairs = {
            "train": load_multi30k("train", MULTI30K_DIR)[:num_train],
            "test": load_multi30k("val", MULTI30K_DIR)[:20],
        }
        source = text.SentencePieceTokenizer.from_corpus(
            [s for s, _ in pairs["train"]], vocabulary_size=400
        )
        target = text.SentencePieceTokenizer.from_corpus(
            [t for _, t in pairs["train"]], vocabulary_size=400
        )
        lengths = (48, 48)
        seq2seq = models.TransformerSeq2Seq(
            source.vocabulary_size,
            target.vocabulary_size,
            hidden_dim=16,
            num_layers=1,
            num_heads=2,
            intermediate_dim=32,
            max_source_length=lengths[0],
            max_target_length=lengths[1],
        )
    sources = [s for s, _ in pairs["train"]]
    targets = [t for _, t in pairs["train"]]
    x = {
        "source_ids": source.encode(sources, lengths[0]).numpy(),
        "target_in": target.encode(targets, lengths[1], add_bos=True).numpy(),
    }
    y = target.encode(targets, lengths[1], add_eos=True).numpy()
    seq2seq.compile(
        keras.optimizers.Adam(5e-3),
        loss=MaskedSparseCategoricalCrossentropy(),
    )
    seq2seq.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    translator = models.Translator(
        seq2seq, source, target, beam_width=beam_width
    )
    export_dir = os.path.join(output_dir, "serving", "translator", "1")
    translator.export(export_dir)
    return {
        "export_dir": export_dir,
        "translator": translator,
        "model": seq2seq,
        "source_tokenizer": source,
        "target_tokenizer": target,
        "test_pairs": pairs["test"],
        "beam_width": beam_width,
    }
