"""The TFX pipeline on an image-caption corpus, end to end (LocalDagRunner,
ML Metadata in SQLite, Beam DirectRunner): the shapes corpus in the
Flickr8k-style layout plus a broken image, a short training, and the
pushed captioner checked from outside through TF Serving's session API.
A few minutes on 2 CPU cores."""

import glob
import json
import os

import numpy as np
import pytest
import sacrebleu

from keras_seq_apps import cli
from keras_seq_pipelines import caption_data
from keras_seq_pipelines import configs

pytestmark = pytest.mark.e2e


def session_captions(saved_model_dir, images):
    """Captions of encoded `images` through the TF1 session API (what the
    model server runs), not through keras-seq."""
    import tensorflow as tf

    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(
            sess, ["serve"], saved_model_dir
        )
        signature = meta.signature_def["serving_default"]
        out = sess.run(
            signature.outputs["caption"].name,
            {signature.inputs["images"].name: np.array(images, dtype=object)},
        )
    return [c.decode("utf-8") for c in out]


def read_split(data_dir, split):
    pairs = caption_data.read_split(data_dir, split)
    images = []
    for name, _ in pairs:
        with open(os.path.join(data_dir, split, name), "rb") as f:
            images.append(f.read())
    return images, [c for _, c in pairs]


def test_caption_pipeline_trains_evaluates_and_pushes(tmp_path, capsys):
    data_dir = str(tmp_path / "data")
    output_dir = str(tmp_path / "out")
    caption_data.write_shapes(
        data_dir, num_train=400, num_eval=60, num_test=30, image_size=48
    )
    # A zero-byte image in the user's corpus: dropped and reported.
    with open(os.path.join(data_dir, "train", "images", "broken.png"), "wb"):
        pass
    with open(os.path.join(data_dir, "train", "captions.txt"), "a") as f:
        f.write("images/broken.png#0\ta red circle\n")

    code = cli.main(
        [
            "pipeline",
            "run",
            "--dataset",
            "shapes",
            "--data-dir",
            data_dir,
            "--output-dir",
            output_dir,
            "--epochs",
            "2",
            "--bleu-threshold",
            "0",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    printed = captured.out
    assert "row 401: images/broken.png:" in printed
    assert "empty (0 bytes)" in printed
    assert "] Trainer COMPLETE" in printed
    assert "] Pusher COMPLETE" in printed
    assert "Try: keras-seq caption --model-dir " in printed

    pushed = glob.glob(os.path.join(output_dir, "serving", "captioner", "*"))
    pushed = [p for p in pushed if os.path.basename(p).isdigit()]
    assert len(pushed) == 1
    saved = glob.glob(
        os.path.join(
            output_dir, "tfx", "Trainer", "model_run", "*", "captioner.keras"
        )
    )
    assert len(saved) == 1

    # The pushed SavedModel, through the session API, captions held-out
    # images exactly as the saved Captioner does in Python.
    from keras_seq.models import Captioner

    test_images, _ = read_split(data_dir, "test")
    served = session_captions(pushed[0], test_images)
    in_python = Captioner.load(saved[0]).caption(test_images)
    assert served == in_python
    assert all(isinstance(c, str) for c in served)

    # The evaluator's BLEU equals sacrebleu called here on the served
    # captions of the eval images (one reference each).
    metrics_file = glob.glob(
        os.path.join(
            output_dir, "tfx", "BleuEvaluator", "evaluation", "*", "*.json"
        )
    )[0]
    with open(metrics_file) as f:
        metrics = json.load(f)
    eval_images, references = read_split(data_dir, "eval")
    hypotheses = session_captions(pushed[0], eval_images)
    bleu = sacrebleu.corpus_bleu(hypotheses, [references])
    assert metrics["task"] == "caption"
    assert metrics["num_examples"] == len(eval_images)
    assert metrics["bleu"] == pytest.approx(bleu.score)
    exact = np.mean([h == r for h, r in zip(hypotheses, references)])
    assert metrics["exact_match"] == pytest.approx(exact)
    assert configs.preset("shapes")[0].task == "caption"
