"""Validation BLEU against training minutes, from training logs.

Reads the log a pipeline run (or a benchmark using the pipeline's Trainer)
printed: Keras' per-epoch lines (`455/455 - 322s - ...`, verbose=2) and
the best-checkpoint callback's `epoch N: validation BLEU B (greedy, ...)`
lines, and plots each log's curve, BLEU against the cumulative training
time of the epochs (the validation decoding between epochs is not
counted). Prints the points it plotted.

    .venv/bin/python benchmarks/learning_curve.py \\
        --log "Transformer=benchmarks/logs/pipeline_multi30k.log" \\
        --output benchmarks/figures/multi30k_learning_curve.png
"""

import argparse
import re

EPOCH_LINE = re.compile(r"^\d+/\d+ - (\d+)s - ")
BLEU_LINE = re.compile(r"^epoch (\d+): validation BLEU ([0-9.]+)")


def read_curve(path):
    """`[(training minutes, BLEU)]`, one point per finished epoch."""
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
            points.append((total / 60, bleu[epoch]))
    if not points:
        raise ValueError(
            "No epoch with both a Keras epoch line and a validation BLEU "
            f"line. Received: log={path!r}"
        )
    return points


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log",
        action="append",
        required=True,
        help="LABEL=PATH of a training log (repeatable)",
    )
    parser.add_argument("--output", required=True)
    parser.add_argument("--title", default="Multi30k En->De validation")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for item in args.log:
        label, _, path = item.rpartition("=")
        points = read_curve(path)
        print(label or path)
        for minutes, bleu in points:
            print(f"  {minutes:7.1f} min  BLEU {bleu:6.2f}")
        axes.plot(
            [m for m, _ in points],
            [b for _, b in points],
            marker="o",
            label=label or path,
        )
    axes.set_xlabel("training minutes (2 CPU cores)")
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
