"""Grade one submission in isolation: its own folder, its own gradebook, its own nbgrader process.

A worker gets a :class:`Job` (plain data, so it can travel to a Dask cluster too), builds a
scratch course directory with the assignment's source files, the one submission (copied through
the gate) and a copy of a template gradebook that already knows the assignment, runs stock
``nbgrader autograde`` there under time and memory limits (``processes.py``), and returns an
:class:`Outcome`: the status, every graded cell's score and the graded notebooks' bytes. The main
process merges outcomes into the course gradebook one at a time (``autograder/gradebook/``), so
workers never share a database.
"""
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import scratch
from ..decisions.execute import KERNEL_DIED
from ..gate import files as gate
from ..profiling import stage
from ..sandbox.kernel_manager import STARTED_AFRESH
from .failures import GraderFailed, killed_by
from .nbgrader_cli import SCRATCH_GRADEBOOK, configure_course, nbgrader_env, put_scripts_on_path
from .processes import run_nbgrader_limited


@dataclass
class Job:
    """One submission to grade, and how (the coordinator fills it from the settings)."""
    assignment: str
    student_id: str
    submission: str          # folder SUBMISSIONS/<student_id>/<assignment>
    course_root: str         # the course directory (its nbgrader_config.py and source/)
    template_db: str         # a SQLite gradebook file that holds the assignment
    timeout: float           # seconds for the whole notebook (Grading.timeout)
    memory_mb: int           # address-space limit of the nbgrader process and its kernel (Sandbox.memory_mb)
    settings: tuple = ()     # --Class.trait=value settings for nbgrader on top of the course's configuration
    threads: int = 0         # threads of NumPy's BLAS and TensorFlow in the kernel; 0: their default
    kernel_zygote: str = ""  # the socket of the zygote kernels are forked from ("": none; sandbox/zygote.py)
    profile: str = ""        # the file each stage's times are appended to ("": none; Grading.profile)


# Files nbgrader keeps beside a graded submission, which release_feedback reads: when it was
# handed in, and the secret that names its feedback in the exchange.
RECORDS = ("timestamp.txt", "submission_secret.txt")
logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    student_id: str
    status: str                                   # graded, timeout, crashed, invalid (refused by the gate);
                                                  # error: the grader failed (the coordinator's, after retries)
    message: str = ""
    grades: list = field(default_factory=list)    # (notebook, cell, auto_score, max_score, needs_manual)
    comments: list = field(default_factory=list)  # (notebook, cell, auto_comment)
    notebooks: dict = field(default_factory=dict)  # file name -> bytes of the graded notebook
    feedback: dict = field(default_factory=dict)   # file name -> bytes of nbgrader's feedback HTML
    records: dict = field(default_factory=dict)    # nbgrader's records of the submission (RECORDS) -> bytes
    seconds: float = 0.0
    peak_memory_mb: float = 0.0


# Environment variables that set how many threads a kernel's numerical libraries start. Workers
# that grade side by side each get their share of the cores: left to their defaults, every kernel
# starts one thread per core and the workers slow each other down.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def thread_settings(threads):
    """The environment that limits a kernel's BLAS and TensorFlow to ``threads`` threads."""
    return {name: str(threads) for name in THREAD_VARIABLES} if threads else {}


# The gate has checked each submitted notebook against the notebook format (gate/submissions.py),
# so nbconvert checks a notebook once, after all the steps of an exporter, not after each step: 12
# checks of about 3 ms in an a02 autograde, 7 in its feedback page. A notebook that a step left
# invalid is still refused, at the end of the steps.
VALIDATED_ONCE = "--Exporter.optimistic_validation"


def nbgrader_settings(job):
    """The command-line settings of the nbgrader process that grades ``job``: the coordinator's
    (``job.settings``), then what only this job knows: the released files that enter the
    sandbox, the memory limit, the zygote's socket. Each notebook is checked against the
    notebook format once per exporter (``VALIDATED_ONCE``), unless the settings say otherwise."""
    own = {"--Sandbox.released": Path(job.course_root) / "release" / job.assignment,
           "--Sandbox.memory_mb": job.memory_mb, "--Sandbox.zygote_socket": job.kernel_zygote}
    if job.profile:
        own["--SurvivingExecute.profile"] = job.profile
    # A setting given once only: traitlets refuses one given twice on a command line.
    given = [setting for setting in job.settings if setting.partition("=")[0] not in own]
    if not any(setting.partition("=")[0] == VALIDATED_ONCE for setting in given):
        given.append(f"{VALIDATED_ONCE}=True")
    return [*given, *(f"{name}={value}" for name, value in own.items())]


def _scratch_course(job, folder):
    source = Path(job.course_root) / "source" / job.assignment
    shutil.copytree(source, folder / "source" / job.assignment,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    # --- the gate (gate/files.py): the student's folder is copied as bytes, regular files and
    # folders only, nothing followed, checked again as it is copied: a submission changed since
    # find_submissions looked at it is refused here (gate.SubmissionRefused), never followed ---
    submission = Path(job.submission)  # SUBMISSIONS/<student_id>/<assignment>
    if (submission.parent.name, submission.name) != (job.student_id, job.assignment):
        raise gate.SubmissionRefused(f"submission refused: {gate.shown(str(submission))} is not the folder "
                                     f"{job.student_id}/{job.assignment} (was it replaced by a link?)")
    gate.copy_submission(submission, folder / "submitted" / job.student_id / job.assignment,
                         within=submission.parent.parent, skip=gate.NOT_COPIED)
    # --- end of the gate ---
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


def _feedback(job, folder, env, notebooks):
    """nbgrader's feedback pages of the graded ``notebooks`` (file names) in ``folder`` ({page's
    file name: bytes}), made here so that workers write feedback in parallel; {} if nbgrader could
    not make them (the main process then tries again with the course gradebook). Only the pages
    of the notebooks: generate_feedback also copies every other file of the submission there,
    HTML files the student wrote included."""
    argv = ["generate_feedback", job.assignment, f"--student={job.student_id}", "--force", "--log-level=WARN",
            f"{VALIDATED_ONCE}=True"]
    returncode = run_nbgrader_limited(argv, folder, env, job.memory_mb, job.timeout).exitcode
    pages = folder / "feedback" / job.student_id / job.assignment
    wanted = {page_of(notebook) for notebook in notebooks}
    return {p.name: p.read_bytes() for p in pages.glob("*.html") if p.name in wanted} if returncode == 0 else {}


def page_of(notebook):
    """The file name of nbgrader's feedback page of ``notebook`` (a notebook's file name)."""
    return Path(notebook).stem + ".html"


def _kernel_death(notebook_bytes):
    return KERNEL_DIED.encode() in notebook_bytes and b"the kernel died while running" in notebook_bytes


def grade(job):
    """Grade one submission; never raises for anything the submission does.

    Raises :class:`GraderFailed` when the nbgrader process was killed by a signal it was not sent
    by this function (its time limit is a ``timeout``): the machine or an operator stopped the
    grader, and the submission is to be graded again."""
    started = time.monotonic()
    outcome = Outcome(job.student_id, "crashed")
    # (the folder's name holds the start of the id only: a whole id may be as long as a name can be)
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student_id[:40]}-", dir=scratch.run_folder()) as folder:
        folder = Path(folder)
        try:
            with stage(job.profile, "the gate's copy of the submission", job.student_id):
                _scratch_course(job, folder)
        except gate.SubmissionRefused as refusal:  # the gate, at copy time: the student's fault
            outcome.status, outcome.message = "invalid", str(refusal)
            outcome.seconds = time.monotonic() - started
            return outcome
        configure_course(folder, job.course_root)
        db_url = f"sqlite:///{folder / 'gradebook.db'}"
        # a gradebook of this scratch course only, read once nbgrader has ended (nbgrader_main)
        env = nbgrader_env({"NBGRADER_DB_URL": db_url, SCRATCH_GRADEBOOK: db_url, **thread_settings(job.threads)})
        argv = ["autograde", job.assignment, f"--student={job.student_id}", "--force", "--create",
                "--log-level=WARN", *nbgrader_settings(job)]
        with stage(job.profile, "nbgrader autograde", job.student_id):
            run = run_nbgrader_limited(argv, folder, env, job.memory_mb, job.timeout)
        returncode, log, outcome.peak_memory_mb = run.exitcode, run.log, run.peak_mb
        _report_kernels_started_afresh(job, log)
        if killed_by(returncode):
            raise GraderFailed(f"the nbgrader process grading {job.student_id} was killed by "
                               f"{killed_by(returncode)} (by the machine or an operator, not at its time limit)")
        if returncode is None:
            outcome.status = "timeout"
            outcome.message = f"grading took longer than {job.timeout:g} s and was stopped"
        graded = folder / "autograded" / job.student_id / job.assignment
        if outcome.status != "timeout":
            if returncode == 0 and graded.is_dir():
                outcome.status = "graded"
                outcome.grades, outcome.comments = _read_grades(job, db_url)
                outcome.notebooks = {p.name: p.read_bytes() for p in graded.glob("*.ipynb")}
                outcome.records = {name: (graded / name).read_bytes() for name in RECORDS
                                   if (graded / name).is_file() and not (graded / name).is_symlink()}
                if any(_kernel_death(b) for b in outcome.notebooks.values()):
                    outcome.message = "the kernel died during grading; tests after that point score 0"
                with stage(job.profile, "nbgrader generate_feedback", job.student_id):
                    outcome.feedback = _feedback(job, folder, env, outcome.notebooks)
            else:
                if run.failure:
                    raise GraderFailed(f"nbgrader autograde failed on the grader's side (exit {returncode}): "
                                       f"{run.failure}")
                lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
                lines = lines or [line for line in log.splitlines() if line.strip()]
                outcome.message = (f"nbgrader autograde failed (exit {returncode}): "
                                   + " | ".join(lines[-3:]))[:500]
    outcome.seconds = time.monotonic() - started
    return outcome


def _report_kernels_started_afresh(job, log):
    """Say so, in this process's log (a cluster worker's log, or the command's standard error),
    where a kernel of ``job`` started afresh although a zygote was given: grading is right but
    slower, and the reason (the zygote's refusal or failure) is only in nbgrader's log, which is
    not kept. That log also holds what the student's kernel wrote to its standard error, so a
    line may be the student's: it is said under the student's id, as the gate shows what a
    student wrote."""
    if not job.kernel_zygote:
        return
    for line in log.splitlines():
        if STARTED_AFRESH in line:
            reason = line.split(STARTED_AFRESH, 1)[1].lstrip(": ")[:300]
            logger.warning("%s: a kernel did not come from the zygote (%s)", job.student_id, gate.shown(reason))
            return
