"""`keras-seq pipeline run` and the user's corpus: read-only, clear errors,
`--eval-fraction`, `--allow-anomalies`; and the run summary. The TFX run
itself is replaced by a recorder (the data handling happens before it)."""

import hashlib
import json
import os

import pytest

from keras_seq_apps import cli


def digest(folder):
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                out[os.path.relpath(os.path.join(root, name), folder)] = (
                    hashlib.sha256(f.read()).hexdigest()
                )
    return out


@pytest.fixture
def runs(monkeypatch):
    """Records the pipelines LocalDagRunner is asked to run."""
    from tfx import v1 as tfx

    recorded = []
    monkeypatch.setattr(
        tfx.orchestration.LocalDagRunner,
        "run",
        lambda self, p: recorded.append(p),
    )
    return recorded


def run_cli(*args):
    return cli.main(
        ["pipeline", "run", "--quiet", "--epochs", "1", "--train-steps", "5"]
        + list(args)
    )


def example_gen_input(pipeline):
    component = next(c for c in pipeline.components if c.id == "CsvExampleGen")
    return component.exec_properties["input_base"]


def test_issue_repro_user_train_is_not_overwritten(tmp_path, runs, capsys):
    # Issue 15: `mine/train/data.csv` (301 lines) became the date corpus
    # (3,001 lines) and the run trained on it with exit code 0.
    mine = tmp_path / "mine"
    (mine / "train").mkdir(parents=True)
    (mine / "train" / "data.csv").write_text("source,target\nmy,data\n")
    before = digest(str(mine))
    code = run_cli("--data-dir", str(mine), "--output-dir", str(tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 2
    assert digest(str(mine)) == before
    assert runs == []
    assert len(err.strip().splitlines()) == 1, err
    assert "no eval split" in err and str(mine) in err
    assert "--eval-fraction" in err


def test_mistyped_data_dir_is_an_error_not_the_date_corpus(
    tmp_path, runs, capsys
):
    code = run_cli(
        "--data-dir",
        str(tmp_path / "mnie"),
        "--output-dir",
        str(tmp_path / "o"),
    )
    err = capsys.readouterr().err
    assert code == 2 and runs == []
    assert "does not exist" in err and "mnie" in err
    assert not os.path.exists(tmp_path / "mnie")


def test_eval_fraction_split_is_made_in_the_output_folder(
    tmp_path, runs, capsys
):
    mine = tmp_path / "mine"
    (mine / "train").mkdir(parents=True)
    rows = "".join(f"{d} may 2001,2001-05-{d:02d}\n" for d in range(1, 29))
    (mine / "train" / "data.csv").write_text("source,target\n" + rows)
    before = digest(str(mine))
    out = tmp_path / "o"
    code = run_cli(
        "--data-dir",
        str(mine),
        "--output-dir",
        str(out),
        "--eval-fraction",
        "0.25",
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert digest(str(mine)) == before
    assert example_gen_input(runs[0]) == str(out / "data_clean")
    assert "Data check: eval: 7 pairs written (held out from train" in printed
    with open(out / "data_clean" / "eval" / "data.csv") as f:
        assert len(f.readlines()) == 8
    # Nothing served yet, and the summary says so.
    assert "No model pushed." in printed


def test_eval_fraction_needs_a_user_folder(tmp_path, runs, capsys):
    code = run_cli(
        "--output-dir", str(tmp_path / "o"), "--eval-fraction", "0.1"
    )
    assert code == 2 and runs == []
    assert "Received: --eval-fraction 0.1" in capsys.readouterr().err


def test_overlap_stops_before_the_pipeline_unless_allowed(
    tmp_path, runs, capsys
):
    mine = tmp_path / "mine"
    for split in ("train", "eval"):
        (mine / split).mkdir(parents=True)
        (mine / split / "data.csv").write_text("source,target\nsame,x\n")
    out = str(tmp_path / "o")
    assert run_cli("--data-dir", str(mine), "--output-dir", out) == 2
    assert "also in train" in capsys.readouterr().err
    assert runs == []
    assert (
        run_cli(
            "--data-dir", str(mine), "--output-dir", out, "--allow-anomalies"
        )
        == 0
    )
    gate = next(c for c in runs[0].components if c.id == "AnomaliesGate")
    assert gate.exec_properties["allow_anomalies"] == 1


def test_built_in_corpus_goes_to_the_output_folder(tmp_path, runs, capsys):
    out = tmp_path / "o"
    assert run_cli("--output-dir", str(out), "--num-train", "50") == 0
    assert (out / "data" / "train" / "data.csv").exists()
    assert example_gen_input(runs[0]) == str(out / "data_clean")


# --------------------------------------------------------------- summary


def write_metrics(where, blessed, reason, name="9"):
    folder = os.path.join(
        where["pipeline_root"], "BleuEvaluator", "evaluation", name
    )
    os.makedirs(folder)
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump(
            {
                "bleu": 12.5,
                "exact_match": 0.1,
                "num_examples": 200,
                "blessed": blessed,
                "reason": reason,
            },
            f,
        )


def complete_version(model_dir, version):
    path = os.path.join(model_dir, str(version))
    os.makedirs(os.path.join(path, "variables"))
    for name in (
        "saved_model.pb",
        os.path.join("variables", "variables.index"),
    ):
        open(os.path.join(path, name), "w").close()
    return path


def test_summary_of_a_run_that_was_not_blessed(tmp_path):
    # Issue 15: a run that was not blessed printed "Pushed model: <older
    # version>".
    from keras_seq_pipelines import local_runner

    where = local_runner.paths(str(tmp_path))
    old = complete_version(where["serving_model_dir"], 1700000000)
    where["versions_before"] = [1700000000]
    write_metrics(where, False, "BLEU 12.50 is below the threshold 50.00")
    lines = local_runner.summarize(where, "dates")
    text = "\n".join(lines)
    assert "Pushed model" not in text
    assert lines[1] == (
        "The new model was NOT blessed (BLEU 12.50 is below the threshold "
        "50.00), so it was not pushed."
    )
    assert lines[2].startswith(f"Still served: {old} (pushed by an earlier")
    # With nothing served before.
    where = local_runner.paths(str(tmp_path / "fresh"))
    write_metrics(where, False, "BLEU 12.50 is below the threshold 50.00")
    assert local_runner.summarize(where)[-1] == "No model is served yet."


def test_summary_names_the_new_version_and_skips_incomplete_ones(tmp_path):
    from keras_seq_pipelines import local_runner

    where = local_runner.paths(str(tmp_path))
    complete_version(where["serving_model_dir"], 1700000000)
    where["versions_before"] = [1700000000]
    new = complete_version(where["serving_model_dir"], 1700000100)
    os.makedirs(os.path.join(where["serving_model_dir"], "1700000200"))
    write_metrics(where, True, "BLEU 12.50 >= threshold 10.00")
    lines = local_runner.summarize(where)
    assert lines[1].startswith(f"Pushed model: {new} ")
    where["versions_before"] = [1700000000, 1700000100]
    lines = local_runner.summarize(where)
    assert lines[1].startswith(f"No new version pushed; still served: {new}")
