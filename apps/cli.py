"""The `keras-seq` command line.

Subcommands:
    caption     caption images with a saved Captioner.
    demo        train an attentional seq2seq on the built-in date corpus.
    pipeline    run the TFX pipeline (needs the `pipeline` extra).
    translate   translate with a saved Translator, a SavedModel or a TF
                Serving server.

Only the chosen subcommand's module is imported, and those modules import
Keras, TensorFlow or TFX inside `run()`, so `keras-seq --help` answers
without loading any of them. A user error (bad option value, missing file,
unreachable server, invalid input) prints one line, `keras-seq: error: ...`,
and exits with status 2 (1 for other failures); `--verbose` shows the
traceback.
"""

import argparse
import importlib
import os
import sys

# subcommand -> (module, help). Each module defines `add_arguments(parser)`
# and `run(args)`.
_SUBCOMMANDS = {
    "caption": (
        "keras_seq_apps.caption",
        "Caption image files with a saved Captioner (.keras).",
    ),
    "demo": (
        "keras_seq_apps.demo",
        "Train an attentional seq2seq on the built-in date corpus.",
    ),
    "pipeline": ("keras_seq_apps.pipeline", "Run the TFX pipeline."),
    "translate": (
        "keras_seq_apps.translate",
        "Translate text with a saved Translator (.keras), a SavedModel or "
        "a TF Serving server.",
    ),
}

# Exit statuses: 2 for errors in what the user gave (as argparse does),
# 1 for anything else.
USER_ERROR = 2
OTHER_ERROR = 1


class UserError(Exception):
    """An error in the user's input: printed as one line, exit status 2."""


def _quiet_startup(verbose):
    """Keeps TensorFlow's and Google's start-up noise out of the output.

    TensorFlow's C++ start-up messages (e.g. "Unable to register cuDNN
    factory") are logged at ERROR level, so a TF_CPP_MIN_LOG_LEVEL of 2
    inherited from the shell would still print them around the one-line
    errors; only ``--verbose`` keeps the caller's setting.
    """
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    else:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)


def _silence_native_stderr():
    """Sends what C++ libraries write to file descriptor 2 (XLA's absl log
    lines, SentencePiece's "precompiled_charsmap is empty" notes, TF
    kernels' messages) to /dev/null; Python's `sys.stderr` (warnings, the
    one-line errors, `translate`'s truncation warnings) keeps writing to
    the real standard error through a copy of the descriptor. Only for the
    console program: `--verbose` skips it, so nothing is hidden then."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no usable descriptor 2: nothing to silence
        return
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(
        saved, "w", buffering=1, encoding="utf-8", errors="backslashreplace"
    )


def _load(module_name):
    try:
        return importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(
            f"cannot import {module_name} ({e}). Install the extras with "
            "`pip install keras-seq[pipeline]`."
        ) from e


def build_parser(argv):
    parser = argparse.ArgumentParser(
        prog="keras-seq",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show the Python traceback of an error",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = next((a for a in argv if a in _SUBCOMMANDS), None)
    for name, (module_name, help_text) in _SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        sub_parser.add_argument(
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the Python traceback of an error",
        )
        if name == chosen:
            _load(module_name).add_arguments(sub_parser)
    return parser


# Longer messages (TensorFlow's staging errors quote whole call stacks) are
# cut: the line says what failed; --verbose shows everything.
MAX_MESSAGE_CHARS = 400


def _one_line(error):
    text = " ".join((str(error).strip() or type(error).__name__).split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in argv
    _quiet_startup(verbose)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        return _load(_SUBCOMMANDS[args.command][0]).run(args)
    except KeyboardInterrupt:
        print("keras-seq: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except (UserError, ValueError, FileNotFoundError, UnicodeError) as e:
        if verbose:
            raise
        print(f"keras-seq: error: {_one_line(e)}", file=sys.stderr)
        return USER_ERROR
    except Exception as e:  # noqa: BLE001  (one line, traceback on request)
        if verbose:
            raise
        print(
            f"keras-seq: error: {type(e).__name__}: {_one_line(e)} "
            "(run with --verbose for the traceback)",
            file=sys.stderr,
        )
        return OTHER_ERROR


def console_main():
    """The `keras-seq` program: `main` with native library noise kept off
    standard error (unless `--verbose`)."""
    if "--verbose" not in sys.argv[1:]:
        _silence_native_stderr()
    sys.exit(main())


if __name__ == "__main__":
    console_main()
