"""The gradebooks of a class: the course's, which the formgrader and ``nbgrader export`` read, and
the template each worker's scratch gradebook starts from."""
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from .. import scratch
from ..course import COURSE_ROOT
from ..worker.nbgrader_cli import SCRATCH_GRADEBOOK, nbgrader_env
from ..worker.processes import run_nbgrader_limited
from . import template_cache
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


def ensure_assignment_in_gradebook(assignment, db_url, template=None):
    """nbgrader autograde needs the assignment's cells in the gradebook; record them if missing.
    A SQLite gradebook whose file does not exist yet, given ``template`` (a callable that returns
    the path of a template gradebook of the assignment, :func:`template_gradebook`), starts as a
    copy of it: what nbgrader's generate_assignment would write there, without running it."""
    from nbgrader.api import Gradebook, MissingEntry

    if template is not None and _new_from_template(db_url, template):
        return
    with Gradebook(db_url) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    record_assignment(assignment, db_url)


def _new_from_template(db_url, template):
    """Whether the SQLite gradebook at ``db_url``, whose file did not exist, was made now as a copy
    of ``template()``. Made under a temporary name, then linked to its own: a gradebook another
    process made meanwhile is left as it is (False)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query:
        return False
    path = Path(url.database)
    if path.exists() or not path.parent.is_dir():
        return False
    source = template()
    name = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    # made with the mode SQLite gives a new database (0666 less the umask), as nbgrader's would be
    descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb") as copy, open(source, "rb") as original:
            shutil.copyfileobj(original, copy)
        os.link(name, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(name)
    return True


def template_gradebook(assignment, folder):
    """A SQLite gradebook file in ``folder`` that knows ``assignment``; each worker starts from a
    copy. A copy of the one kept for the course's current version (``template_cache.py``), or
    made now, and kept."""
    path = Path(folder) / "template-gradebook.db"
    cached = template_cache.kept(assignment)
    if cached is not None:
        try:
            shutil.copyfile(cached, path)
            return path
        except OSError:  # removed meanwhile (a class of another version kept its own): made here
            pass
    record_assignment(assignment, f"sqlite:///{path}", scratch_gradebook=True)
    template_cache.keep(assignment, path)
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
