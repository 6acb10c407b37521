"""The gradebooks of a class: the course's, which the formgrader and ``nbgrader export`` read, and
the template each worker's scratch gradebook starts from."""
import tempfile
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from .. import scratch
from ..course import COURSE_ROOT
from ..worker.nbgrader_cli import SCRATCH_GRADEBOOK, nbgrader_env
from ..worker.processes import run_nbgrader_limited
from .merge import opened


def course_db_url(root=COURSE_ROOT):
    """The gradebook URL that nbgrader_config.py gives nbgrader (NBGRADER_DB_URL or the default)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return config.CourseDirectory.db_url


def record_assignment(assignment, db_url, scratch_gradebook=False):
    """Record ``assignment``'s cells in the gradebook at ``db_url`` with nbgrader's
    ``generate_assignment``, which writes into a scratch release folder here so that the
    committed ``release/`` is left alone. ``scratch_gradebook``: the gradebook is one of the
    grader's scratch, written without waiting for the disk (worker/nbgrader_main.py)."""
    env = nbgrader_env({SCRATCH_GRADEBOOK: db_url} if scratch_gradebook else None)
    with tempfile.TemporaryDirectory(prefix="release-", dir=scratch.run_folder()) as release_folder:
        finished = run_nbgrader_limited(
            ["generate_assignment", assignment, "--force", "--log-level=WARN",
             f"--CourseDirectory.release_directory={release_folder}", f"--CourseDirectory.db_url={db_url}"],
            COURSE_ROOT, env, memory_mb=0, timeout=600)
    if finished.exitcode != 0:
        raise RuntimeError(f"could not record {assignment} in the gradebook:\n{finished.log}")


def ensure_assignment_in_gradebook(assignment, db_url):
    """nbgrader autograde needs the assignment's cells in the gradebook; record them if missing."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    record_assignment(assignment, db_url)


def template_gradebook(assignment, folder):
    """A SQLite gradebook file that knows ``assignment``; each worker starts from a copy."""
    path = Path(folder) / "template-gradebook.db"
    record_assignment(assignment, f"sqlite:///{path}", scratch_gradebook=True)
    return path


def read_score(assignment, student_id, db_url, gradebook=None):
    """(score, max_score, points to grade by hand) of a student's submission in the gradebook
    (``gradebook``, open, or the one at ``db_url``); (0, max, 0) if none. The score is less any
    late penalty, as ``nbgrader export`` gives it. Written answers wait for the formgrader; blank
    ones score 0 at once."""
    from nbgrader.api import MissingEntry

    with opened(db_url, gradebook) as gradebook:
        max_score = gradebook.find_assignment(assignment).max_score
        try:
            submission = gradebook.find_submission(assignment, student_id)
        except MissingEntry:
            gradebook.update_or_create_student(student_id)
            return 0.0, max_score, 0.0
        by_hand = sum(grade.max_score for notebook in submission.notebooks for grade in notebook.grades
                      if grade.needs_manual_grade)
        # the score nbgrader's export gives: the points less a late submission's penalty
        return float(submission.score - submission.late_submission_penalty), float(max_score), float(by_hand)


def students_with_submission(assignment, db_url, gradebook=None):
    """The ids of the students whose submission of ``assignment`` the gradebook (``gradebook``,
    open, or the one at ``db_url``) holds."""
    from nbgrader.api import MissingEntry

    with opened(db_url, gradebook) as gradebook:
        try:
            return {submission.student_id for submission in gradebook.find_assignment(assignment).submissions}
        except MissingEntry:
            return set()
