"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def shared_data() -> Path:
    """The real corpora folder (``../shared/data``), read in place; skips the test when it is not set up."""
    value = os.environ.get("NER_SHARED_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("set NER_SHARED_DATA to ../shared/data to run tests on the real corpora")
    return Path(value)
