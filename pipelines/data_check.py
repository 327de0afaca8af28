"""The data check: one reading rule for the user's corpus, line by line.

A user's corpus (`--data-dir D`, with `D/train/*.csv|*.tsv` and
`D/eval/*.csv|*.tsv`) is read-only input. `check_data_dir` reads it under
the strict rule below, counts and reports every line it drops (with its file
and line number), stops on problems the pipeline cannot train on, and
writes the clean rows to a copy in the output folder. ExampleGen ingests
only that copy, so what is checked is what is ingested.

The rule, per physical line (a file is split on `\\n`; a `\\r` before it,
a UTF-8 byte-order mark at the start of the file are removed):

- the first line of each file is the header `source,target`
  (`source<TAB>target` for `.tsv`); anything else is a `ValueError`;
- bytes that are not UTF-8 are replaced by U+FFFD (the line is kept and
  counted as repaired);
- CSV (RFC 4180 quoting): a field is either unquoted and holds no `"`, or
  enclosed in `"` with inner quotes doubled (`""`) and followed by a comma
  or the end of the line. A quoted field never spans lines: a line whose
  quote is not closed on that line is dropped as "unbalanced quote" and the
  next line is read on its own, so lines are never glued together;
- TSV: fields are split on tabs, quotes are ordinary characters;
- a line must have exactly 2 fields; whitespace inside a field (tabs, line
  separators) is collapsed to single spaces, a side that is then empty, a
  line holding a NUL byte, and a side longer than `max_line_chars` are
  dropped.

Each physical line is either the header, a written pair or a dropped line
with its reason: `DataReport.lines == headers + written + dropped`.

Then the splits are checked together: an empty split (no valid pair) stops
the run, and so do identical source sentences in train and eval when they
are more than `max_overlap_fraction` of the eval split, unless
`allow_anomalies`.
"""

import csv
import dataclasses
import logging
import os
import random

SOURCE_KEY = "source"
TARGET_KEY = "target"
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
CSV_FILENAME = "data.csv"
DEFAULT_MAX_LINE_CHARS = 1000
# How many dropped lines a report names (all are counted).
MAX_SHOWN = 10
# Identical train/eval sources tolerated before the run stops (Multi30k's
# standard split shares 1 of its 1,014 validation sentences with train).
DEFAULT_MAX_OVERLAP_FRACTION = 0.01
INPUT_EXTENSIONS = {".csv": ",", ".tsv": "\t"}

# Reasons a line is dropped, by counter.
EMPTY = "skipped_empty"
MALFORMED = "skipped_malformed"
TOO_LONG = "skipped_too_long"

logger = logging.getLogger(__name__)


class LineError(Exception):
    """A physical line breaks the reading rule (the message says how)."""


@dataclasses.dataclass
class DataReport:
    """What happened to the lines (or rows) of one split."""

    split: str = TRAIN_SPLIT
    written: int = 0
    lines: int = 0
    headers: int = 0
    skipped_empty: int = 0
    skipped_malformed: int = 0
    skipped_too_long: int = 0
    repaired_non_utf8: int = 0
    # `(file, line number, reason)` of every dropped line, in order (file
    # None: rows of a built-in corpus, numbered from 1).
    dropped_lines: list = dataclasses.field(default_factory=list)
    # `(file, line number)` of every line whose non-UTF-8 bytes were
    # replaced (the line is kept).
    repaired_lines: list = dataclasses.field(default_factory=list)
    # Source sentences also in the train split (eval report only).
    overlap: int = 0
    overlap_examples: list = dataclasses.field(default_factory=list)
    note: str = ""

    @property
    def dropped(self):
        return (
            self.skipped_empty + self.skipped_malformed + self.skipped_too_long
        )

    @property
    def problems(self):
        return self.dropped + self.repaired_non_utf8

    def drop(self, counter, where, line_number, reason):
        setattr(self, counter, getattr(self, counter) + 1)
        self.dropped_lines.append((where, line_number, reason))

    def summary(self, max_shown=MAX_SHOWN):
        text = f"{self.split}: {self.written} pairs written"
        if self.note:
            text += f" ({self.note})"
        details = [
            (self.skipped_empty, "empty lines or sides skipped"),
            (self.skipped_malformed, "malformed lines skipped"),
            (self.skipped_too_long, "over-long lines skipped"),
            (self.repaired_non_utf8, "lines with non-UTF-8 bytes repaired"),
        ]
        details = [f"{n} {what}" for n, what in details if n]
        if details:
            text += f"; {', '.join(details)}"
        if self.dropped_lines:
            shown = "; ".join(
                f"{where}:{number}: {reason}"
                if where
                else f"row {number}: {reason}"
                for where, number, reason in self.dropped_lines[:max_shown]
            )
            more = len(self.dropped_lines) - max_shown
            text += f". Dropped: {shown}" + (
                f"; and {more} more" if more > 0 else ""
            )
        if self.repaired_lines:
            shown = "; ".join(
                f"{where}:{number}" if where else f"row {number}"
                for where, number in self.repaired_lines[:max_shown]
            )
            more = len(self.repaired_lines) - max_shown
            text += f". Repaired (non-UTF-8 bytes): {shown}" + (
                f"; and {more} more" if more > 0 else ""
            )
        if self.overlap:
            text += (
                f". {self.overlap} eval source sentences are also in train, "
                f"e.g. {self.overlap_examples[:3]!r}"
            )
        return text


def parse_line(line, delimiter=","):
    """Fields of one physical line (no line break) under the strict rule.

    Raises:
        LineError: bad quoting (CSV only).
    """
    if delimiter != ",":
        return line.split(delimiter)
    fields = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            parts, j = [], i + 1
            while True:
                k = line.find('"', j)
                if k < 0:
                    raise LineError("unbalanced quote (not closed on its line)")
                parts.append(line[j:k])
                if line.startswith('"', k + 1):
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            fields.append("".join(parts))
            if i == n:
                return fields
            if line[i] != delimiter:
                raise LineError("text after a closing quote")
            i += 1
        else:
            k = line.find(delimiter, i)
            field = line[i:] if k < 0 else line[i:k]
            if '"' in field:
                raise LineError('quote " inside an unquoted field')
            fields.append(field)
            if k < 0:
                return fields
            i = k + 1


def physical_lines(raw):
    """`raw` bytes split into physical lines (see the module docstring)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the file ends with a line break
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def check_pair(fields, max_line_chars):
    """`(pair, None)` or `(None, (counter, reason))` for decoded fields."""
    if len(fields) != 2:
        if not any(f.strip() for f in fields):
            return None, (EMPTY, "empty line")
        return None, (
            MALFORMED,
            f"{len(fields)} fields, need 2 ({fields[0][:30]!r}...)",
        )
    if any("\x00" in f for f in fields):
        return None, (MALFORMED, "NUL byte")
    # Tabs and line separators would break the one-line-per-row copy.
    source, target = (" ".join(f.split()) for f in fields)
    if not source or not target:
        return None, (EMPTY, "empty source or target")
    longest = max(len(source), len(target))
    if longest > max_line_chars:
        return None, (
            TOO_LONG,
            f"{longest} characters, limit {max_line_chars}",
        )
    return (source, target), None


def check_file(path, report=None, max_line_chars=None, name=None):
    """Reads one user file under the rule.

    Returns:
        `(pairs, line_numbers, report)`: the clean pairs, the file line of
        each, and the `DataReport` (updated in place when given).

    Raises:
        ValueError: the file has no `source,target` header.
    """
    max_line_chars = max_line_chars or DEFAULT_MAX_LINE_CHARS
    report = report or DataReport()
    name = name or path
    delimiter = INPUT_EXTENSIONS.get(os.path.splitext(path)[1], ",")
    with open(path, "rb") as f:
        lines = physical_lines(f.read())
    header_text = lines[0].decode("utf-8", errors="replace") if lines else ""
    try:
        header = [h.strip() for h in parse_line(header_text, delimiter)]
    except LineError:
        header = [header_text]
    if header != [SOURCE_KEY, TARGET_KEY]:
        sep = "," if delimiter == "," else "<TAB>"
        raise ValueError(
            f"The first line of {path} must be the header "
            f"'{SOURCE_KEY}{sep}{TARGET_KEY}'. Received: "
            f"{header_text[:80]!r}" + (" (empty file)" if not lines else "")
        )
    report.lines += len(lines)
    report.headers += 1
    pairs, numbers = [], []
    for number, raw in enumerate(lines[1:], 2):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            report.repaired_non_utf8 += 1
            report.repaired_lines.append((name, number))
        try:
            fields = parse_line(text, delimiter)
        except LineError as e:
            report.drop(MALFORMED, name, number, str(e))
            continue
        pair, problem = check_pair(fields, max_line_chars)
        if problem:
            report.drop(problem[0], name, number, problem[1])
            continue
        pairs.append(pair)
        numbers.append(number)
    report.written += len(pairs)
    return pairs, numbers, report


def split_files(data_dir, split):
    """The `*.csv`/`*.tsv` files of `data_dir/split`, sorted."""
    folder = os.path.join(data_dir, split)
    if not os.path.isdir(folder):
        return []
    return sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if os.path.splitext(f)[1] in INPUT_EXTENSIONS
        and os.path.isfile(os.path.join(folder, f))
    )


def check_split(data_dir, split, max_line_chars=None):
    """`(pairs, report)` of every file of one split."""
    report = DataReport(split=split)
    pairs = []
    for path in split_files(data_dir, split):
        name = os.path.relpath(path, data_dir)
        file_pairs, _, _ = check_file(path, report, max_line_chars, name)
        pairs.extend(file_pairs)
    return pairs, report


def _normalized(source):
    return " ".join(source.casefold().split())


def find_overlap(train_pairs, eval_pairs):
    """Eval source sentences that are also train sources (case-folded)."""
    train_sources = {_normalized(s) for s, _ in train_pairs}
    return [s for s, _ in eval_pairs if _normalized(s) in train_sources]


def hold_out(pairs, fraction, seed=0):
    """`(train, eval)`: a seeded random `fraction` of `pairs` held out."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"`eval_fraction` must be between 0 and 1 (exclusive). "
            f"Received: eval_fraction={fraction!r}"
        )
    n_eval = max(1, round(len(pairs) * fraction))
    if len(pairs) < 2 or n_eval >= len(pairs):
        raise ValueError(
            "Too few training pairs to hold out an eval split: need at "
            f"least one pair on each side. Received: {len(pairs)} pairs, "
            f"eval_fraction={fraction!r}"
        )
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    return (
        [p for i, p in enumerate(pairs) if i not in held],
        [p for i, p in enumerate(pairs) if i in held],
    )


def write_csv(pairs, path):
    """Writes `(source, target)` pairs with a `source,target` header, one
    pair per line (ExampleGen's CSV reader and `check_file` read them back
    identically)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        # ExampleGen reads the header verbatim (quotes would become part of
        # the feature names); values are quoted only when needed.
        f.write(f"{SOURCE_KEY},{TARGET_KEY}\n")
        writer = csv.writer(f, lineterminator="\n")
        writer.writerows(pairs)


def write_if_changed(pairs, path):
    """`write_csv`, but an unchanged file keeps its time stamp: ExampleGen's
    input fingerprint includes file times, and an unchanged corpus must keep
    the cache valid. The new file replaces the old one atomically."""
    tmp = path + ".new"
    write_csv(pairs, tmp)
    if os.path.exists(path) and _same_bytes(path, tmp):
        os.remove(tmp)
    else:
        os.replace(tmp, path)


def _same_bytes(path_a, path_b):
    with open(path_a, "rb") as a, open(path_b, "rb") as b:
        return a.read() == b.read()


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_data_dir(
    data_dir,
    clean_dir,
    max_line_chars=None,
    eval_fraction=None,
    seed=0,
    allow_anomalies=False,
    max_overlap_fraction=DEFAULT_MAX_OVERLAP_FRACTION,
):
    """Checks a corpus folder and writes its clean copy for ExampleGen.

    `data_dir` is only read. `clean_dir/{train,eval}/data.csv` receive the
    clean pairs (rewritten only when they change).

    Args:
        data_dir: folder with `train/` and `eval/` holding `*.csv` or
            `*.tsv` files (see the module docstring for the rule).
        clean_dir: where the clean copy goes; must not be `data_dir` nor
            inside its split folders.
        max_line_chars: longest side kept.
        eval_fraction: if `data_dir` has no `eval/`, hold out this seeded
            fraction of train as the eval split (in the copy only).
        seed: seed of that hold-out.
        allow_anomalies: report train/eval overlap instead of stopping.
        max_overlap_fraction: overlap tolerated without `allow_anomalies`.

    Returns:
        `(clean_dir, {split: DataReport})`.

    Raises:
        ValueError: a missing folder or split, a file without header, an
            empty split, or too much train/eval overlap; the message says
            what to fix.
    """
    if not os.path.isdir(data_dir):
        raise ValueError(
            "The data folder does not exist. Give a folder holding train/ "
            "and eval/ with *.csv or *.tsv files (header source,target). "
            f"Received: data_dir={data_dir!r}"
        )
    if os.path.realpath(clean_dir) == os.path.realpath(data_dir) or any(
        _inside(clean_dir, os.path.join(data_dir, s))
        for s in (TRAIN_SPLIT, EVAL_SPLIT)
    ):
        raise ValueError(
            "The clean copy would be written over or inside the corpus's "
            "train/ or eval/ folders: choose another output folder (your "
            "corpus is only read). Received: "
            f"data_dir={data_dir!r}, clean copy in {clean_dir!r}"
        )
    missing = [
        split
        for split in (TRAIN_SPLIT, EVAL_SPLIT)
        if not split_files(data_dir, split)
    ]
    if TRAIN_SPLIT in missing or (EVAL_SPLIT in missing and not eval_fraction):
        hint = (
            "; or pass --eval-fraction F to hold out a fraction of train/ "
            "as the eval split (made in the output folder)"
            if missing == [EVAL_SPLIT]
            else ""
        )
        raise ValueError(
            f"The data folder has no {' and no '.join(missing)} split: "
            f"add {' and '.join(f'{m}/*.csv' for m in missing)} "
            f"(header source,target){hint}. Received: data_dir={data_dir!r}"
        )
    if eval_fraction and EVAL_SPLIT not in missing:
        raise ValueError(
            "--eval-fraction holds out an eval split for a data folder "
            "without eval/, but this one has eval/ files: drop the option "
            "or the folder. Received: "
            f"data_dir={data_dir!r}, eval_fraction={eval_fraction!r}"
        )

    splits, reports = {}, {}
    splits[TRAIN_SPLIT], reports[TRAIN_SPLIT] = check_split(
        data_dir, TRAIN_SPLIT, max_line_chars
    )
    if EVAL_SPLIT in missing:
        train, held = hold_out(splits[TRAIN_SPLIT], eval_fraction, seed)
        splits[TRAIN_SPLIT], splits[EVAL_SPLIT] = train, held
        reports[TRAIN_SPLIT].written = len(train)
        reports[
            TRAIN_SPLIT
        ].note = f"{len(held)} more held out as eval by --eval-fraction"
        reports[EVAL_SPLIT] = DataReport(
            split=EVAL_SPLIT,
            written=len(held),
            note=f"held out from train, eval_fraction={eval_fraction}, "
            f"seed={seed}",
        )
    else:
        splits[EVAL_SPLIT], reports[EVAL_SPLIT] = check_split(
            data_dir, EVAL_SPLIT, max_line_chars
        )

    for split, pairs in splits.items():
        if not pairs:
            files = [
                os.path.relpath(p, data_dir)
                for p in split_files(data_dir, split)
            ]
            used = "trained" if split == TRAIN_SPLIT else "evaluated"
            raise ValueError(
                f"The {split} split has no valid (source, target) pair, so "
                f"the model cannot be {used}: add lines "
                "'source sentence,target sentence' below the "
                f"header. Received: {files} in data_dir={data_dir!r} "
                f"({reports[split].summary()})"
            )

    overlap = find_overlap(splits[TRAIN_SPLIT], splits[EVAL_SPLIT])
    reports[EVAL_SPLIT].overlap = len(overlap)
    reports[EVAL_SPLIT].overlap_examples = overlap[:MAX_SHOWN]
    fraction = len(overlap) / len(splits[EVAL_SPLIT])
    if overlap and fraction > max_overlap_fraction and not allow_anomalies:
        raise ValueError(
            f"{len(overlap)} of the {len(splits[EVAL_SPLIT])} eval source "
            f"sentences ({fraction:.1%}) are also in train, so BLEU on eval "
            "would measure memorization: remove them from one split (or "
            "pass --allow-anomalies to run anyway). Received: "
            f"{overlap[:3]!r} in data_dir={data_dir!r}"
        )

    for split, pairs in splits.items():
        write_if_changed(pairs, os.path.join(clean_dir, split, CSV_FILENAME))
        if reports[split].problems or reports[split].overlap:
            logger.warning("Data check: %s", reports[split].summary())
    return clean_dir, reports
