"""The `keras-seq` command line as a user meets it: fast help, one-line
errors with an exit status, the traceback only with --verbose."""

import os
import subprocess
import sys

import pytest

from keras_seq_apps import cli

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _run(*argv, stdin=b""):
    return subprocess.run(
        [sys.executable, "-m", "keras_seq_apps.cli", *argv],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=600,
    )


def test_help_imports_neither_keras_nor_tensorflow():
    code = (
        "import sys; from keras_seq_apps import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'tfx') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "translate" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_subcommand_help_is_light_too():
    for sub in ("demo", "translate", "pipeline"):
        code = (
            "import sys; from keras_seq_apps import cli\n"
            f"try:\n    cli.main(['{sub}', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print('keras' in sys.modules or 'tensorflow' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert result.stdout.strip().splitlines()[-1] == "False", sub


def test_bad_option_value_is_one_line_with_status_2():
    result = _run("demo", "--epochs", "zero")
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert b"invalid int value: 'zero'" in result.stderr


def test_missing_model_is_one_line_error_and_verbose_shows_traceback(
    tmp_path,
):
    missing = str(tmp_path / "none.keras")
    result = _run("translate", "--model", missing, "25 November 2026")
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("keras-seq: error: No saved translator")
    assert missing in lines[-1]
    assert "Traceback" not in result.stderr.decode()
    verbose = _run(
        "--verbose", "translate", "--model", missing, "25 November 2026"
    )
    assert verbose.returncode != 0
    assert "Traceback" in verbose.stderr.decode()


def test_broken_saved_model_folder_is_one_line_error(tmp_path):
    folder = tmp_path / "translator" / "1"
    os.makedirs(folder / "variables")
    (folder / "saved_model.pb").write_bytes(b"garbage")
    (folder / "variables" / "variables.index").write_bytes(b"")
    result = _run("translate", "--model-dir", str(folder), "x")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    assert "Could not load the SavedModel" in stderr.strip().splitlines()[-1]


def test_invalid_utf8_on_stdin_names_the_line(tmp_path):
    result = _run(
        "translate",
        "--model",
        str(tmp_path / "x.keras"),
        stdin=b"25 November 2026\n25 nov \xff 2026\n",
    )
    assert result.returncode == 2
    last = result.stderr.decode().strip().splitlines()[-1]
    assert "stdin line 2 is not valid UTF-8" in last


def test_no_input_is_an_error(tmp_path):
    result = _run("translate", "--model", str(tmp_path / "x.keras"))
    assert result.returncode == 2
    assert b"no sentence to translate" in result.stderr


def test_long_messages_are_cut_to_one_readable_line():
    error = ValueError("x " * 10_000)
    line = cli._one_line(error)
    assert len(line) <= cli.MAX_MESSAGE_CHARS and line.endswith("...")
    assert "\n" not in cli._one_line(ValueError("a\nb\n  c"))


@pytest.mark.parametrize("argv", [[], ["unknown-command"]])
def test_usage_errors_exit_2(argv):
    result = _run(*argv)
    assert result.returncode == 2
    assert b"usage: keras-seq" in result.stderr


def test_pipeline_progress_prints_to_the_current_stdout(monkeypatch, capsys):
    # The progress lines go to the stdout of the moment they are printed,
    # not to the one of the moment `keras_seq_apps.pipeline` was imported
    # (a stream since closed made the e2e pipeline tests' run fail with
    # status 2 when an earlier test had imported the module under capsys).
    import importlib
    import io
    import sys
    import types

    from keras_seq_apps import pipeline

    real, sys.stdout = sys.stdout, io.StringIO()
    try:
        pipeline = importlib.reload(pipeline)
    finally:
        stale, sys.stdout = sys.stdout, real
        stale.close()
    progress = pipeline._Progress("unused.sqlite", total=1)
    execution = types.SimpleNamespace(
        create_time_since_epoch=0, last_update_time_since_epoch=2000
    )
    answers = iter([[], [(1, "Trainer", "COMPLETE", execution)]])
    monkeypatch.setattr(progress, "_executions", lambda: next(answers))
    progress.poll()  # remembers where this run's executions start
    progress.poll()
    assert capsys.readouterr().out == "[1/1] Trainer COMPLETE (2 s)\n"


def test_successful_translation_leaves_standard_error_empty(tmp_path):
    # A SentencePiece translator: loading its model makes the C++ library
    # log "precompiled_charsmap is empty" on file descriptor 2, and
    # decoding compiles with XLA, whose absl logging writes there too.
    import keras

    from keras_seq.datasets import load_dates
    from keras_seq.models import TransformerSeq2Seq
    from keras_seq.models import Translator
    from keras_seq.text import SentencePieceTokenizer

    pairs = load_dates(num_train=300, num_val=0, num_test=0, seed=2)["train"]
    keras.utils.set_random_seed(3)
    source = SentencePieceTokenizer.from_corpus(
        [s for s, _ in pairs], vocabulary_size=400, exact_size=False
    )
    target = SentencePieceTokenizer.from_corpus(
        [t for _, t in pairs], vocabulary_size=400, exact_size=False
    )
    model = TransformerSeq2Seq(
        source.vocabulary_size,
        target.vocabulary_size,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        max_source_length=24,
        max_target_length=12,
    )
    model.build()
    path = str(tmp_path / "sp.keras")
    Translator(model, source, target, beam_width=2).save(path)
    result = _run("translate", "--model", path, "25 November 2026")
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert len(result.stdout.decode("utf-8").splitlines()) == 1
    assert result.stderr == b""
