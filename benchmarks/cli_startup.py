"""Start-up time of the `keras-seq` command line.

Times `keras-seq --help` and `keras-seq translate --help` as whole
processes (what a user waits for), several runs each, and prints the
minimum, median and maximum in seconds. Goal: under 3 s (the subcommand
modules import Keras, TensorFlow and TFX only inside `run()`).

    .venv/bin/python benchmarks/cli_startup.py --runs 7
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = (
    ["--help"],
    ["translate", "--help"],
    ["demo", "--help"],
    ["pipeline", "run", "--help"],
)


def time_command(argv, runs):
    executable = os.path.join(os.path.dirname(sys.executable), "keras-seq")
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [executable, *argv],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds.append(time.perf_counter() - start)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for argv in COMMANDS:
        seconds = time_command(argv, args.runs)
        print(
            f"keras-seq {' '.join(argv):24} min {min(seconds):.3f} s, "
            f"median {statistics.median(seconds):.3f} s, "
            f"max {max(seconds):.3f} s ({args.runs} runs)"
        )


if __name__ == "__main__":
    main()
