"""Grade a class: stock ``nbgrader autograde`` per submission, in parallel, in isolation.

The pipeline, stage by stage (one package each):

1. the gate (``gate/``) finds the submissions and refuses, with a reason, those that cannot be
   graded;
2. workers (``worker/``) grade each submission in a scratch course directory with its own
   gradebook and its own nbgrader process under time and memory limits, so one student's
   notebook that hangs, crashes or is malformed costs that student only; the student's kernel
   runs in the sandbox (``sandbox/``) and the test cells are decided outside it
   (``decisions/``). Workers are the threads of a ``concurrent.futures`` pool, each waiting for
   the nbgrader processes it forks, or the workers of a Dask cluster;
3. this process merges each outcome into the course gradebook (``gradebook/``), which the
   formgrader and ``nbgrader export`` read too;
4. then writes the feedback pages (``pages/``) and ``grades.csv``.

The settings are traitlets (``autograder/settings.py``): the course's ``nbgrader_config.py``, then
``--Class.trait=value`` settings of the command line.
"""
import csv
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import course, scratch
from .course import COURSE_ROOT
from .pages.class_feedback import write_feedback
from .gate.submissions import find_submissions
from .gradebook.merge import record_outcome
from .gradebook.records import course_db_url, ensure_assignment_in_gradebook, read_score, template_gradebook
from .progress import Progress
from .sandbox.policy import bwrap_problem, sandbox_mode
from .sandbox.zygote import Zygote
from .settings import Grading, Sandbox, course_config
from .worker.job import Job, Outcome, grade, thread_settings
from .worker.nbgrader_cli import put_scripts_on_path
from .worker.processes import start_fork_server

CSV_COLUMNS = ("student_id", "assignment", "score", "max_score", "status", "message", "seconds")
STATUSES = ("graded", "timeout", "crashed", "invalid")


@dataclass
class Result:
    student_id: str
    assignment: str
    score: float
    max_score: float
    status: str
    message: str = ""
    seconds: float = 0.0
    peak_memory_mb: float = 0.0


def by_hand_note(message, points):
    """The message of a graded submission, with the points still to grade by hand."""
    if not points:
        return message
    note = f"{points:g} points to grade by hand in the formgrader"
    return f"{message}; {note}" if message else note


def write_csv(results, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in results:
            writer.writerow([r.student_id, r.assignment, f"{r.score:g}", f"{r.max_score:g}",
                             r.status, r.message, f"{r.seconds:.1f}"])


def make_executor(jobs, scheduler):
    """(executor, closer): ``jobs`` local workers, or the Dask cluster at ``scheduler``.

    A local worker is a thread of this process: it only waits for the nbgrader processes it
    forks (each in its own session, under its own limits), so threads cost nothing that
    processes would spare, and they share this process's fork server.
    """
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client.close
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grading-worker")
    return pool, pool.shutdown


class GraderRefuses(RuntimeError):
    """The grader would not grade fairly in this environment."""


def refuse_optimized_python():
    """Grading needs ``assert`` and ``__debug__``: refuse to run with them stripped (``python -O``
    or ``PYTHONOPTIMIZE``), in this process or in the nbgrader processes it starts."""
    if sys.flags.optimize or os.environ.get("PYTHONOPTIMIZE"):
        raise GraderRefuses("refusing to grade under python -O / PYTHONOPTIMIZE: it strips the assertions "
                            "tests rely on. Unset PYTHONOPTIMIZE and run without -O.")


def warn_without_sandbox(sandbox):
    """Say, once per class, when student code will run without the sandbox."""
    mode = sandbox_mode(sandbox.mode)
    if sandbox.mode == "bwrap" and mode != "bwrap":
        print(f"warning: student code runs WITHOUT the sandbox (limits only): {bwrap_problem()}",
              file=sys.stderr)
    elif mode == "off":
        print("warning: Sandbox.mode = off: student code runs without sandbox or limits", file=sys.stderr)


def settings_given(settings=(), timeout=None, cell_timeout=None, memory_mb=None, max_cell_output=None, jobs=None):
    """The ``--Class.trait=value`` settings for a class run: ``settings`` (the command line's),
    then those given by keyword, which win."""
    given = list(settings)
    for name, value in (("Grading.timeout", timeout), ("Execute.timeout", cell_timeout),
                        ("Sandbox.memory_mb", memory_mb), ("SurvivingExecute.max_cell_output", max_cell_output),
                        ("Grading.jobs", jobs)):
        if value is not None:
            given.append(f"--{name}={value}")
    return given


def grade_class(assignment, submissions_dir, out, jobs=None, scheduler=None, timeout=None,
                cell_timeout=None, memory_mb=None, students=None, show_progress=True,
                max_cell_output=None, stats=None, settings=()):
    """Grade every student folder of ``submissions_dir`` (or only ``students``).

    The settings are the course's (its ``nbgrader_config.py``), then ``settings``
    (``--Class.trait=value``, as given on the command line), then the keyword arguments given.
    Writes ``out/grades.csv`` and ``out/feedback/<student>/<assignment>/``; returns the results,
    sorted by student id. A dict ``stats`` receives ``kernels_forked`` (how many kernels were
    forked from the kernel zygote, ``sandbox/zygote.py``) and ``zygote_peak_mb``.
    """
    given = settings_given(settings, timeout, cell_timeout, memory_mb, max_cell_output, jobs)
    config = course_config(COURSE_ROOT, given)
    sandbox, grading = Sandbox(config=config), Grading(config=config)
    refuse_optimized_python()
    warn_without_sandbox(sandbox)
    scratch.clear_stale_runs()  # what runs killed before their end left behind
    # The fork server imports nbgrader (and Keras, where the tests receive models), and the
    # kernel zygote what kernels import, while this process reads the submissions.
    keras = course.load(assignment).keras
    start_fork_server(keras=keras)
    jobs = grading.jobs or os.cpu_count() or 1
    # Kernels on this machine share its cores; a cluster's workers keep their defaults.
    threads = 0 if scheduler else max(1, (os.cpu_count() or 1) // jobs)
    job = dict(timeout=grading.timeout, memory_mb=sandbox.memory_mb, threads=threads,
               settings=tuple(s for s in given if not s.startswith("--Grading.")))
    with Zygote(str(COURSE_ROOT / "release" / assignment), {**os.environ, **thread_settings(threads)},
                sandbox, keras=keras) as zygote:
        results = _grade_class(assignment, submissions_dir, out, jobs, scheduler, students, show_progress,
                               dict(job, kernel_zygote=zygote.socket_path or ""))
        if stats is not None:
            stats.update(zygote.stats())
        return results


def _grade_class(assignment, submissions_dir, out, jobs, scheduler, students, show_progress, job):
    put_scripts_on_path()
    db_url = course_db_url()
    submissions = [s for s in find_submissions(assignment, submissions_dir)
                   if students is None or s.student_id in students]
    gradable = [s for s in submissions if not s.problem]
    progress = Progress(len(submissions), enabled=show_progress)
    results = []

    def finish(outcome):
        record_outcome(db_url, COURSE_ROOT, assignment, outcome)
        score, max_score, by_hand = read_score(assignment, outcome.student_id, db_url)
        graded = outcome.status == "graded"
        result = Result(outcome.student_id, assignment, score if graded else 0.0, max_score,
                        outcome.status, by_hand_note(outcome.message, by_hand if graded else 0),
                        outcome.seconds, outcome.peak_memory_mb)
        results.append(result)
        progress.done(result)

    with tempfile.TemporaryDirectory(prefix="grading-", dir=scratch.run_folder()) as folder:
        # The course gradebook must know the assignment before the first outcome is recorded; the
        # workers' template gradebook, before the first submission is graded: both at once.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="grading-setup") as setup:
            course_ready = setup.submit(ensure_assignment_in_gradebook, assignment, db_url)
            template = setup.submit(template_gradebook, assignment, folder) if gradable else None
            course_ready.result()
            template = template and template.result()
        for submission in submissions:
            if submission.problem:
                finish(Outcome(submission.student_id, "invalid", submission.problem))
        if gradable:
            executor, close = make_executor(jobs, scheduler)
            try:
                futures = {executor.submit(grade, Job(assignment, s.student_id, str(s.folder.absolute()),
                                                      str(COURSE_ROOT), str(template), **job)): s
                           for s in gradable}
                for future in as_completed(futures):
                    try:
                        outcome = future.result()
                    except Exception as error:  # the worker itself broke, not the submission
                        outcome = Outcome(futures[future].student_id, "crashed",
                                          f"the grading worker failed: {error!r}"[:500])
                    finish(outcome)
            finally:
                close()
    progress.close()
    results.sort(key=lambda r: r.student_id)
    write_feedback(assignment, results, out)
    write_csv(results, Path(out) / "grades.csv")
    return results


def summary(results):
    """Counts by status, mean score and the slowest submissions, as text."""
    if not results:
        return "no submissions"
    counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in STATUSES
                       if any(r.status == s for r in results))
    scores = [r.score for r in results]
    slowest = sorted(results, key=lambda r: r.seconds, reverse=True)[:3]
    return "\n".join([
        f"{len(results)} submissions: {counts}",
        f"mean score {statistics.mean(scores):.2f} / {results[0].max_score:g}",
        "slowest: " + ", ".join(f"{r.student_id} {r.seconds:.1f} s" for r in slowest),
    ])


def format_table(results):
    """The grades as an aligned text table."""
    rows = [("student", "score", "status", "message")]
    rows += [(r.student_id, f"{r.score:g} / {r.max_score:g}", r.status, r.message[:60]) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
                     for a, b, c, d in rows)
