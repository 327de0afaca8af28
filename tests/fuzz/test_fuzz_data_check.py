"""Fuzz test of the pipeline's data check on damaged CSV/TSV files.

1,200 seeded files (about 17,000 physical lines): unbalanced quotes, quoted
fields spanning lines, extra and missing fields, quotes in unquoted fields,
text after a closing quote, NUL bytes, invalid UTF-8, CRLF and lone CR, a
byte-order mark, huge lines, empty and blank lines, Unicode line separators,
tabs, and damaged headers. Each physical line carries a marker `Q<n>Z` (its
line number), so the test knows where every written pair came from.

Counted, all must be 0:
- crashes: any exception but the documented `ValueError` (which only a
  damaged header may raise);
- merged: a written pair holding the markers of two lines, or a marker
  that is not its reported line;
- unaccounted: physical lines that are neither the header, a written pair
  nor a dropped line (and lines counted twice);
- good lines lost, damaged lines kept (the generator knows which is which);
- unsafe: a written field with a character that would break the
  one-pair-per-line clean copy (line break, tab, NUL);
- copy mismatch: the clean copy read back by CsvExampleGen's own record
  reader differs from the checked pairs (every 10th file).
"""

import os
import random
import re

from keras_seq_pipelines import data_check

SEED = 20261202
NUM_FILES = 1200
MARKER = re.compile(r"Q(\d+)Z")
GOOD, BAD, REPAIRED = "good", "bad", "repaired"


def words(rng, n):
    vocab = ["ein", "Mann", "läuft", "25", "nov", "2026", "straße", "été", "x"]
    return " ".join(rng.choice(vocab) for _ in range(n))


def quote(text):
    return '"' + text.replace('"', '""') + '"'


def good_line(rng, m, delimiter):
    """A valid line: (bytes, kind)."""
    source = f"Q{m}Z {words(rng, rng.randint(0, 5))}"
    target = f"{words(rng, rng.randint(1, 5))} Q{m}Z"
    if delimiter == ",":
        if rng.random() < 0.3:
            source = quote(source + ', with "quotes", and commas')
        if rng.random() < 0.2:
            target = quote(target + "\t tab and\u2028separator\x85")
    elif rng.random() < 0.3:
        source += ' with "quotes"'
    return f"{source}{delimiter}{target}".encode(), GOOD


def damaged_line(rng, m, delimiter):
    """A line the rule must drop, or repair: (bytes, kind), or a list of
    two physical lines for a field spanning lines."""
    d = delimiter
    kinds = [
        lambda: (f"Q{m}Z only one field".encode(), BAD),
        lambda: (f"Q{m}Z a{d}b{d}c".encode(), BAD),
        lambda: (f"Q{m}Z a{d}b{d}".encode(), BAD),
        lambda: (b"", BAD),
        lambda: (b"   \t ", BAD),
        lambda: (f"Q{m}Z nul\x00byte{d}x".encode(), BAD),
        lambda: (f"Q{m}Z {'long ' * 400}{d}x".encode(), BAD),
        lambda: (f"{d}Q{m}Z empty source".encode(), BAD),
        lambda: (f"Q{m}Z empty target{d}  ".encode(), BAD),
        lambda: (
            f"Q{m}Z bad ".encode()
            + rng.choice([b"\xff\xfe", b"\xe2\x82", b"\xc0"])
            + f" utf8{d}x".encode(),
            REPAIRED,
        ),
        lambda: (f"Q{m}Z lone\rcr{d}y".encode(), GOOD),
    ]
    if d == ",":
        kinds += [
            lambda: (f'"Q{m}Z unbalanced,x'.encode(), BAD),
            lambda: (f'Q{m}Z a,"unbalanced'.encode(), BAD),
            lambda: (f'Q{m}Z in"side,x'.encode(), BAD),
            lambda: (f'"Q{m}Z after"x,y'.encode(), BAD),
            lambda: (f'"Q{m}Z ""odd""",x'.encode(), GOOD),
            # A quoted field spanning two physical lines: both dropped.
            lambda: [
                (f'"Q{m}Z first half'.encode(), BAD),
                (f'Q{m + 1}Z second half",x'.encode(), BAD),
            ],
        ]
    return rng.choice(kinds)()


HEADER_VARIANTS = [
    (b"source,target", True),
    (b'"source","target"', True),
    (b" source , target ", True),
    (b"\xef\xbb\xbfsource,target", True),
    (b"source,target,extra", False),
    (b"target,source", False),
    (b"src,tgt", False),
    (b"", False),
    (b'"source,target', False),
    (b"source\x00,target", False),
    (b"\xff\xfesource,target", False),
    (b"1 may 2001,2001-05-01", False),
]


def generate(rng):
    """`(content bytes, ext, header ok, {line number: kind})`."""
    tsv = rng.random() < 0.2
    delimiter = "\t" if tsv else ","
    if rng.random() < 0.9:
        header = rng.choice(HEADER_VARIANTS[:4])
    else:
        header = rng.choice(HEADER_VARIANTS)
    header_bytes, header_ok = header
    if tsv:
        header_bytes = header_bytes.replace(b",", b"\t")
        # TSV has no quoting: a quoted header is a wrong header.
        header_ok = header_ok and b'"' not in header_bytes
    lines = [header_bytes]
    kinds = {}
    for _ in range(rng.randint(0, 30)):
        m = len(lines) + 1  # the next physical line's number
        if rng.random() < 0.5:
            made = good_line(rng, m, delimiter)
        else:
            made = damaged_line(rng, m, delimiter)
        for line, kind in made if isinstance(made, list) else [made]:
            kinds[len(lines) + 1] = kind
            lines.append(line)
    endings = [b"\r\n" if rng.random() < 0.2 else b"\n" for _ in lines]
    content = b"".join(line + end for line, end in zip(lines, endings))
    if rng.random() < 0.3 and lines[-1]:
        content = content[: -len(endings[-1])]  # no final line break
    if header_bytes == b"" and len(lines) == 1:
        content = b""
    return content, (".tsv" if tsv else ".csv"), header_ok, kinds


def test_fuzz_data_check(tmp_path, record_property):
    from tfx.components.example_gen.csv_example_gen import executor
    from tfx_bsl.coders import csv_decoder

    counts = dict(
        files=0,
        lines=0,
        written=0,
        dropped=0,
        header_errors=0,
        crashes=0,
        merged=0,
        unaccounted=0,
        good_lost=0,
        damaged_kept=0,
        unsafe=0,
        copy_checked=0,
        copy_mismatch=0,
    )
    failures = []
    rng = random.Random(SEED)
    for i in range(NUM_FILES):
        content, ext, header_ok, kinds = generate(rng)
        path = os.path.join(tmp_path, f"f{i}{ext}")
        with open(path, "wb") as f:
            f.write(content)
        counts["files"] += 1
        physical = len(data_check.physical_lines(content))
        expected_lines = 1 + len(kinds) if content else 0
        try:
            pairs, numbers, report = data_check.check_file(path)
        except ValueError as e:
            if header_ok:
                counts["crashes"] += 1
                failures.append((i, "ValueError on a good header", str(e)))
            else:
                counts["header_errors"] += 1
            continue
        except Exception as e:  # noqa: BLE001 (counted)
            counts["crashes"] += 1
            failures.append((i, type(e).__name__, str(e)))
            continue
        if not header_ok:
            counts["crashes"] += 1
            failures.append((i, "damaged header accepted", content[:40]))
            continue
        counts["lines"] += report.lines
        counts["written"] += report.written
        counts["dropped"] += report.dropped
        dropped_numbers = [n for _, n, _ in report.dropped_lines]
        seen = sorted(numbers + dropped_numbers)
        if (
            report.lines != expected_lines
            or physical != expected_lines
            or report.lines != report.headers + report.written + report.dropped
            or seen != list(range(2, expected_lines + 1))
        ):
            counts["unaccounted"] += 1
            failures.append((i, "unaccounted", report.summary()))
        for (source, target), number in zip(pairs, numbers):
            markers = set(MARKER.findall(source + " " + target))
            if markers != {str(number)}:
                counts["merged"] += 1
                failures.append((i, "merged", number, source, target))
            if any(c in source + target for c in "\n\r\t\x00\x0b\x0c"):
                counts["unsafe"] += 1
                failures.append((i, "unsafe", source, target))
        kept = set(numbers)
        for number, kind in kinds.items():
            if kind in (GOOD, REPAIRED) and number not in kept:
                counts["good_lost"] += 1
                failures.append((i, "good line lost", number, report.summary()))
            if kind == BAD and number in kept:
                counts["damaged_kept"] += 1
                failures.append((i, "damaged line kept", number))
        if i % 10 == 0 and pairs:
            copy = os.path.join(tmp_path, f"copy{i}.csv")
            data_check.write_csv(pairs, copy)
            reader = csv_decoder._CSVRecordReader(",")
            ingested = [
                tuple(c.decode() for c in reader.ReadLine(record))
                for record in executor._ReadCsvRecordsFromTextFile().process(
                    copy
                )
            ]
            counts["copy_checked"] += 1
            if ingested != pairs:
                counts["copy_mismatch"] += 1
                failures.append((i, "copy mismatch"))
    for key, value in counts.items():
        record_property(key, value)
    print("\nData check fuzz:", counts)
    assert counts["files"] >= 1000 and counts["lines"] >= 10000, counts
    bad = {
        k: counts[k]
        for k in (
            "crashes",
            "merged",
            "unaccounted",
            "good_lost",
            "damaged_kept",
            "unsafe",
            "copy_mismatch",
        )
    }
    assert bad == dict.fromkeys(bad, 0), (bad, failures[:5])
    assert counts["header_errors"] > 0 and counts["copy_checked"] >= 90
