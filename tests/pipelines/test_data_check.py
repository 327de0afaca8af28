"""The data check: a user's corpus is read-only, one reading rule for the
check and ExampleGen, every dropped line counted with its line number,
empty splits and train/eval overlap stop the run before training."""

import hashlib
import os

import pytest

from keras_seq_pipelines import data_check


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())


def tree_digest(folder):
    """`{relative path: sha256}` of every file under `folder`."""
    digest = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digest[os.path.relpath(path, folder)] = hashlib.sha256(
                    f.read()
                ).hexdigest()
    return digest


def corpus(tmp_path, train, eval_=None, name="mine"):
    folder = tmp_path / name
    write(str(folder / "train" / "data.csv"), train)
    if eval_ is not None:
        write(str(folder / "eval" / "data.csv"), eval_)
    return str(folder)


def check(folder, tmp_path, **kwargs):
    return data_check.check_data_dir(folder, str(tmp_path / "clean"), **kwargs)


# ------------------------------------------------ one reading rule


@pytest.mark.parametrize(
    "line, fields",
    [
        ("a,b", ["a", "b"]),
        ('"a, b",c', ["a, b", "c"]),
        ('"say ""hi""",x', ['say "hi"', "x"]),
        ('"",""', ["", ""]),
        ("a,b,", ["a", "b", ""]),
        ("", [""]),
    ],
)
def test_parse_line_rfc4180(line, fields):
    assert data_check.parse_line(line) == fields


@pytest.mark.parametrize(
    "line, reason",
    [
        ('"unclosed,x', "unbalanced quote"),
        ('a,"unclosed', "unbalanced quote"),
        ('"a"b,c', "after a closing quote"),
        ('a"b,c', "inside an unquoted field"),
    ],
)
def test_parse_line_rejects_bad_quoting(line, reason):
    with pytest.raises(data_check.LineError, match=reason):
        data_check.parse_line(line)


def test_unbalanced_quote_glues_no_lines_and_counts_each_lost_line(tmp_path):
    # Issue 15: ExampleGen glued 5 lines into one 108-character example and
    # the old check counted rows, not the lines lost.
    lines = ["source,target"]
    lines += [f"{d} may 2001,2001-05-{d:02d}" for d in range(1, 4)]
    lines += ['"4 may 2001,2001-05-04']  # line 5: quote never closed
    lines += [f"{d} may 2001,2001-05-{d:02d}" for d in range(5, 9)]
    lines += ['9 may 2001,"2001-05-09']  # line 10
    folder = corpus(tmp_path, "\n".join(lines) + "\n", "source,target\nx,y\n")
    clean, reports = check(folder, tmp_path)
    report = reports["train"]
    assert report.written == 7
    assert report.skipped_malformed == 2
    assert [(n, "unbalanced" in r) for _, n, r in report.dropped_lines] == [
        (5, True),
        (10, True),
    ]
    assert report.lines == report.headers + report.written + report.dropped
    assert "train/data.csv:5: unbalanced quote" in report.summary()
    pairs = data_check.check_file(os.path.join(clean, "train", "data.csv"))[0]
    assert max(len(s) + len(t) for s, t in pairs) < 30  # nothing glued
    assert len(pairs) == 7


def test_every_dropped_line_is_counted_with_its_number(tmp_path):
    content = (
        b"\xef\xbb\xbfsource,target\r\n"  # BOM, CRLF
        b"ok one,1\r\n"
        b"\r\n"  # 3 empty line
        b"only one field\n"  # 4
        b"a,b,c\n"  # 5
        b'"",x\n'  # 6 empty side
        b"nul\x00byte,y\n"  # 7
        b"bad \xff bytes,z\n" + b"x" * 2000 + b",long\n"  # kept, repaired  # 9
        b'tab\tin "quoted",x\n'  # 10 quote in an unquoted field
        b"last,no newline"
    )
    folder = corpus(tmp_path, content, "source,target\ne,f\n")
    _, reports = check(folder, tmp_path)
    report = reports["train"]
    assert report.lines == 11
    assert report.written == 3
    assert [n for _, n, _ in report.dropped_lines] == [3, 4, 5, 6, 7, 9, 10]
    assert (report.skipped_empty, report.skipped_too_long) == (2, 1)
    assert (report.skipped_malformed, report.repaired_non_utf8) == (4, 1)
    assert report.repaired_lines == [("train/data.csv", 8)]
    assert "Repaired (non-UTF-8 bytes): train/data.csv:8" in report.summary()
    rows = data_check.check_file(
        str(tmp_path / "clean" / "train" / "data.csv")
    )[0]
    assert rows == [
        ("ok one", "1"),
        ("bad \ufffd bytes", "z"),
        ("last", "no newline"),
    ]


def test_tsv_files_follow_the_same_rule(tmp_path):
    folder = tmp_path / "tsv"
    write(
        str(folder / "train" / "a.tsv"),
        'source\ttarget\nhe said "hi"\ter sagte "hallo"\nbroken line\n',
    )
    write(str(folder / "eval" / "b.tsv"), "source\ttarget\nx\ty\n")
    _, reports = check(str(folder), tmp_path)
    assert reports["train"].written == 1
    assert reports["train"].dropped_lines == [
        ("train/a.tsv", 3, "1 fields, need 2 ('broken line'...)")
    ]
    rows = data_check.check_file(
        str(tmp_path / "clean" / "train" / "data.csv")
    )[0]
    assert rows == [('he said "hi"', 'er sagte "hallo"')]


def test_clean_copy_reads_back_identically_with_examplegens_reader(tmp_path):
    """What is checked is what is ingested: the clean copy parsed by
    CsvExampleGen's own record reader gives exactly the checked pairs."""
    from tfx.components.example_gen.csv_example_gen import executor
    from tfx_bsl.coders import csv_decoder

    content = (
        "source,target\n"
        '"a, quoted ""one""",b\n'
        '"broken,quote\n'
        "x\u2028y,\u0085z\r\n"
        "tab\tinside,v\n"
        "ok,ok\n"
    )
    folder = corpus(tmp_path, content, "source,target\ne,f\n")
    clean, _ = check(folder, tmp_path)
    path = os.path.join(clean, "train", "data.csv")
    checked = data_check.check_file(path)[0]
    reader = csv_decoder._CSVRecordReader(",")
    ingested = [
        tuple(c.decode() for c in reader.ReadLine(record))
        for record in executor._ReadCsvRecordsFromTextFile().process(path)
    ]
    assert ingested == checked
    assert checked == [
        ('a, quoted "one"', "b"),
        ("x y", "z"),
        ("tab inside", "v"),
        ("ok", "ok"),
    ]


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"src,tgt\n",
        b"target,source\n",
        b"1 may,2001-05-01\n",
        b'"source\n',
    ],
)
def test_a_file_without_the_header_is_a_clear_error(tmp_path, header):
    folder = corpus(tmp_path, header + b"a,b\n", "source,target\ne,f\n")
    with pytest.raises(ValueError, match="must be the header.*Received: "):
        check(folder, tmp_path)


# ------------------------------------- the user's folder is read-only


def test_check_never_writes_into_the_data_folder(tmp_path):
    folder = corpus(
        tmp_path, b"source,target\nbad \xff,x\n\n1,2\n", "source,target\ne,f\n"
    )
    before = tree_digest(folder)
    clean, reports = check(folder, tmp_path)
    assert clean == str(tmp_path / "clean")
    assert tree_digest(folder) == before
    # The copy is rewritten only when it changes (ExampleGen's cache key
    # includes file times).
    mtime = os.path.getmtime(os.path.join(clean, "train", "data.csv"))
    os.utime(os.path.join(clean, "train", "data.csv"), (1, 1))
    check(folder, tmp_path)
    assert os.path.getmtime(os.path.join(clean, "train", "data.csv")) == 1
    assert mtime != 1


@pytest.mark.parametrize("where", ["same", "train"])
def test_clean_copy_over_the_corpus_is_refused(tmp_path, where):
    folder = corpus(tmp_path, "source,target\na,b\n", "source,target\ne,f\n")
    clean = folder if where == "same" else os.path.join(folder, "train", "x")
    with pytest.raises(ValueError, match="only read"):
        data_check.check_data_dir(folder, clean)


def test_missing_folder_or_split_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist.*Received: data_dir="):
        check(str(tmp_path / "typo"), tmp_path)
    folder = corpus(tmp_path, "source,target\na,b\n")
    with pytest.raises(ValueError, match="no eval split.*--eval-fraction"):
        check(folder, tmp_path)
    os.makedirs(os.path.join(folder, "eval"))  # a folder without files
    with pytest.raises(ValueError, match="no eval split"):
        check(folder, tmp_path)
    only_eval = tmp_path / "only_eval"
    write(str(only_eval / "eval" / "data.csv"), "source,target\na,b\n")
    with pytest.raises(ValueError, match="no train split"):
        check(str(only_eval), tmp_path)


def test_eval_fraction_holds_out_a_seeded_split_in_the_copy(tmp_path):
    lines = "".join(f"s{i},t{i}\n" for i in range(100))
    folder = corpus(tmp_path, "source,target\n" + lines)
    before = tree_digest(folder)
    clean, reports = check(folder, tmp_path, eval_fraction=0.1, seed=3)
    assert tree_digest(folder) == before
    assert (reports["train"].written, reports["eval"].written) == (90, 10)
    train = data_check.check_file(os.path.join(clean, "train", "data.csv"))[0]
    held = data_check.check_file(os.path.join(clean, "eval", "data.csv"))[0]
    assert sorted(train + held) == sorted(
        (f"s{i}", f"t{i}") for i in range(100)
    )
    again = data_check.hold_out(sorted(train + held), 0.1, seed=3)
    assert again == data_check.hold_out(sorted(train + held), 0.1, seed=3)
    with pytest.raises(ValueError, match="Received: eval_fraction=1.5"):
        check(folder, tmp_path, eval_fraction=1.5)
    write(os.path.join(folder, "eval", "data.csv"), "source,target\na,b\n")
    with pytest.raises(ValueError, match="has eval/ files"):
        check(folder, tmp_path, eval_fraction=0.1)


# ---------------------------------- problems that stop the run early


@pytest.mark.parametrize("empty", ["train", "eval"])
def test_header_only_split_stops_before_the_pipeline(tmp_path, empty):
    # Issue 15: a header-only train split died in the Trainer with a bare
    # StopIteration after 146 s; a header-only eval split with
    # KeyError: 'source' in Transform.
    full = "source,target\na,b\n"
    folder = corpus(
        tmp_path,
        "source,target\n" if empty == "train" else full,
        "source,target\n\n" if empty == "eval" else "source,target\nc,d\n",
    )
    with pytest.raises(ValueError, match=f"The {empty} split has no valid"):
        check(folder, tmp_path)
    assert not os.path.exists(tmp_path / "clean")


def test_train_eval_overlap_stops_unless_allowed(tmp_path):
    train = "source,target\n" + "".join(f"s {i},t{i}\n" for i in range(50))
    eval_ = "source,target\nS  3,t3\nnew,n\n"  # same source up to case/space
    folder = corpus(tmp_path, train, eval_)
    with pytest.raises(ValueError, match=r"1 of the 2 eval.*--allow-anomalies"):
        check(folder, tmp_path)
    _, reports = check(folder, tmp_path, allow_anomalies=True)
    assert reports["eval"].overlap == 1
    assert "also in train" in reports["eval"].summary()
    # Below the tolerated fraction: reported, not fatal.
    eval_ = "source,target\ns 3,t3\n" + "".join(
        f"new {i},n\n" for i in range(199)
    )
    write(os.path.join(folder, "eval", "data.csv"), eval_)
    _, reports = check(folder, tmp_path)
    assert reports["eval"].overlap == 1
