"""Writes parallel corpora as CSV files for TFX's CsvExampleGen.

Layout written under `data_dir` (one ExampleGen input split per folder):

    data_dir/train/data.csv     header `source,target`, one pair per row
    data_dir/eval/data.csv

Every row is checked on the way in and bad rows never reach the pipeline
silently: a row that is empty, has an empty side or the wrong number of
fields is skipped, bytes that are not UTF-8 are replaced by U+FFFD, and a
line longer than `max_line_chars` is skipped. `DataReport` counts each case
and `DataReport.summary()` says what was done, so the user sees it.
"""

import csv
import dataclasses
import gzip
import logging
import os
import random

from keras_seq_pipelines import configs

TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
# Held out from the pipeline, for checking the pushed model.
TEST_SPLIT = "test"
CSV_FILENAME = "data.csv"
DEFAULT_MAX_LINE_CHARS = 1000
# `../shared/data/multi30k` relative to the repository root.
MULTI30K_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "..",
    "shared",
    "data",
    "multi30k",
)

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class DataReport:
    """What happened to the rows of one split."""

    split: str = TRAIN_SPLIT
    written: int = 0
    skipped_empty: int = 0
    skipped_malformed: int = 0
    skipped_too_long: int = 0
    repaired_non_utf8: int = 0

    @property
    def problems(self):
        return (
            self.skipped_empty
            + self.skipped_malformed
            + self.skipped_too_long
            + self.repaired_non_utf8
        )

    def summary(self):
        text = f"{self.split}: {self.written} pairs written"
        details = [
            (self.skipped_empty, "empty rows or sides skipped"),
            (self.skipped_malformed, "malformed rows skipped (need 2 fields)"),
            (self.skipped_too_long, "over-long lines skipped"),
            (self.repaired_non_utf8, "rows with non-UTF-8 bytes repaired"),
        ]
        details = [f"{n} {what}" for n, what in details if n]
        return text + (f"; {', '.join(details)}" if details else "")


def _decode(raw, report):
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        report.repaired_non_utf8 += 1
        return raw.decode("utf-8", errors="replace")


def clean_pairs(rows, split=TRAIN_SPLIT, max_line_chars=None):
    """Checks and normalizes `(source, target)` rows.

    Args:
        rows: iterable of sequences of `str` or `bytes` fields; a valid row
            has exactly two non-empty fields.
        split: split name used in the report.
        max_line_chars: skip a row whose source or target is longer.

    Returns:
        `(pairs, report)`: the list of clean `(source, target)` strings and a
        `DataReport`.
    """
    max_line_chars = max_line_chars or DEFAULT_MAX_LINE_CHARS
    report = DataReport(split=split)
    pairs = []
    for row in rows:
        if len(row) != 2:
            if not any(_decode(f, report).strip() for f in row):
                report.skipped_empty += 1
            else:
                report.skipped_malformed += 1
            continue
        before = report.repaired_non_utf8
        fields = [_decode(field, report) for field in row]
        # A row with two broken fields counts once.
        report.repaired_non_utf8 = min(report.repaired_non_utf8, before + 1)
        # Newlines and tabs would break the CSV line format.
        fields = [" ".join(field.split()) for field in fields]
        if not fields[0] or not fields[1]:
            report.skipped_empty += 1
            continue
        if max(len(fields[0]), len(fields[1])) > max_line_chars:
            report.skipped_too_long += 1
            continue
        pairs.append((fields[0], fields[1]))
    return pairs, report


def write_csv(pairs, path):
    """Writes `(source, target)` pairs with a `source,target` header."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        # ExampleGen reads the header verbatim (quotes would become part of
        # the feature names); values are quoted only when needed.
        f.write(f"{configs.SOURCE_KEY},{configs.TARGET_KEY}\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerows(pairs)


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


def read_csv_rows(path):
    """Rows of a `source,target` CSV file, tolerating non-UTF-8 bytes.

    Returns:
        `(rows, non_utf8_lines)`: rows after the header (lists of `str`;
        undecodable bytes replaced by U+FFFD) and how many lines had them.
    """
    with open(path, "rb") as f:
        raw_lines = f.read().splitlines(keepends=True)
    non_utf8 = 0
    lines = []
    for raw in raw_lines:
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            non_utf8 += 1
            lines.append(raw.decode("utf-8", errors="replace"))
    rows = list(csv.reader(lines))
    header = [h.strip() for h in rows[0]] if rows else []
    if header != [configs.SOURCE_KEY, configs.TARGET_KEY]:
        raise ValueError(
            f"A CSV file must start with the header "
            f"'{configs.SOURCE_KEY},{configs.TARGET_KEY}'. "
            f"Received: path={path!r} with header {header!r}"
        )
    return rows[1:], non_utf8


def prepare_data_dir(data_dir, clean_dir, max_line_chars=None):
    """Checks every split's CSV files before ExampleGen reads them.

    ExampleGen fails on bytes that are not UTF-8 and silently makes a bad
    row of a malformed one, so the files are checked first. Clean files are
    used as they are; otherwise every split is cleaned (`clean_pairs`) into
    `clean_dir` and the problems are logged.

    Returns:
        `(data_dir to give ExampleGen, {split: DataReport})`.
    """
    splits = {}
    reports = {}
    for split in (TRAIN_SPLIT, EVAL_SPLIT):
        folder = os.path.join(data_dir, split)
        files = sorted(
            os.path.join(folder, f)
            for f in (os.listdir(folder) if os.path.isdir(folder) else [])
            if f.endswith(".csv")
        )
        if not files:
            raise ValueError(
                f"`data_dir` must hold {split}/*.csv files. "
                f"Received: data_dir={data_dir!r}"
            )
        rows, non_utf8 = [], 0
        for path in files:
            file_rows, bad = read_csv_rows(path)
            rows.extend(file_rows)
            non_utf8 += bad
        pairs, report = clean_pairs(rows, split, max_line_chars)
        report.repaired_non_utf8 = non_utf8
        report.written = len(pairs)
        splits[split] = pairs
        reports[split] = report
    if not any(r.problems for r in reports.values()):
        return data_dir, reports
    for split, pairs in splits.items():
        if not pairs:
            raise ValueError(
                f"Split {split!r} has no valid row left after cleaning "
                f"({reports[split].summary()}). Received: data_dir={data_dir!r}"
            )
        path = os.path.join(clean_dir, split, CSV_FILENAME)
        # Rewrite only on change: ExampleGen's input fingerprint includes
        # file times, and an unchanged corpus must keep the cache valid.
        tmp = path + ".new"
        write_csv(pairs, tmp)
        if os.path.exists(path) and _same_bytes(path, tmp):
            os.remove(tmp)
        else:
            os.replace(tmp, path)
        if reports[split].problems:
            logger.warning("Data check: %s", reports[split].summary())
    return clean_dir, reports


def _same_bytes(path_a, path_b):
    with open(path_a, "rb") as a, open(path_b, "rb") as b:
        return a.read() == b.read()


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
