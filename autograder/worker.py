"""Grade one submission in isolation: its own folder, its own gradebook, its own nbgrader process.

A worker gets a :class:`Job` (plain data, so it can travel to a process pool or a Dask cluster),
builds a scratch course directory with the assignment's source files, the one submission and a
copy of a template gradebook that already knows the assignment, runs stock
``nbgrader autograde`` there under time and memory limits, and returns an :class:`Outcome`: the
status, every graded cell's score and the graded notebooks' bytes. The main process merges
outcomes into the course gradebook one at a time (``autograder/merge.py``), so workers never
share a database.
"""
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .execute import KERNEL_DIED
from .nbgrader_cli import NBGRADER, nbgrader_env, put_scripts_on_path


@dataclass
class Job:
    assignment: str
    student_id: str
    submission: str          # folder SUBMISSIONS/<student_id>/<assignment>
    course_root: str         # the course directory (its nbgrader_config.py and source/)
    template_db: str         # a SQLite gradebook file that holds the assignment
    timeout: float = 600     # seconds for the whole notebook
    cell_timeout: int = 60   # seconds per cell (nbgrader's Execute.timeout)
    memory_mb: int = 4096    # address-space limit of the nbgrader process and its kernel; 0: none


@dataclass
class Outcome:
    student_id: str
    status: str                                   # graded, timeout or crashed
    message: str = ""
    grades: list = field(default_factory=list)    # (notebook, cell, auto_score, max_score, needs_manual)
    comments: list = field(default_factory=list)  # (notebook, cell, auto_comment)
    notebooks: dict = field(default_factory=dict)  # file name -> bytes of the graded notebook
    seconds: float = 0.0
    peak_memory_mb: float = 0.0


def _limits(memory_mb):
    def apply():
        os.setsid()  # a process group of its own, so a timeout can stop the kernel too
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def _scratch_course(job, folder):
    source = Path(job.course_root) / "source" / job.assignment
    shutil.copytree(source, folder / "source" / job.assignment,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copytree(job.submission, folder / "submitted" / job.student_id / job.assignment,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"), symlinks=True)
    shutil.copy(job.template_db, folder / "gradebook.db")


def _read_grades(job, db_url):
    from nbgrader.api import Gradebook

    put_scripts_on_path()
    grades, comments = [], []
    with Gradebook(db_url) as gradebook:
        submission = gradebook.find_submission(job.assignment, job.student_id)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grades.append((notebook.name, grade.name, grade.auto_score, grade.max_score,
                               bool(grade.needs_manual_grade)))
            for comment in notebook.comments:
                comments.append((notebook.name, comment.name, comment.auto_comment))
    return grades, comments


def _kernel_death(notebook_bytes):
    return KERNEL_DIED.encode() in notebook_bytes and b"the kernel died while running" in notebook_bytes


def grade(job):
    """Grade one submission; never raises for anything the submission does."""
    started = time.monotonic()
    outcome = Outcome(job.student_id, "crashed")
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student_id}-") as scratch:
        scratch = Path(scratch)
        _scratch_course(job, scratch)
        (scratch / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(Path(job.course_root) / 'nbgrader_config.py')!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(scratch)!r}\n", encoding="utf-8")
        db_url = f"sqlite:///{scratch / 'gradebook.db'}"
        env = nbgrader_env({"NBGRADER_DB_URL": db_url})
        command = [*NBGRADER, "autograde", job.assignment,
                   f"--student={job.student_id}", "--force", "--create", "--log-level=WARN",
                   f"--Execute.timeout={job.cell_timeout}"]
        process = subprocess.Popen(command, cwd=scratch, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, preexec_fn=_limits(job.memory_mb))
        try:
            log, _ = process.communicate(timeout=job.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            outcome.status = "timeout"
            outcome.message = f"grading took longer than {job.timeout:g} s and was stopped"
            log = ""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        outcome.peak_memory_mb = usage.ru_maxrss / 1024
        graded = scratch / "autograded" / job.student_id / job.assignment
        if outcome.status != "timeout":
            if process.returncode == 0 and graded.is_dir():
                outcome.status = "graded"
                outcome.grades, outcome.comments = _read_grades(job, db_url)
                outcome.notebooks = {p.name: p.read_bytes() for p in graded.glob("*.ipynb")}
                if any(_kernel_death(b) for b in outcome.notebooks.values()):
                    outcome.message = "the kernel died during grading; tests after that point score 0"
            else:
                lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
                lines = lines or [line for line in log.splitlines() if line.strip()]
                outcome.message = (f"nbgrader autograde failed (exit {process.returncode}): "
                                   + " | ".join(lines[-3:]))[:500]
    outcome.seconds = time.monotonic() - started
    return outcome
