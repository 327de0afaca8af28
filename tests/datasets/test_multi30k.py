"""load_multi30k on the shared raw files and on small local files."""

import gzip

import pytest

from keras_seq.datasets import load_multi30k


def _write_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def test_shared_data_counts_and_alignment(multi30k_dir):
    train = load_multi30k("train", data_dir=multi30k_dir)
    val = load_multi30k("val", data_dir=multi30k_dir)
    assert len(train) == 29000
    assert len(val) == 1014
    # Line i of the .en file pairs with line i of the .de file.
    with gzip.open(f"{multi30k_dir}/val.en.gz", "rt", encoding="utf-8") as f:
        english = f.read().split("\n")
    with gzip.open(f"{multi30k_dir}/val.de.gz", "rt", encoding="utf-8") as f:
        german = f.read().split("\n")
    assert english[-1] == "" and german[-1] == ""
    assert val == list(zip(english[:-1], german[:-1]))
    assert all("\n" not in s and "\n" not in t for s, t in train)
    reverse = load_multi30k(
        "val", data_dir=multi30k_dir, source_language="de",
        target_language="en",
    )  # fmt: skip
    assert reverse[5] == (val[5][1], val[5][0])


def test_local_files(tmp_path):
    _write_gz(tmp_path / "mini.en.gz", ["A dog.", "Two cats ü."])
    _write_gz(tmp_path / "mini.de.gz", ["Ein Hund.", "Zwei Katzen ü."])
    assert load_multi30k("mini", data_dir=tmp_path) == [
        ("A dog.", "Ein Hund."),
        ("Two cats ü.", "Zwei Katzen ü."),
    ]


def test_missing_file(tmp_path):
    _write_gz(tmp_path / "mini.en.gz", ["A dog."])
    with pytest.raises(ValueError, match=r"not found: .*mini\.de\.gz"):
        load_multi30k("mini", data_dir=tmp_path)


def test_mismatched_line_counts(tmp_path):
    _write_gz(tmp_path / "mini.en.gz", ["A dog.", "A cat."])
    _write_gz(tmp_path / "mini.de.gz", ["Ein Hund."])
    with pytest.raises(
        ValueError, match=r"mini\.en\.gz has 2 and .*mini\.de\.gz has 1"
    ):
        load_multi30k("mini", data_dir=tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="source_language='xx'"):
        load_multi30k("val", data_dir=tmp_path, source_language="xx")
    with pytest.raises(ValueError, match="must differ"):
        load_multi30k("val", data_dir=tmp_path, target_language="en")
    with pytest.raises(ValueError, match="split="):
        load_multi30k("../val", data_dir=tmp_path)


def test_download_path_uses_the_public_repository(tmp_path, monkeypatch):
    """Without data_dir the files come from multi30k/dataset (no network
    here: keras.utils.get_file is replaced by a stub that writes them)."""
    import keras

    calls = []

    def fake_get_file(fname, origin, cache_dir, cache_subdir):
        calls.append((fname, origin, cache_dir, cache_subdir))
        path = tmp_path / fname
        _write_gz(path, ["Hallo." if fname.endswith(".de.gz") else "Hello."])
        return str(path)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    pairs = load_multi30k("val", cache_dir=str(tmp_path))
    assert pairs == [("Hello.", "Hallo.")]
    assert [c[1] for c in calls] == [
        "https://raw.githubusercontent.com/multi30k/dataset/master/"
        "data/task1/raw/val.en.gz",
        "https://raw.githubusercontent.com/multi30k/dataset/master/"
        "data/task1/raw/val.de.gz",
    ]
    assert all(c[2] == str(tmp_path) for c in calls)
