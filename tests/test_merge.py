"""Does merging a worker's outcome into the course gradebook keep what nbgrader's own autograde
keeps: the instructor's hand grading across a regrade, and the time a submission was handed in,
with its late penalty?"""
import datetime

import pytest

from autograder.gradebook import merge
from autograder.gradebook.records import read_score, record_assignment
from autograder.worker.job import Outcome
from autograder.worker.nbgrader_cli import put_scripts_on_path

ASSIGNMENT = "a04_knn_mlp_transfer"  # automatic tests and written answers graded by hand
STUDENT, LATE = "merged-student", "late-student"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    put_scripts_on_path()
    url = f"sqlite:///{tmp_path_factory.mktemp('merge') / 'gradebook.db'}"
    record_assignment(ASSIGNMENT, url)
    return url


def outcome(db_url, timestamp="2026-12-01 10:00:00 UTC", student=STUDENT):
    """Every automatic test passed, every written answer waiting for the formgrader."""
    from nbgrader.api import Gradebook

    grades, comments = [], []
    with Gradebook(db_url) as book:
        for notebook in book.find_assignment(ASSIGNMENT).notebooks:
            for cell in notebook.grade_cells:
                written = cell.cell_type == "markdown"
                grades.append((notebook.name, cell.name, None if written else cell.max_score, cell.max_score, written))
            for cell in notebook.solution_cells:
                comments.append((notebook.name, cell.name, None))
    return Outcome(student, "graded", grades=grades, comments=comments,
                   records={"timestamp.txt": timestamp.encode()} if timestamp else {})


def test_a_regrade_keeps_the_instructors_hand_grading(db_url, tmp_path):
    """Every regrade (--force, --student, a submission or a course changed) replaced the submission
    and lost the scores, comments and extra credit given in the formgrader."""
    from nbgrader.api import Gradebook

    merge.record_outcome(db_url, tmp_path, ASSIGNMENT, outcome(db_url))
    assert read_score(ASSIGNMENT, STUDENT, db_url) == (17.0, 25.0, 8.0)
    with Gradebook(db_url) as book:
        submission = book.find_submission(ASSIGNMENT, STUDENT)
        notebook = submission.notebooks[0]
        written = next(g for g in notebook.grades if g.auto_score is None)
        written.manual_score, written.needs_manual_grade = 2.0, False
        automatic = next(g for g in notebook.grades if g.auto_score is not None)
        automatic.extra_credit = 1.0
        comment = next(c for c in notebook.comments if c.name == written.name)
        comment.manual_comment = "a good answer"
        notebook.flagged = True
        book.db.commit()
        names = (notebook.name, written.name, automatic.name)
    assert read_score(ASSIGNMENT, STUDENT, db_url)[0] == 20.0

    merge.record_outcome(db_url, tmp_path, ASSIGNMENT, outcome(db_url))  # graded again
    with Gradebook(db_url) as book:
        notebook = book.find_submission_notebook(names[0], ASSIGNMENT, STUDENT)
        written = book.find_grade(names[1], names[0], ASSIGNMENT, STUDENT)
        automatic = book.find_grade(names[2], names[0], ASSIGNMENT, STUDENT)
        assert (written.manual_score, written.needs_manual_grade) == (2.0, True)  # kept, to be looked at again
        assert (automatic.extra_credit, automatic.manual_score) == (1.0, None)
        assert book.find_comment(names[1], names[0], ASSIGNMENT, STUDENT).manual_comment == "a good answer"
        assert notebook.flagged
    assert read_score(ASSIGNMENT, STUDENT, db_url)[0] == 20.0


def test_a_late_submission_keeps_its_time_and_gets_the_courses_penalty(db_url, tmp_path, monkeypatch):
    """The submission's time was not merged: nbgrader export showed none, and no late penalty
    was ever given, whatever the due date and the course's late policy."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import LateSubmissionPlugin

    with Gradebook(db_url) as book:
        book.update_or_create_assignment(ASSIGNMENT, duedate=datetime.datetime(2026, 12, 1, 9, 0))
    monkeypatch.setattr(merge, "late_plugin", lambda root: LateSubmissionPlugin(penalty_method="zero"))
    merge.record_outcome(db_url, tmp_path, ASSIGNMENT, outcome(db_url, "2026-12-01 08:59:00 UTC", LATE))
    assert read_score(ASSIGNMENT, LATE, db_url)[0] == 17.0  # on time
    merge.record_outcome(db_url, tmp_path, ASSIGNMENT, outcome(db_url, "2026-12-01 10:00:00 UTC", LATE))
    with Gradebook(db_url) as book:
        submission = book.find_submission(ASSIGNMENT, LATE)
        assert submission.timestamp == datetime.datetime(2026, 12, 1, 10, 0)
        assert submission.total_seconds_late == 3600
        assert submission.late_submission_penalty == submission.score > 0
    assert read_score(ASSIGNMENT, LATE, db_url)[0] == 0.0  # "zero": a late submission scores 0
    monkeypatch.setattr(merge, "late_plugin", lambda root: LateSubmissionPlugin())  # nbgrader's default: none
    merge.record_outcome(db_url, tmp_path, ASSIGNMENT, outcome(db_url, "2026-12-01 10:00:00 UTC", LATE))
    assert read_score(ASSIGNMENT, LATE, db_url)[0] > 0
    assert merge.handed_in_at(b"not a time") is None and merge.handed_in_at(None) is None
