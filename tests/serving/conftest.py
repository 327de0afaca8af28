"""A session-wide small exported translator for the serving tests."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def translator(tmp_path_factory):
    import serving_fixtures

    return serving_fixtures.build_translator(
        str(tmp_path_factory.mktemp("translator"))
    )
