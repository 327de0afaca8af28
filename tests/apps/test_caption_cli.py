"""`keras-seq caption` and `keras-seq demo --task caption`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.datasets import SHAPES_VOCABULARY
from keras_seq.datasets import generate_shapes_captions
from keras_seq.layers import ImageFeatureEncoder
from keras_seq.models import Captioner
from keras_seq.models import ShowAttendTellCaptioner

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _run(*argv):
    return subprocess.run(
        [sys.executable, "-m", "keras_seq_apps.cli", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("caption_cli")
    encoder = ImageFeatureEncoder((32, 32, 3), filters=[8, 16])
    model = ShowAttendTellCaptioner(
        encoder,
        len(SHAPES_VOCABULARY),
        embedding_dim=8,
        hidden_dim=16,
        attention_units=8,
        max_caption_length=8,
    )
    model.build()
    bias = model.output_projection.bias
    values = np.array(bias.numpy())
    values[[0, 2, 3]] -= 20.0  # words, not an empty caption
    bias.assign(values)
    path = str(folder / "captioner.keras")
    Captioner(model, SHAPES_VOCABULARY).save(path)
    images = generate_shapes_captions(2, seed=1, image_size=40)["images"]
    paths = []
    for i, image in enumerate(images):
        png = tf.io.encode_png(np.round(image * 255).astype("uint8"))
        paths.append(str(folder / f"image{i}.png"))
        with open(paths[-1], "wb") as file:
            file.write(png.numpy())
    return {"model": path, "images": paths, "folder": folder}


def test_help_is_light():
    code = (
        "import sys; from keras_seq_apps import cli\n"
        "try:\n    cli.main(['caption', '--help'])\nexcept SystemExit:\n"
        "    pass\n"
        "print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert "--model" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_prints_path_tab_caption(saved):
    result = _run("caption", "--model", saved["model"], *saved["images"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    expected = Captioner.load(saved["model"]).caption(saved["images"])
    assert lines == [f"{p}\t{c}" for p, c in zip(saved["images"], expected)]
    assert all(expected)


def test_errors_are_one_line(saved):
    empty = saved["folder"] / "empty.png"
    empty.write_bytes(b"")
    result = _run("caption", "--model", saved["model"], str(empty))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"keras-seq: error: Image {str(empty)!r} is empty (0 bytes). "
        f"Received: image {str(empty)!r}"
    ]
    result = _run("caption", "--model", "nothing.keras", saved["images"][0])
    assert result.returncode == 2
    assert "No saved captioner" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_demo_caption_writes_every_artifact(tmp_path):
    out = tmp_path / "demo"
    result = _run(
        "demo",
        "--task",
        "caption",
        "--output-dir",
        str(out),
        "--quiet",
        "--num-train",
        "200",
        "--num-test",
        "20",
        "--epochs",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "Held-out exact match" in result.stdout
    for name in ("captioner.keras", "attention.png", "caption_results.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "caption_results.json").read_text())
    assert summary["num_train"] == 200 and summary["epochs"] == 1
    assert 0.0 <= summary["exact_match"] <= 1.0
    assert Captioner.load(str(out / "captioner.keras")).image_size == (48, 48)


def test_model_dir_runs_the_exported_captioner(saved, tmp_path):
    # The exported SavedModel (as the caption pipeline pushes it, in a
    # <model_name>/<version>/ folder), through the session API, prints
    # what the saved Captioner prints in Python, scores included.
    captioner = Captioner.load(saved["model"])
    captioner.export(str(tmp_path / "captioner" / "7"))
    result = _run(
        "caption",
        "--model-dir",
        str(tmp_path / "captioner"),
        "--scores",
        *saved["images"],
    )
    assert result.returncode == 0, result.stderr
    expected = captioner.caption(saved["images"], return_scores=True)
    rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert [r[:2] for r in rows] == [
        [p, e["caption"]] for p, e in zip(saved["images"], expected)
    ]
    assert [float(r[2]) for r in rows] == pytest.approx(
        [e["score"] for e in expected], abs=1e-4
    )
    # Bad input: one line each.
    empty = saved["folder"] / "empty.png"
    empty.write_bytes(b"")
    model_dir = str(tmp_path / "captioner")
    for argv, message in [
        ([str(empty)], f"Image {str(empty)!r} is empty (0 bytes)"),
        (["missing.png"], "Image file not found"),
        ([str(saved["folder"])], "Expected an image file, got a folder"),
        (["--strategy", "beam", saved["images"][0]], "need --model"),
    ]:
        result = _run("caption", "--model-dir", model_dir, *argv)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr
