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
