"""Builds a small exported date translator for the serving tests.

Runs the real Transform `preprocessing_fn` with tf.Transform on Beam (in
process), trains a tiny `keras_seq.models.RNNSeq2Seq` for a few epochs on
the transformed dates and exports it with `keras_seq_serving.export`. No TFX
orchestration, so it takes seconds.
"""

import os
import subprocess
import sys

import numpy as np
import tensorflow as tf
from transform_fixtures import run_transform

from keras_seq.text import special_tokens
from keras_seq_pipelines import configs
from keras_seq_pipelines import trainer

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


def full_vocabulary(tft_output, name):
    """Token list indexed by id: the reserved tokens, then the Transform
    vocabulary `name` (read from its file, not through the model)."""
    return special_tokens.RESERVED_TOKENS + [
        t.decode("utf-8") for t in tft_output.vocabulary_by_name(name)
    ]


def detokenize_rows(token_ids, vocabulary, separator):
    """Texts of id rows, written here independently of the serving graph:
    stop at EOS, drop PAD/BOS (keep UNK), join with `separator`."""
    texts = []
    for row in np.asarray(token_ids):
        tokens = []
        for token_id in row:
            if token_id == special_tokens.EOS_ID:
                break
            if token_id >= 4 or token_id == special_tokens.UNK_ID:
                tokens.append(vocabulary[token_id])
        texts.append(separator.join(tokens))
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


def as_batches(transformed):
    """Transformed dicts -> `({source_ids, target_in}, target_out)` arrays."""

    def stack(key):
        return np.stack([np.asarray(r[key], np.int32) for r in transformed])

    inputs = {
        configs.SOURCE_IDS_KEY: stack(configs.SOURCE_IDS_KEY),
        configs.TARGET_IN_KEY: stack(configs.TARGET_IN_KEY),
    }
    return inputs, stack(configs.TARGET_OUT_KEY)


def build_translator(
    output_dir, num_train=800, epochs=2, beam_width=3, dataset="dates"
):
    """Trains and exports; returns a dict describing the export.

    `dataset="dates"`: a small RNN attention model on the date corpus
    (character tokenization). `dataset="multi30k"`: a tiny Transformer on
    the first `num_train` Multi30k pairs (word tokenization), so the word
    path of the serving graph is exported and checked too.
    """
    import keras

    dataset_config, _ = configs.preset(dataset)
    if dataset == "dates":
        from keras_seq.datasets import load_dates

        architecture = "rnn"
        model_kwargs = {"embedding_dim": 16, "hidden_dim": 32}
        pairs = load_dates(num_train=num_train, num_val=0, num_test=50, seed=1)
    else:
        from keras_seq.datasets import load_multi30k
        from keras_seq_pipelines.data import MULTI30K_DIR

        architecture = "transformer"
        model_kwargs = {
            "hidden_dim": 16,
            "num_layers": 1,
            "num_heads": 2,
            "intermediate_dim": 32,
        }
        pairs = {
            "train": load_multi30k("train", MULTI30K_DIR)[:num_train],
            "test": load_multi30k("val", MULTI30K_DIR)[:20],
        }
    model_config = configs.ModelConfig(
        architecture=architecture,
        model_kwargs=model_kwargs,
        epochs=epochs,
        batch_size=32,
        learning_rate=5e-3,
        beam_width=beam_width,
    )
    tf_transform_output, transformed = run_transform(
        pairs["train"], dataset_config, output_dir
    )
    x, y = as_batches(transformed)
    source_size, target_size = trainer.vocabulary_sizes(tf_transform_output)
    keras.utils.set_random_seed(0)
    model = trainer.build_model(
        model_config, dataset_config, source_size, target_size
    )
    trainer.compile_model(model, model_config)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    export_dir = os.path.join(output_dir, "serving", "translator", "1")
    from keras_seq_serving import export

    export.export_translator(
        model,
        tf_transform_output,
        export_dir,
        tokenization=dataset_config.tokenization,
        max_decode_length=dataset_config.max_target_length,
        beam_width=beam_width,
        model_name="translator",
    )
    return {
        "export_dir": export_dir,
        "model": model,
        "tf_transform_output": tf_transform_output,
        "dataset_config": dataset_config,
        "test_pairs": pairs["test"],
        "beam_width": beam_width,
    }
