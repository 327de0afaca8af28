"""Packaging: keras-seq installs only under its own names.

The repository's `pipelines/`, `serving/` and `apps/` folders are installed
as `keras_seq_pipelines`, `keras_seq_serving` and `keras_seq_apps`
(`package_dir` in setup.cfg), so installing keras-seq never shadows another
project's `pipelines` or `serving` package.
"""

import configparser
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED_TOP_LEVEL = {
    "keras_seq",
    "keras_seq_apps",
    "keras_seq_pipelines",
    "keras_seq_serving",
}


def _setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    return parser


def _listed_packages():
    text = _setup_cfg()["options"]["packages"]
    return {line.strip() for line in text.splitlines() if line.strip()}


def test_every_library_subpackage_is_listed():
    on_disk = set()
    for folder, _, files in os.walk(os.path.join(ROOT, "keras_seq")):
        if "__init__.py" in files:
            relative = os.path.relpath(folder, ROOT)
            on_disk.add(relative.replace(os.sep, "."))
    listed = _listed_packages()
    assert on_disk - listed == set(), "add these to setup.cfg packages"
    assert listed - on_disk - ALLOWED_TOP_LEVEL == set()


def test_package_dir_maps_repository_folders_under_the_namespace():
    text = _setup_cfg()["options"]["package_dir"]
    mapping = dict(
        (part.strip() for part in line.split("="))
        for line in text.splitlines()
        if line.strip()
    )
    assert mapping == {
        "keras_seq_apps": "apps",
        "keras_seq_pipelines": "pipelines",
        "keras_seq_serving": "serving",
    }
    for folder in mapping.values():
        assert os.path.isfile(os.path.join(ROOT, folder, "__init__.py"))


def test_pip_install_creates_no_generic_top_level_package(tmp_path):
    # Built from a copy: setuptools writes build/ next to the sources.
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", "outputs", "build", "*.egg-info", "logs"
        ),
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        cwd=tmp_path,
    )
    top_level = {
        name
        for name in os.listdir(target)
        if (target / name / "__init__.py").is_file()
    }
    assert top_level == ALLOWED_TOP_LEVEL
    assert (target / "keras_seq_serving" / "config").is_dir()
    assert (target / "keras_seq_apps" / "cli.py").is_file()
