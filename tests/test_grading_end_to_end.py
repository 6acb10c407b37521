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

import nbformat
import pytest

from autograder import course, notebook_cells
from known_submissions.ghosts import demo_class, mistakes_of, write_class
from conftest import ASSIGNMENTS

FIRST_COLUMNS = ["student_id", "assignment", "score", "max_score", "status"]


def points_by_hand(assignment):
    """The points of the written answers, which nbgrader leaves to the formgrader."""
    return sum(cell.metadata["nbgrader"]["points"] for cell in notebook_cells.read(assignment).cells
               if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded_class(request, course_root, tmp_path_factory, data_cache):
    assignment = request.param
    work = tmp_path_factory.mktemp("class")
    submissions = work / "submitted"
    write_class(assignment, submissions, demo_class(assignment))
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
    return assignment, result, out, work / "gradebook.db"


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_harness_exits_0_and_writes_the_contract_columns(graded_class):
    _, result, out, _ = graded_class
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_rows(out / "grades.csv")[0][:5] == FIRST_COLUMNS


def test_class_grades_match_the_golden_file(graded_class, course_root):
    assignment, _, out, _ = graded_class
    got = [row[:5] for row in read_rows(out / "grades.csv")]
    golden = course_root / "tests" / "golden" / f"{assignment}_class.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        with open(golden, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(got)
    assert got == read_rows(golden)


def test_reference_gets_full_marks_blank_zero_and_every_mistake_less(graded_class):
    assignment, _, out, _ = graded_class
    students = demo_class(assignment)
    rows = {row["student_id"]: row for row in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    by_hand = points_by_hand(assignment)
    automatic = float(rows["ghost-reference"]["max_score"]) - by_hand
    assert automatic > 0 and float(rows["ghost-reference"]["score"]) == automatic
    assert float(rows["ghost-blank"]["score"]) == 0
    for student, answers in students.items():
        if answers:
            assert rows[student]["status"] == "graded"
            assert 0 < float(rows[student]["score"]) < automatic, student
        waiting = f"{by_hand:g} points to grade by hand in the formgrader"
        assert (waiting in rows[student]["message"]) == bool(by_hand and answers is not None), student
    for student in ("ghost-truncated", "ghost-renamed", "ghost-no-folder"):
        assert rows[student]["status"] == "invalid" and float(rows[student]["score"]) == 0
    assert "my_solution.ipynb" in rows["ghost-renamed"]["message"]


def test_feedback_shows_messages_but_never_the_hidden_tests(graded_class):
    assignment, _, out, _ = graded_class
    students = demo_class(assignment)
    for student in list(students) + ["ghost-truncated"]:
        page = out / "feedback" / student / assignment / f"{assignment}.html"
        assert page.is_file(), page
        text = page.read_text(encoding="utf-8")
        # Markers and names that only hidden tests contain (the HTML splits code into tokens).
        for hidden in ("BEGIN HIDDEN TESTS", "hidden_checks", "Rubric", "Model answer"):
            assert hidden not in text, (student, hidden)
    student, message = course.load(assignment).shown_message
    mistaken = (out / "feedback" / student / assignment / f"{assignment}.html").read_text()
    assert message in mistaken


def test_written_answers_wait_in_the_gradebook_for_the_formgrader(graded_class, course_root):
    """Through nbgrader's gradebook API, as the formgrader reads it: each written answer of a
    student who wrote one needs a manual grade, and the graded notebook shows the answer; an
    assignment without written answers leaves nothing for the formgrader."""
    assignment, _, _, gradebook_file = graded_class
    answers = getattr(mistakes_of(assignment), "WRITTEN_ANSWERS", {})
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook_file}") as gradebook:
        written = gradebook.find_submission_notebook(assignment, assignment, "ghost-reference")
        blank = gradebook.find_submission_notebook(assignment, assignment, "ghost-blank")
        if not answers:  # everything is graded automatically: nothing waits for a person
            assert not written.needs_manual_grade and not blank.needs_manual_grade
            return
        assert written.needs_manual_grade and not blank.needs_manual_grade
        for grade_id in answers:
            grade = gradebook.find_grade(grade_id, assignment, assignment, "ghost-reference")
            assert grade.needs_manual_grade and grade.auto_score is None and grade.max_score > 0
            assert gradebook.find_grade(grade_id, assignment, assignment, "ghost-blank").score == 0
    graded = course_root / "autograded" / "ghost-reference" / assignment / f"{assignment}.ipynb"
    shown = {cell.metadata["nbgrader"]["grade_id"]: cell.source
             for cell in nbformat.read(str(graded), as_version=4).cells
             if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")}
    assert shown == answers


def test_the_references_graded_notebook_keeps_every_output_whole(graded_class, course_root):
    """The course's own figures and prints fit the grader's limit on a cell's output
    (SurvivingExecute.max_cell_output): none is cut from the reference's graded notebook."""
    assignment = graded_class[0]
    graded = course_root / "autograded" / "ghost-reference" / assignment / f"{assignment}.ipynb"
    cells = [c for c in nbformat.read(str(graded), as_version=4).cells if c.cell_type == "code"]
    cut = [index for index, cell in enumerate(cells)
           if any("[output cut:" in output.get("text", "") for output in cell.outputs)]
    assert cut == [], f"outputs cut in code cells {cut}"
    assert any("image/png" in output.get("data", {}) for cell in cells for output in cell.outputs)
