"""Is the adversarial catalogue of a01_santa_logreg complete, well formed and committed as its
generator writes it? Fast: nothing here grades or runs a notebook (grading them is the harness's
job, see known_submissions/adversarial/build_fixtures.py --submissions)."""
import re

import pytest

from known_submissions.adversarial import build_fixtures
from known_submissions.adversarial.cases import CASES, CATEGORIES, FULL_SCORE, STATUSES

FIXTURES = build_fixtures.FIXTURES
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


@pytest.fixture(scope="module")
def generated():
    return build_fixtures.expected_files()


def test_fixtures_on_disk_are_exactly_what_the_generator_writes(generated):
    problems = build_fixtures.differences(generated)
    assert problems == [], ("run `python -m known_submissions.adversarial.build_fixtures` and commit the result:\n"
                            + "\n".join(problems))


def test_generator_is_reproducible(generated):
    assert build_fixtures.expected_files() == generated


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40


def test_names_are_unique_snake_case_and_name_the_fixture_files():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
    assert [n for n in names if not SNAKE_CASE.fullmatch(n)] == []
    assert sorted(p.stem for p in FIXTURES.glob("*.ipynb")) == sorted(names)
    with_extras = {case.name for case in CASES if case.extra_files}
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == with_extras


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_cases(category):
    assert [case.name for case in CASES if case.category == category]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case_is_well_formed(case):
    assert case.category in CATEGORIES
    assert case.expected_status in STATUSES
    assert isinstance(case.expected_score, (int, float)) and 0 <= case.expected_score <= FULL_SCORE
    if case.expected_status == "invalid":
        assert case.expected_score == 0
    assert case.description and "\n" not in case.description
    assert case.submitted_name.endswith(".ipynb") and "/" not in case.submitted_name
    for name, text in case.extra_files:
        assert isinstance(name, str) and isinstance(text, str) and not name.startswith("/") and ".." not in name
