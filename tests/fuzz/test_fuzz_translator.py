"""Seeded fuzzing of the translation entry points: the tokenizers,
`generate` of each model, `Translator.translate`, the exported signature
through the TF1 session path, and `keras-seq translate`.

Each test feeds >= 1,000 generated inputs and counts crashes (an exception
other than the documented `ValueError`), NaN/inf scores, raw tracebacks and
made-up answers (a translation for a text that holds nothing to
translate); every count must be 0. The counts are printed (`pytest -s`).
"""

import os
import random
import subprocess
import sys
import unicodedata

import keras
import numpy as np
import pytest

from keras_seq.datasets import load_dates
from keras_seq.models import RNNSeq2Seq
from keras_seq.models import TransformerSeq2Seq
from keras_seq.models import Translator
from keras_seq.text import CharTokenizer
from keras_seq.text import WordTokenizer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
NUM_INPUTS = 1000
SOURCE_LENGTH = 16

# Pieces texts are made of: words a date model knows, digits, punctuation,
# every kind of whitespace and control character, letters of other
# scripts, combining marks, emoji, and a few very long runs.
_PIECES = [
    "25", "November", "2026", "nov", "3rd", "of", "july", ",", "/", "-",
    ".", " ", "  ", "\t", "\n", "\r\n", "\x00", "\x1b", "\x7f", "\u00a0",
    "\u2028", "\u3000", "\u200b", "ß", "ẞ", "Ǆ", "e\u0301", "中文", "日本",
    "Ωж", "🙂", "\ufffd", "Ｎｏｖ", "\u202e", "[UNK]", "[EOS]", "￭",
]  # fmt: skip


def fuzz_texts(seed, count=NUM_INPUTS):
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        kind = i % 10
        if kind == 0:
            texts.append(rng.choice(["", " ", "\t\n", "\x00", "\u3000 "]))
        elif kind == 1:
            texts.append(rng.choice(_PIECES) * rng.randint(500, 5000))
        elif kind == 2:
            # Random code points outside the surrogate range.
            texts.append(
                "".join(
                    chr(
                        rng.choice(
                            [
                                rng.randint(0, 0xD7FF),
                                rng.randint(0xE000, 0x10FFFF),
                            ]
                        )
                    )
                    for _ in range(rng.randint(1, 40))
                )
            )
        else:
            texts.append(
                "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 20)))
            )
    return texts


def has_content(text):
    """Whether the documented normalization leaves anything to translate."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return bool(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def translator():
    keras.utils.set_random_seed(7)
    pairs = load_dates(num_train=400, num_val=0, num_test=0, seed=5)["train"]
    source = WordTokenizer.from_corpus([s for s, _ in pairs])
    target = WordTokenizer.from_corpus([t for _, t in pairs], lowercase=False)
    model = RNNSeq2Seq(
        source.vocabulary_size,
        target.vocabulary_size,
        embedding_dim=8,
        hidden_dim=16,
        attention="luong",
        max_source_length=SOURCE_LENGTH,
        max_target_length=8,
    )
    model.build()
    return Translator(model, source, target, beam_width=2)


def test_fuzz_tokenizers_round_trip():
    texts = fuzz_texts(seed=1)
    counts = {"crashes": 0, "round_trip_failures": 0, "truncations": 0}
    chars = CharTokenizer.from_corpus([t for t in texts if has_content(t)])
    words = WordTokenizer.from_corpus(
        [t for t in texts if has_content(t)], lowercase=False
    )
    for tokenizer in (chars, words):
        for start in range(0, len(texts), 100):
            batch = texts[start : start + 100]
            try:
                ids = tokenizer.tokenize(
                    [t if has_content(t) else "x" for t in batch]
                )
                back = tokenizer.detokenize(ids).numpy()
            except Exception:  # noqa: BLE001  (counted)
                counts["crashes"] += 1
                continue
            for text, out in zip(batch, back):
                if not has_content(text):
                    continue
                normalized = " ".join(
                    unicodedata.normalize(
                        "NFKC",
                        " ".join(
                            "".join(
                                " " if unicodedata.category(c) == "Cc" else c
                                for c in text
                            ).split()
                        ),
                    ).split()
                )
                if out.decode("utf-8") != normalized:
                    counts["round_trip_failures"] += 1
    print(f"tokenizers, {2 * len(texts)} inputs: {counts}")
    assert counts == {"crashes": 0, "round_trip_failures": 0, "truncations": 0}


def test_fuzz_translate(translator):
    texts = fuzz_texts(seed=2)
    counts = {"crashes": 0, "nan": 0, "made_up": 0, "truncation_wrong": 0}
    for start in range(0, len(texts), 100):
        batch = texts[start : start + 100]
        try:
            details = translator.translate(batch, return_details=True)
        except Exception:  # noqa: BLE001  (counted)
            counts["crashes"] += 1
            continue
        lengths = [
            len(translator.source_tokenizer.tokenize(t).numpy())
            if has_content(t)
            else 0
            for t in batch
        ]
        for text, detail, length in zip(batch, details, lengths):
            if not np.isfinite(detail["score"]):
                counts["nan"] += 1
            if not has_content(text) and detail["translation"] != "":
                counts["made_up"] += 1
            if detail["truncated"] != (length > SOURCE_LENGTH):
                counts["truncation_wrong"] += 1
    print(f"Translator.translate, {len(texts)} inputs: {counts}")
    assert counts == {
        "crashes": 0,
        "nan": 0,
        "made_up": 0,
        "truncation_wrong": 0,
    }
    # Strings Python cannot encode are a documented error, not a crash.
    with pytest.raises(ValueError, match="cannot be encoded as UTF-8"):
        translator.translate(["25 \ud800 nov"])


@pytest.mark.parametrize("architecture", ["rnn", "transformer"])
def test_fuzz_generate(architecture):
    keras.utils.set_random_seed(3)
    if architecture == "rnn":
        model = RNNSeq2Seq(
            20, 20, embedding_dim=4, hidden_dim=8, attention="luong",
            max_source_length=6, max_target_length=5,
        )  # fmt: skip
    else:
        model = TransformerSeq2Seq(
            20, 20, hidden_dim=8, num_layers=1, num_heads=2,
            intermediate_dim=8, max_source_length=6, max_target_length=5,
        )  # fmt: skip
    model.build()
    rng = np.random.default_rng(4)
    counts = {"crashes": 0, "nan": 0, "accepted_bad": 0, "rows": 0}
    for i in range(100):
        batch = 10
        ids = rng.integers(0, 20, size=(batch, rng.integers(1, 7)))
        bad = i % 4 == 3
        if bad:
            kind = i % 3
            if kind == 0:
                ids[0, 0] = -rng.integers(1, 5)
            elif kind == 1:
                ids[-1, -1] = 20 + rng.integers(0, 5)
            else:
                ids = ids.astype("float32") + 0.5
        try:
            out = model.generate(ids, strategy="beam" if i % 2 else "greedy")
        except ValueError:
            if not bad:
                counts["crashes"] += 1
            continue
        except Exception:  # noqa: BLE001  (counted)
            counts["crashes"] += 1
            continue
        counts["rows"] += batch
        if bad:
            counts["accepted_bad"] += 1
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(out["scores"]))):
            counts["nan"] += 1
    print(f"{architecture} generate, 1,000 rows in 100 batches: {counts}")
    assert counts["crashes"] == counts["nan"] == counts["accepted_bad"] == 0
    assert counts["rows"] >= 700


@pytest.mark.slow
def test_fuzz_exported_signature_and_command_line(translator, tmp_path):
    import tensorflow as tf

    export_dir = str(tmp_path / "translator" / "1")
    translator.export(export_dir)
    texts = fuzz_texts(seed=3)
    rng = random.Random(9)
    # Half of the inputs as raw bytes, a third of those not UTF-8 at all.
    inputs = []
    for i, text in enumerate(texts):
        data = text.encode("utf-8")
        if i % 6 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
        inputs.append(data)
    counts = {"crashes": 0, "nan": 0, "made_up": 0, "differs": 0}
    valid_texts = [b.decode("utf-8") for b in inputs if _is_utf8(b)]
    in_python = iter(translator.translate(valid_texts))
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], export_dir)
        sig = meta.signature_def["serving_default"]
        fetches = {k: v.name for k, v in sig.outputs.items()}
        for start in range(0, len(inputs), 100):
            batch = inputs[start : start + 100]
            try:
                out = sess.run(
                    fetches,
                    {sig.inputs["text"].name: np.array(batch, dtype=object)},
                )
            except Exception:  # noqa: BLE001  (counted)
                counts["crashes"] += 1
                continue
            valid = [i for i, b in enumerate(batch) if _is_utf8(b)]
            python = [next(in_python) for _ in valid]
            for i, expected in zip(valid, python):
                if out["translation"][i].decode("utf-8") != expected:
                    counts["differs"] += 1
                if not has_content(batch[i].decode("utf-8")) and expected:
                    counts["made_up"] += 1
            counts["nan"] += int(np.sum(~np.isfinite(out["score"])))
    print(f"exported signature, {len(inputs)} inputs: {counts}")
    assert counts == {"crashes": 0, "nan": 0, "made_up": 0, "differs": 0}

    # keras-seq translate: 1,000 lines on stdin, one output line each.
    path = str(tmp_path / "translator.keras")
    translator.save(path)
    lines = [" ".join(t.split()) for t in texts]
    stdin = "".join(f"{line}\n" for line in lines).encode("utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_seq_apps.cli",
            "translate",
            "--model",
            path,
        ],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=900,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    assert len(result.stdout.decode("utf-8").splitlines()) >= len(lines)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_seq_apps.cli",
            "translate",
            "--model",
            path,
        ],
        input=b"25 nov\n\xff\xfe\n",
        capture_output=True,
        cwd=REPO,
        timeout=900,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr.decode("utf-8", "replace")
    print(
        f"keras-seq translate: {len(lines)} lines, exit 0, no traceback; "
        "invalid UTF-8: exit 2, one line"
    )


def _is_utf8(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
