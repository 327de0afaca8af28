"""Unit tests of the pipeline's pieces: data checks, tokenization and the
Transform preprocessing_fn (run with tf.Transform on Beam, in process),
configs, BLEU and blessing, Kubeflow V2 compilation."""

import collections
import functools
import json
import math
import os
import re
import unicodedata

import pytest
import tensorflow as tf

from keras_seq.text import JOINER
from keras_seq_pipelines import configs
from keras_seq_pipelines import data
from keras_seq_pipelines import evaluation
from keras_seq_pipelines import preprocessing

# ---------------------------------------------------------------- data


def test_clean_pairs_counts_and_repairs_bad_rows():
    rows = [
        ("25 November 2026", "2026-11-25"),
        (b"25 nov\xff 2026", b"2026-11-25"),  # non-UTF-8 -> repaired
        ("", "2026-11-25"),  # empty side
        ("", ""),
        ("only one field",),  # malformed
        ("a", "b", "c"),  # malformed
        ("x" * 50, "y"),  # over-long (limit 40 below)
        ("  spaced\tout \n", "ok"),
    ]
    pairs, report = data.clean_pairs(rows, max_line_chars=40)
    assert pairs == [
        ("25 November 2026", "2026-11-25"),
        ("25 nov\ufffd 2026", "2026-11-25"),
        ("spaced out", "ok"),
    ]
    assert report.repaired_non_utf8 == 1
    assert report.skipped_empty == 2
    assert report.skipped_malformed == 2
    assert report.skipped_too_long == 1
    summary = report.summary()
    assert "2 malformed lines skipped" in summary
    assert "row 6: 3 fields, need 2" in summary
    assert "1 over-long lines skipped" in summary


def test_csv_round_trip_with_quotes_and_commas(tmp_path):
    pairs = [('say "hi", now', "sag 'hallo', jetzt"), ("a,b", "ü ß")]
    path = str(tmp_path / "d.csv")
    data.write_csv(pairs, path)
    with open(path, encoding="utf-8") as f:
        assert f.readline() == "source,target\n"
    assert data.read_csv(path) == pairs


def test_write_splits_rejects_a_split_without_valid_rows(tmp_path):
    with pytest.raises(ValueError, match="no valid"):
        data.write_splits({"train": [("", "")]}, str(tmp_path))


def test_read_parallel_line_count_mismatch(tmp_path):
    (tmp_path / "a.txt").write_text("1\n2\n")
    (tmp_path / "b.txt").write_text("1\n")
    with pytest.raises(ValueError, match="same number of lines"):
        data.read_parallel(str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))


def test_write_multi30k_reads_the_raw_files(tmp_path, multi30k_dir):
    reports = data.write_multi30k(
        str(tmp_path), multi30k_dir, max_train=300, seed=1
    )
    assert reports["train"].written == 300
    assert reports["eval"].written == 1014
    val = data.read_csv(str(tmp_path / "eval" / "data.csv"))
    import gzip

    with gzip.open(os.path.join(multi30k_dir, "val.en.gz"), "rt") as f:
        first_en = f.readline().strip()
    assert val[0][0] == " ".join(first_en.split())


def test_write_multi30k_missing_files(tmp_path):
    with pytest.raises(ValueError, match="Received: multi30k_dir="):
        data.write_multi30k(str(tmp_path), str(tmp_path / "nope"))


# ---------------------------------------------------------- tokenization


def _char_class(c):
    category = unicodedata.category(c)
    if category[0] in "PS":
        return None  # punctuation and symbols: a token each
    return "N" if category[0] == "N" else "L"


def python_tokens(text, tokenization, lowercase=False, joiner=JOINER):
    """Reference tokenizer written from the documented rules: control
    characters -> spaces, NFKC, whitespace collapsed, optional
    lower-casing; words split at punctuation/symbols and at letter/digit
    changes, the pieces glued to the previous one carrying the joiner;
    characters for "char"."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    text = unicodedata.normalize("NFKC", " ".join(text.split()))
    text = " ".join(text.split())
    if lowercase:
        text = text.lower()
    if tokenization == "char":
        return list(text)
    tokens = []
    for word in text.split():
        pieces = []
        for c in word:
            kind = _char_class(c)
            if pieces and kind is not None and kind == pieces[-1][1]:
                pieces[-1][0] += c
            else:
                pieces.append([c, kind])
        for i, (piece, _) in enumerate(pieces):
            tokens.append(joiner + piece if i else piece)
    return tokens


@pytest.mark.parametrize("tokenization", ["word", "char"])
def test_transform_tokens_match_python_reference(tokenization):
    texts = [
        "Ein Mann läuft, schnell!",
        "ＡＢＣ  straße\tÉté",  # full-width letters (NFKC), tabs
        "Tuesday, 13th December 1994 (2026-11-25)",
        "a\x00b",  # NUL: a space, not the end of the text
        "",
    ]
    config = configs.DatasetConfig(tokenization=tokenization)
    got = preprocessing.split_tokens(tf.constant(texts), config, "target")
    got = [[t.decode("utf-8") for t in row] for row in got.to_list()]
    assert got == [python_tokens(t, tokenization) for t in texts]
    source = preprocessing.split_tokens(tf.constant(texts), config, "source")
    assert [[t.decode() for t in row] for row in source.to_list()] == [
        python_tokens(t, tokenization, lowercase=True) for t in texts
    ]


def test_transform_has_no_tokenization_code_of_its_own():
    # One text path: the pipeline imports keras_seq.text and never calls a
    # tensorflow-text tokenizer or string op itself.
    root = os.path.join(os.path.dirname(__file__), "..", "..", "pipelines")
    for name in os.listdir(root):
        if name.endswith(".py"):
            with open(os.path.join(root, name), encoding="utf-8") as f:
                code = f.read()
            for forbidden in (
                "tensorflow_text",
                "tf_text",
                "case_fold",
                "regex_replace",
                "unicode_split",
                "WhitespaceTokenizer",
            ):
                assert forbidden not in code, (name, forbidden)


def test_as_text_vector_layouts():
    sparse = tf.SparseTensor([[0, 0], [2, 0]], [b"a", b"c"], [3, 1])
    dense = tf.constant([[b"a"], [b"b"]])
    ragged = tf.ragged.constant([[b"a"], [], [b"c"]])
    assert preprocessing.as_text_vector(sparse).numpy().tolist() == [
        b"a",
        b"",
        b"c",
    ]
    assert preprocessing.as_text_vector(dense).numpy().tolist() == [b"a", b"b"]
    assert preprocessing.as_text_vector(ragged).numpy().tolist() == [
        b"a",
        b"",
        b"c",
    ]


def test_preprocessing_fn_with_tf_transform(tmp_path):
    """Vocabularies, token counts and unknown-token counts, checked against
    counts computed here in Python."""

    from transform_fixtures import run_transform

    config = configs.DatasetConfig(
        name="t",
        tokenization="word",
        source_lowercase=True,
        vocabulary_size=50,
        frequency_threshold=2,
        bleu_tokenize="13a",
    )
    pairs = [
        ("A man runs.", "Ein Mann läuft."),
        ("a man walks", "Ein Mann geht"),
        ("a dog runs far away now", "ein Hund läuft weit weg jetzt"),
        ("", "leer"),  # empty source row
        ("a\ufffd", "ein"),
    ]
    tft_output, transformed = run_transform(pairs, config, str(tmp_path))

    def vocabulary(sentences, lowercase):
        counts = collections.Counter(
            t for s in sentences for t in python_tokens(s, "word", lowercase)
        )
        return {t for t, c in counts.items() if c >= 2}

    source_vocab = vocabulary([s for s, _ in pairs], True)
    target_vocab = vocabulary([t for _, t in pairs], False)
    got_source = [
        t.decode() for t in tft_output.vocabulary_by_name("source_vocab")
    ]
    got_target = [
        t.decode() for t in tft_output.vocabulary_by_name("target_vocab")
    ]
    assert set(got_source) == source_vocab
    assert set(got_target) == target_vocab
    for (source, target), row in zip(pairs, transformed):
        src = python_tokens(source, "word", True)
        tgt = python_tokens(target, "word")
        assert row["source_text"].decode("utf-8") == source
        assert row["source_length"] == len(src)
        assert row["target_length"] == len(tgt)
        assert row["source_unknown"] == sum(t not in source_vocab for t in src)
        assert row["target_unknown"] == sum(t not in target_vocab for t in tgt)


# --------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tokenization": "bpe"}, "Received: tokenization='bpe'"),
        ({"max_source_length": 0}, "Received: max_source_length=0"),
        ({"max_target_length": 1}, "Received: max_target_length=1"),
        ({"bleu_threshold": 101}, "Received: bleu_threshold=101"),
    ],
)
def test_dataset_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        configs.DatasetConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"architecture": "cnn"}, "Received: architecture='cnn'"),
        ({"epochs": 0}, "Received: epochs=0"),
        ({"mixed_precision": "yes"}, "Received: mixed_precision='yes'"),
        ({"learning_rate": 0.0}, "Received: learning_rate=0.0"),
        ({"label_smoothing": 1.0}, "Received: label_smoothing=1.0"),
        ({"warmup_steps": -1}, "Received: warmup_steps=-1"),
        ({"decode_strategy": "top"}, "Received: decode_strategy='top'"),
        ({"bucket_boundaries": (8, 4)}, "Received: bucket_boundaries=(8, 4)"),
    ],
)
def test_model_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        configs.ModelConfig(**kwargs)


def test_presets_are_json_serializable():
    for name in configs.PRESETS:
        dataset_config, model_config = configs.preset(name)
        json.dumps(dataset_config.to_dict())
        json.dumps(model_config.to_dict())
    with pytest.raises(ValueError, match="Received: dataset='wmt'"):
        configs.preset("wmt")


# ---------------------------------------------------- BLEU and blessing


def reference_bleu(hypotheses, references):
    """Corpus BLEU (Papineni et al. 2002) on whitespace tokens, written from
    the formula: BP * exp(mean_n log p_n), n = 1..4."""
    matches = [0] * 4
    totals = [0] * 4
    hyp_len = ref_len = 0
    for h, r in zip(hypotheses, references):
        h, r = h.split(), r.split()
        hyp_len += len(h)
        ref_len += len(r)
        for n in range(1, 5):
            hc = collections.Counter(
                tuple(h[i : i + n]) for i in range(len(h) - n + 1)
            )
            rc = collections.Counter(
                tuple(r[i : i + n]) for i in range(len(r) - n + 1)
            )
            matches[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            totals[n - 1] += max(len(h) - n + 1, 0)
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals)) / 4
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * bp * math.exp(log_p)


def test_corpus_bleu_matches_the_formula():
    hyps = [
        "the cat sat on the mat today",
        "a man is riding a red bicycle",
        "two dogs play in the snow together",
    ]
    refs = [
        "the cat sat on the mat",
        "a man rides a red bicycle",
        "two dogs are playing in the snow together",
    ]
    got = evaluation.corpus_bleu(hyps, refs, tokenize="none")
    assert got == pytest.approx(reference_bleu(hyps, refs), rel=1e-9)


def test_corpus_bleu_errors():
    with pytest.raises(ValueError, match="len\\(hypotheses\\)=1"):
        evaluation.corpus_bleu(["a"], [])
    with pytest.raises(ValueError, match="Received: hypotheses=\\[\\]"):
        evaluation.corpus_bleu([], [])


@pytest.mark.parametrize(
    "bleu, threshold, baseline, blessed",
    [
        (30.0, 20.0, None, True),
        (10.0, 20.0, None, False),
        (30.0, 20.0, 30.0, True),  # not below the last blessed model
        (29.9, 20.0, 30.0, False),
        (35.0, 20.0, 30.0, True),
        (15.0, 20.0, 10.0, False),  # threshold still applies
    ],
)
def test_decide_blessing(bleu, threshold, baseline, blessed):
    assert evaluation.decide_blessing(bleu, threshold, baseline)[0] is blessed


def test_bleu_evaluator_rejects_unknown_tokenizer():
    from tfx import v1 as tfx

    with pytest.raises(ValueError, match="Received: bleu_tokenize='spaces'"):
        evaluation.BleuEvaluator(
            examples=tfx.dsl.Channel(
                type=tfx.types.standard_artifacts.Examples
            ),
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            bleu_tokenize="spaces",
        )


# ------------------------------------------------------- orchestration


def test_kubeflow_v2_compiles_offline(tmp_path):
    from keras_seq_pipelines import kubeflow_v2_runner

    path = kubeflow_v2_runner.compile_pipeline(
        output_file=str(tmp_path / "spec" / "keras_seq.json"),
        pipeline_root="gs://bucket/root",
        data_dir="gs://bucket/data",
        serving_model_dir="gs://bucket/serving/translator",
        image="gcr.io/project/keras-seq:1",
    )
    with open(path) as f:
        spec = json.load(f)["pipelineSpec"]
    tasks = spec["root"]["dag"]["tasks"]
    for name in (
        "CsvExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "ExampleValidator",
        "Transform",
        "Trainer",
        "BleuEvaluator",
        "Pusher",
    ):
        assert name in tasks
    executors = spec["deploymentSpec"]["executors"]
    assert (
        executors["Trainer_executor"]["container"]["image"]
        == "gcr.io/project/keras-seq:1"
    )
    # The evaluator depends on the Trainer's model.
    assert "Trainer" in tasks["BleuEvaluator"]["dependentTasks"]
    text = json.dumps(spec)
    assert "keras_seq_pipelines.trainer.run_fn" in text
    assert "keras_seq_pipelines.evaluation.BleuEvaluatorExecutor" in text


def test_create_pipeline_wires_every_component(tmp_path):
    from keras_seq_pipelines import pipeline

    p = pipeline.create_pipeline(
        "t",
        str(tmp_path / "root"),
        str(tmp_path / "data"),
        str(tmp_path / "serving" / "m"),
        beam_pipeline_args=["--runner=FlinkRunner"],
        enable_cache=False,
    )
    assert sorted(c.id for c in p.components) == sorted(pipeline.COMPONENT_IDS)
    assert p.beam_pipeline_args == ["--runner=FlinkRunner"]
    assert p.enable_cache is False


def test_local_runner_needs_the_data_folders(tmp_path):
    from keras_seq_pipelines import local_runner

    with pytest.raises(ValueError, match="Received: data_dir="):
        local_runner.run_local(str(tmp_path), data_dir=str(tmp_path / "x"))


def test_check_data_dir_cleans_bad_csv_files(tmp_path):
    from keras_seq_pipelines import data_check

    raw = tmp_path / "raw"
    data.write_csv([("a b", "x y")] * 3, str(raw / "train" / "data.csv"))
    data.write_csv([("c", "z")], str(raw / "eval" / "data.csv"))
    # Even a clean corpus is ingested from the copy (one reading rule).
    used, reports = data_check.check_data_dir(str(raw), str(tmp_path / "c"))
    assert used == str(tmp_path / "c") and reports["train"].written == 3
    with open(raw / "train" / "data.csv", "ab") as f:
        f.write(b'"",x\n')
        f.write(b"bad \xff bytes,y\n")
        f.write(b"one field only\n")
    used, reports = data_check.check_data_dir(str(raw), str(tmp_path / "c"))
    report = reports["train"]
    assert (report.written, report.skipped_empty) == (4, 1)
    assert (report.repaired_non_utf8, report.skipped_malformed) == (1, 1)
    rows = data.read_csv(str(tmp_path / "c" / "train" / "data.csv"))
    assert rows[-1] == ("bad \ufffd bytes", "y")
    (raw / "eval" / "data.csv").write_text("src,tgt\nc,z\n")
    with pytest.raises(ValueError, match="header"):
        data_check.check_data_dir(str(raw), str(tmp_path / "c"))


def test_transform_module_is_a_partial_friendly_function():
    # TFX passes custom_config by keyword; a partial must work too.
    fn = functools.partial(preprocessing.preprocessing_fn, custom_config={})
    assert callable(fn)


def test_summarize_reports_evaluation_and_suggests_a_corpus_example(tmp_path):
    import json

    from keras_seq_pipelines import local_runner

    where = local_runner.paths(str(tmp_path))
    metrics_dir = os.path.join(
        where["pipeline_root"], "BleuEvaluator", "evaluation", "9"
    )
    os.makedirs(metrics_dir)
    with open(os.path.join(metrics_dir, "metrics.json"), "w") as f:
        json.dump(
            {
                "bleu": 15.75,
                "exact_match": 0.0,
                "num_examples": 1014,
                "blessed": True,
                "reason": "BLEU 15.75 >= threshold 0.00",
            },
            f,
        )
    assert local_runner.summarize(where, "multi30k")[-1] == "No model pushed."
    version = os.path.join(where["serving_model_dir"], "1795606451")
    os.makedirs(os.path.join(version, "variables"))
    for name in ("saved_model.pb", "variables/variables.index"):
        open(os.path.join(version, name), "w").close()
    lines = local_runner.summarize(where, "multi30k")
    assert lines[0].startswith("Evaluation: BLEU 15.75, exact match 0.0%")
    assert "BLESSED" in lines[0]
    assert lines[1].startswith("Pushed model: ") and "1795606451" in lines[1]
    assert lines[2].endswith('"A man in a red shirt is riding a bike."')
    dates = local_runner.summarize(where, "dates")
    assert dates[2].endswith('"25 November 2026"')
