"""Shared fixtures of the course's own tests."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "admin")]

from autograder import course  # noqa: E402

ASSIGNMENTS = course.assignment_ids(ROOT)  # every assignments/<a>/manifest.toml


@pytest.fixture(scope="session")
def course_root():
    return ROOT


@pytest.fixture(scope="session")
def data_cache():
    """The pre-filled data cache (COURSE_DATA_DIR); notebook tests need real data."""
    value = os.environ.get("COURSE_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("COURSE_DATA_DIR is not set to a pre-filled data cache")
    return Path(value).resolve()
