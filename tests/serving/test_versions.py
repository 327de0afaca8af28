"""Picking the newest COMPLETE model version (saved_model.pb and
variables/variables.index), as TF Serving does."""

import os

import pytest

from keras_seq_serving import versions


def make_version(base, name, complete=True, files=None):
    path = os.path.join(str(base), str(name))
    os.makedirs(os.path.join(path, "variables"), exist_ok=True)
    files = files or (
        versions.COMPLETE_FILES if complete else ("saved_model.pb",)
    )
    for f in files:
        with open(os.path.join(path, f), "w") as out:
            out.write("x")
    return path


def test_newest_complete_version_skips_a_half_copied_newer_one(tmp_path):
    # Issue 15: a half-copied newest version folder made `translate` fail.
    good = make_version(tmp_path, 100)
    make_version(tmp_path, 99)
    make_version(tmp_path, 200, complete=False)  # no variables.index
    os.makedirs(tmp_path / "300")  # empty
    make_version(tmp_path, ".400.incomplete-ab12")  # a push in progress
    (tmp_path / "notes.txt").write_text("not a version")
    with pytest.warns(versions.IncompleteVersionWarning, match="200.*300"):
        assert versions.latest_complete_version(str(tmp_path)) == good
    assert [v for v, _ in versions.complete_versions(str(tmp_path))] == [
        99,
        100,
    ]


def test_versions_compare_as_numbers(tmp_path):
    make_version(tmp_path, 9)
    newest = make_version(tmp_path, 10)
    assert versions.latest_complete_version(str(tmp_path)) == newest


def test_no_complete_version_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no version folder"):
        versions.latest_complete_version(str(tmp_path))
    make_version(tmp_path, 5, complete=False)
    with pytest.warns(versions.IncompleteVersionWarning):
        with pytest.raises(ValueError, match=r"incomplete versions \[5\]"):
            versions.latest_complete_version(str(tmp_path))


def test_resolve_saved_model_accepts_a_saved_model_folder(tmp_path):
    path = make_version(tmp_path, "model")
    assert versions.resolve_saved_model(path) == path
    broken = make_version(tmp_path, "broken", complete=False)
    with pytest.raises(ValueError, match="incomplete"):
        versions.resolve_saved_model(broken)
    make_version(tmp_path / "base", 7)
    assert versions.resolve_saved_model(str(tmp_path / "base")).endswith("7")
