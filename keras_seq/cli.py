"""The `keras-seq` command line.

Subcommands:
    demo        train an attentional seq2seq on the built-in date corpus.
    pipeline    run the TFX pipeline (needs the `pipeline` extra).
    translate   translate with a SavedModel or a TF Serving server.

`pipeline` and `translate` live in the `pipelines` and `serving` packages,
which import TFX and TF Serving APIs; they are imported only when their
subcommand runs, so `keras_seq` itself never imports TFX.
"""

import argparse
import importlib
import sys

# subcommand -> (module, help). Each module defines `add_arguments(parser)`
# and `run(args)`.
_SUBCOMMANDS = {
    "demo": (
        "keras_seq.demo",
        "Train an attentional seq2seq on the built-in date corpus.",
    ),
    "pipeline": ("pipelines.cli", "Run the TFX pipeline."),
    "translate": (
        "serving.cli",
        "Translate text with a SavedModel or a TF Serving server.",
    ),
}


def _load(module_name):
    try:
        return importlib.import_module(module_name)
    except ImportError as e:
        raise SystemExit(
            f"keras-seq: cannot import {module_name} ({e}). Install the "
            "extras with `pip install keras-seq[pipeline]`."
        ) from e


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="keras-seq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # Only the chosen subcommand's module is imported.
    chosen = argv[0] if argv and argv[0] in _SUBCOMMANDS else None
    for name, (module_name, help_text) in _SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        if name == chosen:
            _load(module_name).add_arguments(sub_parser)
    args = parser.parse_args(argv)
    return _load(_SUBCOMMANDS[args.command][0]).run(args)


if __name__ == "__main__":
    sys.exit(main())
