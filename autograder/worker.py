"""Grade one submission in isolation: its own folder, its own gradebook, its own nbgrader process.

A worker gets a :class:`Job` (plain data, so it can travel to a Dask cluster too),
builds a scratch course directory with the assignment's source files, the one submission and a
copy of a template gradebook that already knows the assignment, runs stock
``nbgrader autograde`` there under time and memory limits, and returns an :class:`Outcome`: the
status, every graded cell's score and the graded notebooks' bytes. The main process merges
outcomes into the course gradebook one at a time (``autograder/merge.py``), so workers never
share a database.

Starting a Python process and importing nbgrader takes seconds, as long as a short notebook
takes to run. So each nbgrader process is forked from a server process that has imported nbgrader
once (``multiprocessing``'s forkserver): still a fresh process per submission, with its own
limits, its own session and its own working directory, without the start-up. Where a process
may not have children of its own (a daemonic Dask worker) nbgrader is started as a command.
"""
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from . import gate, scratch
from .execute import KERNEL_DIED
from .nbgrader_cli import NBGRADER, nbgrader_env, put_scripts_on_path
from .zygote import SOCKET_VARIABLE


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
    threads: int = 0         # threads of NumPy's BLAS and TensorFlow in the kernel; 0: their default
    max_cell_output: int = 1_000_000  # characters of output kept per cell; 0: no limit
    kernel_zygote: str = ""  # the socket of the zygote kernels are forked from ("": none; autograder/zygote.py)


@dataclass
class Outcome:
    student_id: str
    status: str                                   # graded, timeout, crashed or invalid (refused by the gate)
    message: str = ""
    grades: list = field(default_factory=list)    # (notebook, cell, auto_score, max_score, needs_manual)
    comments: list = field(default_factory=list)  # (notebook, cell, auto_comment)
    notebooks: dict = field(default_factory=dict)  # file name -> bytes of the graded notebook
    feedback: dict = field(default_factory=dict)   # file name -> bytes of nbgrader's feedback HTML
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


def sandbox_settings(job):
    """The environment that puts the student's kernel in the sandbox and decides tests outside it
    (``autograder/sandbox.py``, ``autograder/trusted.py``); the grader's own environment may
    override ``COURSE_SANDBOX`` and ``COURSE_TRUSTED_TESTS``."""
    limits = {"memory_mb": job.memory_mb}
    return {"COURSE_SANDBOX": os.environ.get("COURSE_SANDBOX", "bwrap"),
            "COURSE_TRUSTED_TESTS": os.environ.get("COURSE_TRUSTED_TESTS", "1"),
            "COURSE_SANDBOX_RELEASED": str(Path(job.course_root) / "release" / job.assignment),
            "COURSE_SANDBOX_LIMITS": json.dumps(limits),
            **({SOCKET_VARIABLE: job.kernel_zygote} if job.kernel_zygote else {})}


def _apply_limits(memory_mb):
    os.setsid()  # a process group of its own, so a timeout can stop the kernel too
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _limits(memory_mb):
    return lambda: _apply_limits(memory_mb)


# Imported once by the fork server, so that each nbgrader process forked from it starts at once
# (autograder.warm also does, once, what each process would repeat on its first notebook).
PRELOAD = ("nbgrader.api", "nbgrader.apps.nbgraderapp", "nbgrader.apps.autogradeapp",
           "nbgrader.apps.generatefeedbackapp", "nbgrader.preprocessors", "nbconvert", "jupyter_client",
           "autograder.execute", "autograder.warm")
KERAS_PRELOAD = ("autograder.warm_keras",)  # for assignments whose tests receive Keras models
_server_preload = None  # what the running fork server imported
# Held while a forked process starts and while its exit status is read. Process.start() polls
# every other child of this process, from the starting thread; when that poll and the child's own
# thread read one status pipe at once, one of them finds it empty and takes the exit status for
# 255 (measured: a quarter of short processes, six threads starting them at once).
_PROCESSES = threading.Lock()


def _forked_nbgrader(argv, folder, env, memory_mb, log_path, peak_path):
    """The body of a process forked from the server: limits, then stock nbgrader with ``argv``.

    Its output goes to ``log_path``, its peak memory (KiB) to ``peak_path``; it ends with
    nbgrader's exit status.
    """
    _apply_limits(memory_mb)
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.path[:0] = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
    from .nbgrader_main import main  # imported here, after the environment it reads is in place

    sys.argv = ["nbgrader", *argv]
    try:
        main()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        from .zygote import kernels_peak_kib  # kernels forked by the zygote are not this process's children

        peak = max([resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
                   + [kernels_peak_kib()])
        Path(peak_path).write_text(str(peak), encoding="utf-8")


def _fork_server():
    """The forkserver context of this process, or None where this process may not have children."""
    global _server_preload
    if multiprocessing.current_process().daemon or "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    if forkserver._forkserver._forkserver_pid is None:  # not started yet: it starts with these
        _server_preload = _server_preload or list(PRELOAD)
        context.set_forkserver_preload(_server_preload)
    return context


def start_fork_server(keras=False):
    """Start this process's fork server now, so that it imports nbgrader (and Keras, with
    ``keras``) while other work goes on. A server already running without Keras is replaced
    when Keras is wanted; one with Keras serves everyone."""
    global _server_preload
    context = _fork_server()
    if context is None:
        return
    from multiprocessing import forkserver

    wanted = list(PRELOAD) + (list(KERAS_PRELOAD) if keras else [])
    running = forkserver._forkserver._forkserver_pid is not None
    if running and set(wanted) <= set(_server_preload or ()):
        return
    if running and hasattr(forkserver._forkserver, "_stop"):
        forkserver._forkserver._stop()  # its running children live on; new ones come from the new server
    elif running:
        return
    context.set_forkserver_preload(wanted)
    forkserver.ensure_running()
    _server_preload = wanted


def run_nbgrader_limited(argv, folder, env, memory_mb, timeout):
    """Run ``nbgrader ARGV`` in ``folder`` with ``env`` under the limits; returns (exit status, or
    None when stopped at ``timeout`` seconds; its output; its peak memory in MiB, or 0 unknown)."""
    context = _fork_server()
    if context is None:
        process = subprocess.Popen([*NBGRADER, *argv], cwd=folder, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, preexec_fn=_limits(memory_mb))
        try:
            log, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return None, "", 0.0
        return process.returncode, log, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="nbgrader-run-", dir=scratch.run_folder()) as notes:
        log_path, peak_path = Path(notes) / "log", Path(notes) / "peak-kib"
        exitcode = run_forked(context, _forked_nbgrader,
                              (argv, str(folder), env, memory_mb, str(log_path), str(peak_path)), timeout)
        if exitcode is None:
            return None, "", 0.0
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else ""
        peak = int(peak_path.read_text(encoding="utf-8")) / 1024 if peak_path.is_file() else 0.0
        return exitcode, log, peak


def run_forked(context, target, args, timeout):
    """Run ``target(*args)`` in a process of ``context``; its exit status, or None when it was
    stopped at ``timeout`` seconds (it must start a process group of its own, which is killed).
    Safe to call from several threads at once."""
    process = context.Process(target=target, args=args)
    with _PROCESSES:
        process.start()
    ended = wait([process.sentinel], timeout)
    if not ended:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        wait([process.sentinel])
    with _PROCESSES:
        process.join()  # its exit status is there to read: this returns at once
    return process.exitcode if ended else None


def _scratch_course(job, folder):
    source = Path(job.course_root) / "source" / job.assignment
    shutil.copytree(source, folder / "source" / job.assignment,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    # --- the gate (autograder/gate.py): the student's folder is copied as bytes, regular files and
    # folders only, nothing followed, checked again as it is copied: a submission changed since
    # find_submissions looked at it is refused here (gate.SubmissionRefused), never followed ---
    submission = Path(job.submission)  # SUBMISSIONS/<student_id>/<assignment>
    if (submission.parent.name, submission.name) != (job.student_id, job.assignment):
        raise gate.SubmissionRefused(f"submission refused: {gate.shown(str(submission))} is not the folder "
                                     f"{job.student_id}/{job.assignment} (was it replaced by a link?)")
    gate.copy_submission(submission, folder / "submitted" / job.student_id / job.assignment,
                         within=submission.parent.parent, skip=("__pycache__", ".ipynb_checkpoints"))
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


def _feedback(job, folder, env):
    """nbgrader's feedback pages for the graded submission in ``folder`` ({file name: bytes}), made
    here so that workers write feedback in parallel; {} if nbgrader could not make them (the main
    process then tries again with the course gradebook)."""
    argv = ["generate_feedback", job.assignment, f"--student={job.student_id}", "--force", "--log-level=WARN"]
    returncode, _, _ = run_nbgrader_limited(argv, folder, env, job.memory_mb, job.timeout)
    pages = folder / "feedback" / job.student_id / job.assignment
    return {p.name: p.read_bytes() for p in pages.glob("*.html")} if returncode == 0 else {}


def _kernel_death(notebook_bytes):
    return KERNEL_DIED.encode() in notebook_bytes and b"the kernel died while running" in notebook_bytes


def grade(job):
    """Grade one submission; never raises for anything the submission does."""
    started = time.monotonic()
    outcome = Outcome(job.student_id, "crashed")
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student_id}-", dir=scratch.run_folder()) as folder:
        folder = Path(folder)
        try:
            _scratch_course(job, folder)
        except gate.SubmissionRefused as refusal:  # the gate, at copy time: the student's fault
            outcome.status, outcome.message = "invalid", str(refusal)
            outcome.seconds = time.monotonic() - started
            return outcome
        (folder / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(Path(job.course_root) / 'nbgrader_config.py')!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(folder)!r}\n", encoding="utf-8")
        db_url = f"sqlite:///{folder / 'gradebook.db'}"
        env = nbgrader_env({"NBGRADER_DB_URL": db_url, **thread_settings(job.threads),
                            **sandbox_settings(job)})
        argv = ["autograde", job.assignment, f"--student={job.student_id}", "--force", "--create",
                "--log-level=WARN", f"--Execute.timeout={job.cell_timeout}",
                f"--SurvivingExecute.max_cell_output={job.max_cell_output}"]
        returncode, log, outcome.peak_memory_mb = run_nbgrader_limited(argv, folder, env, job.memory_mb,
                                                                      job.timeout)
        if returncode is None:
            outcome.status = "timeout"
            outcome.message = f"grading took longer than {job.timeout:g} s and was stopped"
        graded = folder / "autograded" / job.student_id / job.assignment
        if outcome.status != "timeout":
            if returncode == 0 and graded.is_dir():
                outcome.status = "graded"
                outcome.grades, outcome.comments = _read_grades(job, db_url)
                outcome.notebooks = {p.name: p.read_bytes() for p in graded.glob("*.ipynb")}
                if any(_kernel_death(b) for b in outcome.notebooks.values()):
                    outcome.message = "the kernel died during grading; tests after that point score 0"
                outcome.feedback = _feedback(job, folder, env)
            else:
                lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
                lines = lines or [line for line in log.splitlines() if line.strip()]
                outcome.message = (f"nbgrader autograde failed (exit {returncode}): "
                                   + " | ".join(lines[-3:]))[:500]
    outcome.seconds = time.monotonic() - started
    return outcome
