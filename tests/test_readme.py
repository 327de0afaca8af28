"""The README's Python examples run as written (a newcomer copies them)."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf

pytestmark = pytest.mark.slow

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")


def python_blocks():
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def test_readme_bert_example_runs_and_exports(tmp_path, monkeypatch):
    (block,) = [b for b in python_blocks() if "load_hf_bert_checkpoint" in b]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, README, "exec"), namespace)

    # The span decoder's answer lies in the paragraph (segment 1, not the
    # final [SEP]) with start <= end.
    span, inputs = namespace["span"], namespace["inputs"]
    start, end = int(span["start"][0]), int(span["end"][0])
    segment_ids = np.asarray(inputs["segment_ids"][0])
    token_ids = np.asarray(inputs["token_ids"][0])
    final_sep = int(np.nonzero(token_ids == namespace["packer"].sep_id)[0][-1])
    assert 0 < start <= end < final_sep
    assert segment_ids[start] == 1

    # The exported classifier takes raw text and returns probabilities.
    served = tf.saved_model.load(str(tmp_path / "exported" / "cls"))
    out = served.signatures["serving_default"](
        texts=tf.constant(["A girl is running."])
    )
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (1, 2)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_readme_translator_example_runs_saves_and_exports(
    tmp_path, monkeypatch
):
    # Trains the README's date model (4 epochs, 2-3 minutes on 2 cores).
    (block,) = [b for b in python_blocks() if "Translator(model" in b]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, README, "exec"), namespace)
    translator = namespace["translator"]
    # The translations the README prints, cased and detokenized.
    assert translator.translate(["25 November 2026", "Nov 3rd, 1999"]) == [
        "2026-11-25",
        "1999-11-03",
    ]
    assert (tmp_path / "dates.keras").is_file()
    served = tf.saved_model.load(str(tmp_path / "serving" / "dates" / "1"))
    out = served.signatures["serving_default"](
        text=tf.constant(["25 November 2026", ""])
    )
    assert out["translation"].numpy().tolist() == [b"2026-11-25", b""]
