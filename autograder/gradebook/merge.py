"""Record a worker's outcome in the course: its graded notebooks, its scores in the gradebook and
its feedback pages, where ``nbgrader generate_feedback`` would put them.

Only the main process calls this, one outcome at a time, so the course gradebook (SQLite or any
SQLAlchemy database) has a single writer. Re-grading a student replaces that student's
submission and leaves every other student's untouched.
"""
import shutil
import warnings
from pathlib import Path


def record_outcome(db_url, course_root, assignment, outcome):
    """Write ``outcome`` (a worker.Outcome) into the gradebook and ``autograded/``."""
    from nbgrader.api import Gradebook, MissingEntry

    graded_folder = Path(course_root) / "autograded" / outcome.student_id / assignment
    feedback_folder = Path(course_root) / "feedback" / outcome.student_id / assignment
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_student(outcome.student_id)
        try:
            gradebook.remove_submission(assignment, outcome.student_id)
        except MissingEntry:
            pass
    if outcome.status == "graded":
        with Gradebook(db_url) as gradebook, warnings.catch_warnings():
            # nbgrader's add_submission makes SQLAlchemy warn about its own autoflush; harmless
            warnings.filterwarnings("ignore", message=".*not in session.*")
            gradebook.add_submission(assignment, outcome.student_id)
            for notebook, cell, score, _max_score, needs_manual in outcome.grades:
                grade = gradebook.find_grade(cell, notebook, assignment, outcome.student_id)
                grade.auto_score = score
                grade.needs_manual_grade = needs_manual
            for notebook, cell, text in outcome.comments:
                comment = gradebook.find_comment(cell, notebook, assignment, outcome.student_id)
                comment.auto_comment = text
            gradebook.db.commit()
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
