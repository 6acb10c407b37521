"""Does the harness grade a whole class through nbgrader as the golden file says?

The class: the demo's ghost students (reference, blank, typical mistakes) plus submissions that
cannot be graded (a truncated notebook, a renamed one, a missing folder). The expected grades are
committed in tests/golden/; regenerate them on purpose with UPDATE_GOLDEN=1.
"""
import csv
import os
import shutil
import subprocess
import sys

import pytest

from autograder.ghosts.notebooks import mistakes_of, write_class
from conftest import ASSIGNMENTS

FIRST_COLUMNS = ["student_id", "assignment", "score", "max_score", "status"]
# One failing test message per assignment that its feedback must show: (student, text).
SHOWN_MESSAGE = {
    "a01_santa_logreg": ("ghost-sigmoid-sign", "propagate: cost differs from the expected value"),
    "a02_cat_dnn": ("ghost-small-init", "initialize_parameters_deep: the weights of W1"),
    "a03_cnn_mnist_cifar": ("ghost-sequential", "net_1: should be built with the functional API"),
}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded_class(request, course_root, tmp_path_factory, data_cache):
    assignment = request.param
    work = tmp_path_factory.mktemp("class")
    submissions = work / "submitted"
    write_class(assignment, submissions, mistakes_of(assignment).DEMO_CLASS)
    broken = submissions / "ghost-truncated" / assignment
    broken.mkdir(parents=True)
    text = (course_root / "release" / assignment / f"{assignment}.ipynb").read_text()
    (broken / f"{assignment}.ipynb").write_text(text[: len(text) // 2])
    renamed = submissions / "ghost-renamed" / assignment
    renamed.mkdir(parents=True)
    shutil.copy(submissions / "ghost-reference" / assignment / f"{assignment}.ipynb",
                renamed / "my_solution.ipynb")
    (submissions / "ghost-no-folder").mkdir()
    out = work / "out"
    env = dict(os.environ, NBGRADER_DB_URL=f"sqlite:///{work / 'gradebook.db'}")
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(submissions),
                             "--out", str(out)], cwd=course_root, env=env, capture_output=True,
                            text=True, timeout=900)
    return assignment, result, out


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_harness_exits_0_and_writes_the_contract_columns(graded_class):
    _, result, out = graded_class
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_rows(out / "grades.csv")[0][:5] == FIRST_COLUMNS


def test_class_grades_match_the_golden_file(graded_class, course_root):
    assignment, _, out = graded_class
    got = [row[:5] for row in read_rows(out / "grades.csv")]
    golden = course_root / "tests" / "golden" / f"{assignment}_class.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        with open(golden, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(got)
    assert got == read_rows(golden)


def test_reference_gets_full_marks_blank_zero_and_every_mistake_less(graded_class):
    assignment, _, out = graded_class
    demo_class = mistakes_of(assignment).DEMO_CLASS
    rows = {row["student_id"]: row for row in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    maximum = float(rows["ghost-reference"]["max_score"])
    assert maximum > 0 and float(rows["ghost-reference"]["score"]) == maximum
    assert float(rows["ghost-blank"]["score"]) == 0
    for student, answers in demo_class.items():
        if answers:
            assert rows[student]["status"] == "graded"
            assert 0 < float(rows[student]["score"]) < maximum, student
    for student in ("ghost-truncated", "ghost-renamed", "ghost-no-folder"):
        assert rows[student]["status"] == "invalid" and float(rows[student]["score"]) == 0
    assert "my_solution.ipynb" in rows["ghost-renamed"]["message"]


def test_feedback_shows_messages_but_never_the_hidden_tests(graded_class):
    assignment, _, out = graded_class
    demo_class = mistakes_of(assignment).DEMO_CLASS
    for student in list(demo_class) + ["ghost-truncated"]:
        page = out / "feedback" / student / assignment / f"{assignment}.html"
        assert page.is_file(), page
        text = page.read_text(encoding="utf-8")
        # Markers and names that only hidden tests contain (the HTML splits code into tokens).
        for hidden in ("BEGIN HIDDEN TESTS", "_reference_", ">_rng<", "check_"):
            assert hidden not in text, (student, hidden)
    student, message = SHOWN_MESSAGE[assignment]
    mistaken = (out / "feedback" / student / assignment / f"{assignment}.html").read_text()
    assert message in mistaken
