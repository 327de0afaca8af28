"""Shared pytest set-up: quiet TensorFlow, make tests/ helpers importable."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MULTI30K_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "multi30k")
BACKEND_INDEPENDENT_LIST = os.path.join(
    REPO_ROOT, "tests", "backend_independent.txt"
)


def backend_independent_tests(backend):
    """`(paths, excluded)` of tests/backend_independent.txt for `backend`.

    `paths`: absolute paths (files or folders) of backend-independent
    tests; `excluded`: node ids (or files) inside them left out on
    `backend` (the lines "-NODE_ID" and "-BACKEND NODE_ID").
    """
    with open(BACKEND_INDEPENDENT_LIST) as f:
        lines = [line.split("#")[0].strip() for line in f]
    paths = [os.path.join(REPO_ROOT, s) for s in lines if s and s[0] != "-"]
    excluded = []
    for line in lines:
        if line.startswith("-"):
            words = line[1:].split()
            if len(words) == 1 or words[0] == backend:
                excluded.append(words[-1])
    return paths, excluded


def pytest_collection_modifyitems(config, items):
    """Marks `backend_independent` the tests listed in that file."""
    paths, excluded = backend_independent_tests(keras.backend.backend())
    for item in items:
        path = str(item.path)
        if not any(path == p or path.startswith(p + os.sep) for p in paths):
            continue
        test_id = item.nodeid.split("[")[0]
        if not any(
            test_id == e or test_id.startswith(e + "::") for e in excluded
        ):
            item.add_marker(pytest.mark.backend_independent)


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Each test starts with float32 and a fresh name scope."""
    keras.config.set_dtype_policy("float32")
    keras.utils.clear_session()
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def multi30k_dir():
    if not os.path.isdir(MULTI30K_DIR):
        raise FileNotFoundError(
            f"Multi30k data expected at {MULTI30K_DIR} (../shared beside the "
            "repository, as in CI)."
        )
    return MULTI30K_DIR
