"""Validation BLEU against training minutes, from training logs.

Reads the log a pipeline run (or a benchmark using the pipeline's Trainer)
printed: Keras' per-epoch lines (`455/455 - 322s - ...`, verbose=2) and
the best-checkpoint callback's `epoch N: validation BLEU B (greedy, ...)`
lines, and plots each log's curve, BLEU against the cumulative training
time of the epochs (Keras' epoch time, which includes the validation
loss and the callback's greedy decoding, since its progress bar is the
last callback to end the epoch) or, with `--x epoch`, against the
epoch (which does not depend on what else ran on the machine). Prints
the points it plotted.

    .venv/bin/python benchmarks/learning_curve.py \\
        --log "Transformer=benchmarks/logs/pipeline_multi30k.log" \\
        --output benchmarks/figures/multi30k_learning_curve.png

With `--x epoch`, `--values "LABEL=B1,B2,..."` adds a curve given as its
per-epoch BLEU (a run whose log is gone, from its table in RESULTS.md).
"""

import argparse
import re

EPOCH_LINE = re.compile(r"^\d+/\d+ - (\d+)s - ")
BLEU_LINE = re.compile(r"^epoch (\d+): validation BLEU ([0-9.]+)")


def read_curve(path):
    """`[(epoch, training minutes, BLEU)]`, one point per finished epoch."""
    seconds, bleu = [], {}
    with open(path, "rb") as file:
        for raw in file:
            line = raw.decode("utf-8", errors="replace").strip()
            match = EPOCH_LINE.match(line)
            if match:
                seconds.append(int(match.group(1)))
                continue
            match = BLEU_LINE.match(line)
            if match:
                bleu[int(match.group(1))] = float(match.group(2))
    points, total = [], 0
    for epoch, epoch_seconds in enumerate(seconds, 1):
        total += epoch_seconds
        if epoch in bleu:
            points.append((epoch, total / 60, bleu[epoch]))
    if not points:
        raise ValueError(
            "No epoch with both a Keras epoch line and a validation BLEU "
            f"line. Received: log={path!r}"
        )
    return points


def parse_values(item):
    """`(label, [(epoch, None, BLEU)])` from `LABEL=B1,B2,...`."""
    label, sep, text = item.rpartition("=")
    try:
        bleus = [float(value) for value in text.split(",")]
    except ValueError:
        bleus = None
    if not sep or not label or not bleus:
        raise SystemExit(
            "--values wants LABEL=B1,B2,... (BLEU after epochs 1, 2, ...). "
            f"Received: {item!r}"
        )
    return label, [(e, None, b) for e, b in enumerate(bleus, 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log",
        action="append",
        default=[],
        help="LABEL=PATH of a training log (repeatable)",
    )
    parser.add_argument(
        "--values",
        action="append",
        default=[],
        help="LABEL=B1,B2,... BLEU after each epoch (repeatable; --x epoch)",
    )
    parser.add_argument("--x", choices=("minutes", "epoch"), default="minutes")
    parser.add_argument("--output", required=True)
    parser.add_argument("--title", default="Multi30k En->De validation")
    args = parser.parse_args()
    if not args.log and not args.values:
        parser.error("give at least one --log (or --values with --x epoch)")
    if args.values and args.x != "epoch":
        parser.error("--values has no minutes: use it with --x epoch")
    curves = [parse_values(item) for item in args.values]
    for item in args.log:
        label, _, path = item.rpartition("=")
        try:
            curves.append((label or path, read_curve(path)))
        except (OSError, ValueError) as error:  # missing log, no epochs
            raise SystemExit(f"--log {item!r}: {error}") from None

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    column = 1 if args.x == "minutes" else 0
    for label, points in curves:
        print(label)
        for epoch, minutes, bleu in points:
            when = "" if minutes is None else f"  {minutes:7.1f} min"
            print(f"  epoch {epoch:3d}{when}  BLEU {bleu:6.2f}")
        axes.plot(
            [point[column] for point in points],
            [point[2] for point in points],
            marker="o",
            label=label,
        )
    axes.set_xlabel(
        "minutes of epochs, validation included (2 CPU cores)"
        if args.x == "minutes"
        else "epoch"
    )
    axes.set_ylabel(
        "validation BLEU (greedy, cased sacreBLEU)\n"
        "(the sentences the log scored)"
    )
    axes.set_title(args.title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
