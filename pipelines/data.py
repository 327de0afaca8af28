"""Writes parallel corpora as CSV files for TFX's CsvExampleGen.

Layout written under `data_dir` (one ExampleGen input split per folder):

    data_dir/train/data.csv     header `source,target`, one pair per row
    data_dir/eval/data.csv

Every row is checked on the way in with the rule of the data check
(`data_check.check_pair`): a row that is empty, has an empty side, a NUL
byte or the wrong number of fields is skipped, bytes that are not UTF-8 are
replaced by U+FFFD, and a side longer than `max_line_chars` is skipped.
`DataReport` counts each case and `DataReport.summary()` says what was
done, so the user sees it.

These writers are for the built-in corpora and write under the run's output
folder; a user's corpus folder is only read (`data_check.check_data_dir`).
"""

import csv
import gzip
import logging
import os
import random

from keras_seq_pipelines import data_check
from keras_seq_pipelines.data_check import CSV_FILENAME  # noqa: F401
from keras_seq_pipelines.data_check import DEFAULT_MAX_LINE_CHARS
from keras_seq_pipelines.data_check import EVAL_SPLIT
from keras_seq_pipelines.data_check import TRAIN_SPLIT
from keras_seq_pipelines.data_check import DataReport
from keras_seq_pipelines.data_check import write_csv  # noqa: F401

# Held out from the pipeline, for checking the pushed model.
TEST_SPLIT = "test"
# `../shared/data/multi30k` relative to the repository root.
MULTI30K_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "..",
    "shared",
    "data",
    "multi30k",
)

logger = logging.getLogger(__name__)


def _decode(raw):
    if isinstance(raw, str):
        return raw, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def clean_pairs(rows, split=TRAIN_SPLIT, max_line_chars=None):
    """Checks and normalizes `(source, target)` rows (built-in corpora).

    The same rule as the data check of user files
    (`data_check.check_pair`): a valid row has exactly two fields, non-empty
    after collapsing whitespace, no NUL byte, none longer than
    `max_line_chars`; non-UTF-8 bytes are replaced by U+FFFD.

    Args:
        rows: iterable of sequences of `str` or `bytes` fields.
        split: split name used in the report.
        max_line_chars: skip a row whose source or target is longer.

    Returns:
        `(pairs, report)`: the list of clean `(source, target)` strings and a
        `DataReport` (dropped rows are named by their 1-based row number).
    """
    max_line_chars = max_line_chars or DEFAULT_MAX_LINE_CHARS
    report = DataReport(split=split)
    pairs = []
    for number, row in enumerate(rows, 1):
        report.lines += 1
        decoded = [_decode(field) for field in row]
        # A row with two broken fields counts once.
        if any(bad for _, bad in decoded):
            report.repaired_non_utf8 += 1
            report.repaired_lines.append((None, number))
        pair, problem = data_check.check_pair(
            [text for text, _ in decoded], max_line_chars
        )
        if problem:
            report.drop(problem[0], None, number, problem[1])
            continue
        pairs.append(pair)
    report.written = len(pairs)
    return pairs, report


def write_splits(splits, data_dir, max_line_chars=None):
    """Cleans and writes `{split: rows}` to `data_dir/<split>/data.csv`.

    Returns:
        dict `{split: DataReport}`. Raises `ValueError` if a split has no
        valid row left, since ExampleGen cannot run on it.
    """
    reports = {}
    for split, rows in splits.items():
        pairs, report = clean_pairs(rows, split, max_line_chars)
        if not pairs:
            raise ValueError(
                f"Split {split!r} has no valid (source, target) row left "
                f"after cleaning ({report.summary()}). "
                f"Received: data_dir={data_dir!r}"
            )
        write_csv(pairs, os.path.join(data_dir, split, CSV_FILENAME))
        report.written = len(pairs)
        if report.problems:
            logger.warning("Data check: %s", report.summary())
        reports[split] = report
    return reports


def read_tsv(path):
    """Rows of a tab-separated file (`source<TAB>target`), as bytes fields.

    Lines are read as bytes so that a non-UTF-8 line is repaired and counted
    by `clean_pairs` instead of stopping the read.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return [line.rstrip(b"\r\n").split(b"\t") for line in f]


def read_parallel(source_path, target_path):
    """Rows `(source_line, target_line)` of two line-aligned text files."""
    sources = _read_lines(source_path)
    targets = _read_lines(target_path)
    if len(sources) != len(targets):
        raise ValueError(
            "Parallel files must have the same number of lines. Received: "
            f"source_path={source_path!r} ({len(sources)} lines), "
            f"target_path={target_path!r} ({len(targets)} lines)"
        )
    return list(zip(sources, targets))


def _read_lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return [line.rstrip(b"\r\n") for line in f]


def write_dates(data_dir, num_train=6000, num_eval=500, num_test=500, seed=0):
    """Writes the built-in date corpus (`keras_seq.datasets.load_dates`).

    Source: a date in one of many human formats ("25 November 2026",
    "wednesday, november 25th 2026"...); target: its ISO form
    ("2026-11-25"). The eval split (ExampleGen's "eval") and the held-out
    test split (`data_dir/test/data.csv`, not read by the pipeline) hold
    calendar days the train split never contains.
    """
    from keras_seq import datasets

    splits = datasets.load_dates(
        num_train=num_train, num_val=num_eval, num_test=num_test, seed=seed
    )
    return write_splits(
        {
            TRAIN_SPLIT: splits["train"],
            EVAL_SPLIT: splits["val"],
            TEST_SPLIT: splits["test"],
        },
        data_dir,
    )


def read_csv(path):
    """`(source, target)` pairs of a CSV file written by `write_csv`."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return [tuple(row) for row in rows[1:]]


def write_multi30k(data_dir, multi30k_dir=None, max_train=None, seed=0):
    """Writes Multi30k task 1 En->De (train 29,000 pairs, val 1,014 pairs).

    Args:
        data_dir: output folder.
        multi30k_dir: folder with `{train,val}.{en,de}.gz` (the raw files of
            the `multi30k/dataset` GitHub repository, `data/task1/raw/`);
            defaults to `../shared/data/multi30k` beside the repository.
        max_train: keep only this many training pairs (a random subset).
        seed: seed of that subset.
    """
    multi30k_dir = multi30k_dir or MULTI30K_DIR
    paths = {
        f"{split}.{lang}": os.path.join(multi30k_dir, f"{split}.{lang}.gz")
        for split in ("train", "val")
        for lang in ("en", "de")
    }
    missing = [p for p in paths.values() if not os.path.exists(p)]
    if missing:
        raise ValueError(
            f"Multi30k files not found: {missing}. Get them from the "
            "multi30k/dataset repository (data/task1/raw). "
            f"Received: multi30k_dir={multi30k_dir!r}"
        )
    train = read_parallel(paths["train.en"], paths["train.de"])
    if max_train is not None and max_train < len(train):
        train = random.Random(seed).sample(train, max_train)
    val = read_parallel(paths["val.en"], paths["val.de"])
    return write_splits({TRAIN_SPLIT: train, EVAL_SPLIT: val}, data_dir)
