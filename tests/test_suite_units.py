"""Does make test's schedule on two workers keep together the files that must not run at once?

``conftest.py`` names its units by file name: a file renamed or misspelt there would silently run
beside the files of its unit, and a unit would silently lose it.
"""
from pathlib import Path

import pytest

from conftest import SECONDS, UNIT_OF, UNITS

TESTS = Path(__file__).resolve().parent


def test_every_file_of_a_unit_is_a_test_file_of_the_suite():
    for unit, names in UNITS.items():
        missing = sorted(name for name in names if not (TESTS / name).is_file())
        assert not missing, f"{unit}: {missing} not in tests/"


def test_a_file_is_in_one_unit_at_most():
    assert len(UNIT_OF) == sum(len(names) for names in UNITS.values())


def test_every_timed_scope_is_a_unit_or_a_test_file():
    unknown = sorted(scope for scope in SECONDS if scope not in UNITS and not (TESTS / scope).is_file())
    assert not unknown


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_each_unit_is_timed(unit):
    assert SECONDS.get(unit, 0) > 0
