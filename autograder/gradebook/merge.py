"""Record a worker's outcome in the course: its graded notebooks, its scores in the gradebook and
its feedback pages, where ``nbgrader generate_feedback`` would put them.

Only the main process calls this, one outcome at a time, so the course gradebook (SQLite or any
SQLAlchemy database) has a single writer. Re-grading a student replaces that student's
submission and leaves every other student's untouched.

A class run keeps one gradebook open for all its merges (``gradebook``): opening nbgrader's
gradebook makes a new database engine, checks every table, and compiles every query afresh:
measured, half of a merge's time on SQLite and two thirds on PostgreSQL
(``benchmarks/coordinator_throughput.py``).
"""
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def opened(db_url, gradebook=None):
    """``gradebook`` if given (its transaction ended on the way out, so that no read keeps a
    database lock between merges), else nbgrader's gradebook at ``db_url``, opened and closed."""
    from nbgrader.api import Gradebook

    if gradebook is None:
        with Gradebook(db_url) as fresh:
            yield fresh
        return
    try:
        yield gradebook
    except BaseException:
        gradebook.db.rollback()
        raise
    gradebook.db.commit()


def record_outcome(db_url, course_root, assignment, outcome, gradebook=None):
    """Write ``outcome`` (a worker.Outcome) into the gradebook (``gradebook``, open, or the one at
    ``db_url``) and ``autograded/``."""
    from nbgrader.api import MissingEntry

    graded_folder = Path(course_root) / "autograded" / outcome.student_id / assignment
    feedback_folder = Path(course_root) / "feedback" / outcome.student_id / assignment
    with opened(db_url, gradebook) as book:
        book.update_or_create_student(outcome.student_id)
        try:
            book.remove_submission(assignment, outcome.student_id)
        except MissingEntry:
            pass
        if outcome.status == "graded":
            with warnings.catch_warnings():
                # nbgrader's add_submission makes SQLAlchemy warn about its own autoflush; harmless
                warnings.filterwarnings("ignore", message=".*not in session.*")
                book.add_submission(assignment, outcome.student_id)
                for notebook, cell, score, _max_score, needs_manual in outcome.grades:
                    grade = book.find_grade(cell, notebook, assignment, outcome.student_id)
                    grade.auto_score = score
                    grade.needs_manual_grade = needs_manual
                for notebook, cell, text in outcome.comments:
                    comment = book.find_comment(cell, notebook, assignment, outcome.student_id)
                    comment.auto_comment = text
                book.db.commit()
    if graded_folder.exists():
        shutil.rmtree(graded_folder)
    if outcome.status == "graded":
        graded_folder.mkdir(parents=True)
        for name, content in {**outcome.notebooks, **outcome.records}.items():
            (graded_folder / name).write_bytes(content)
    if feedback_folder.exists():
        shutil.rmtree(feedback_folder)
    if outcome.status == "graded" and outcome.feedback:
        feedback_folder.mkdir(parents=True)
        for name, content in {**outcome.feedback, **outcome.records}.items():
            (feedback_folder / name).write_bytes(content)
