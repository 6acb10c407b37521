"""Record a worker's outcome in the course: its graded notebooks, its scores in the gradebook and
its feedback pages, where ``nbgrader generate_feedback`` would put them.

Only the main process calls this, one outcome at a time, so the course gradebook (SQLite or any
SQLAlchemy database) has a single writer. Re-grading a student replaces that student's
submission and leaves every other student's untouched. As nbgrader's own ``autograde`` does, a
submission graded again keeps what the instructor gave by hand (scores, extra credit, comments,
flags; a grade given by hand is marked for review again), and takes the time the student handed
it in (``timestamp.txt``), from which a late submission's penalty is worked out against the
assignment's due date, with the course's ``LateSubmissionPlugin``.

A class run keeps one gradebook open for all its merges (``gradebook``): opening nbgrader's
gradebook makes a new database engine, checks every table, and compiles every query afresh:
measured, half of a merge's time on SQLite and two thirds on PostgreSQL
(``benchmarks/coordinator_throughput.py``).
"""
import functools
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
        by_hand = HandGrading.of(book, assignment, outcome.student_id)
        try:
            book.remove_submission(assignment, outcome.student_id)
        except MissingEntry:
            pass
        if outcome.status == "graded":
            with warnings.catch_warnings():
                # nbgrader's add_submission makes SQLAlchemy warn about its own autoflush; harmless
                warnings.filterwarnings("ignore", message=".*not in session.*")
                timestamp = handed_in_at(outcome.records.get("timestamp.txt"))
                submission = book.add_submission(assignment, outcome.student_id,
                                                 **({"timestamp": timestamp} if timestamp else {}))
                # the grades and comments add_submission made, read in one query per notebook each
                # (looked up one by one, they took a query each: most of a merge)
                grades = {(n.name, g.name): g for n in submission.notebooks for g in n.grades}
                comments = {(n.name, c.name): c for n in submission.notebooks for c in n.comments}
                for notebook, cell, score, _max_score, needs_manual in outcome.grades:
                    grade = grades.get((notebook, cell)) or book.find_grade(cell, notebook, assignment,
                                                                            outcome.student_id)
                    grade.auto_score = score
                    grade.manual_score, grade.extra_credit = by_hand.grades.get((notebook, cell), (None, None))
                    # nbgrader's rule (SaveAutoGrades): a grade given by hand is looked at again
                    grade.needs_manual_grade = needs_manual or grade.manual_score is not None
                for notebook, cell, text in outcome.comments:
                    comment = comments.get((notebook, cell)) or book.find_comment(cell, notebook, assignment,
                                                                                  outcome.student_id)
                    comment.auto_comment = text
                    comment.manual_comment = by_hand.comments.get((notebook, cell))
                for notebook in submission.notebooks:
                    notebook.flagged = by_hand.flagged.get(notebook.name, False)
                book.db.flush()
                book.db.expire_all()  # the scores nbgrader computes in SQL, read afresh
                assign_late_penalties(submission, late_plugin(str(course_root)))
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


class HandGrading:
    """What the instructor gave a submission by hand in the formgrader, kept across a regrade:
    ``grades`` {(notebook, cell): (manual score, extra credit)}, ``comments`` {(notebook, cell):
    manual comment}, ``flagged`` {notebook: flag}."""

    def __init__(self, grades=None, comments=None, flagged=None):
        self.grades, self.comments, self.flagged = grades or {}, comments or {}, flagged or {}

    @classmethod
    def of(cls, book, assignment, student_id):
        from nbgrader.api import MissingEntry

        try:
            submission = book.find_submission(assignment, student_id)
        except MissingEntry:
            return cls()
        kept = cls()
        for notebook in submission.notebooks:
            kept.flagged[notebook.name] = bool(notebook.flagged)
            for grade in notebook.grades:
                if grade.manual_score is not None or grade.extra_credit is not None:
                    kept.grades[notebook.name, grade.name] = (grade.manual_score, grade.extra_credit)
            for comment in notebook.comments:
                if comment.manual_comment is not None:
                    kept.comments[notebook.name, comment.name] = comment.manual_comment
        return kept


def handed_in_at(record):
    """The time a submission was handed in, from the bytes of its ``timestamp.txt`` (read as
    nbgrader reads it), or None."""
    from nbgrader.utils import parse_utc

    if not record:
        return None
    try:
        return parse_utc(record.decode("utf-8").strip())
    except (UnicodeDecodeError, ValueError, OverflowError, TypeError):
        return None


@functools.lru_cache(maxsize=None)
def late_plugin(course_root):
    """The course's late submission plugin (``AssignLatePenalties.plugin_class``, nbgrader's
    ``LateSubmissionPlugin`` unless the course names another), with its ``nbgrader_config.py``."""
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config

    from ..settings import course_config

    has_config = (Path(course_root) / "nbgrader_config.py").is_file()
    assigner = AssignLatePenalties(config=course_config(Path(course_root)) if has_config else Config())
    assigner.init_plugin()
    return assigner.plugin_inst


def assign_late_penalties(submission, plugin):
    """Each notebook's late penalty, as nbgrader's ``AssignLatePenalties`` sets it: none unless the
    submission came after the due date (the student's extension included), then the plugin's,
    between 0 and the notebook's score."""
    late = submission.total_seconds_late
    for notebook in submission.notebooks:
        notebook.late_submission_penalty = None
        if late > 0:
            penalty = plugin.late_submission_penalty(submission.student.id, notebook.score, late)
            if penalty is not None:
                notebook.late_submission_penalty = min(max(penalty, 0), notebook.score)
