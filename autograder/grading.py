"""Grade a class: stock ``nbgrader autograde`` per submission, in parallel, in isolation.

Each submission is graded by a worker (``autograder/worker.py``) in a scratch course directory
with its own gradebook and its own nbgrader process under time and memory limits, so one
student's notebook that hangs, crashes or is malformed costs that student only. Workers are the
threads of a ``concurrent.futures`` pool, each waiting for the nbgrader processes it forks, or
the workers of a Dask cluster. The main process merges each outcome into the course gradebook
(``autograder/merge.py``), which the formgrader and ``nbgrader export`` read too, then writes
feedback and ``grades.csv``.
"""
import csv
import html
import os
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from . import course, scratch
from .merge import record_outcome
from .nbgrader_cli import COURSE_ROOT, nbgrader_env, put_scripts_on_path, run_nbgrader
from .progress import Progress
from .submissions import find_submissions
from .worker import Job, Outcome, grade, run_nbgrader_limited, start_fork_server, thread_settings
from .zygote import Zygote

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


def course_db_url(root=COURSE_ROOT):
    """The gradebook URL that nbgrader_config.py gives nbgrader (NBGRADER_DB_URL or the default)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return config.CourseDirectory.db_url


def record_assignment(assignment, db_url):
    """Record ``assignment``'s cells in the gradebook at ``db_url`` with nbgrader's
    ``generate_assignment``, which writes into a scratch release folder here so that the
    committed ``release/`` is left alone."""
    with tempfile.TemporaryDirectory(prefix="release-", dir=scratch.run_folder()) as release_folder:
        returncode, log, _ = run_nbgrader_limited(
            ["generate_assignment", assignment, "--force", "--log-level=WARN",
             f"--CourseDirectory.release_directory={release_folder}", f"--CourseDirectory.db_url={db_url}"],
            COURSE_ROOT, nbgrader_env(), memory_mb=0, timeout=600)
    if returncode != 0:
        raise RuntimeError(f"could not record {assignment} in the gradebook:\n{log}")


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
    record_assignment(assignment, f"sqlite:///{path}")
    return path


def read_score(assignment, student_id, db_url):
    """(score, max_score, points to grade by hand) of a student's submission in the gradebook;
    (0, max, 0) if none. Written answers wait for the formgrader; blank ones score 0 at once."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        max_score = gradebook.find_assignment(assignment).max_score
        try:
            submission = gradebook.find_submission(assignment, student_id)
        except MissingEntry:
            gradebook.update_or_create_student(student_id)
            return 0.0, max_score, 0.0
        by_hand = sum(grade.max_score for notebook in submission.notebooks for grade in notebook.grades
                      if grade.needs_manual_grade)
        return float(submission.score), float(max_score), float(by_hand)


def by_hand_note(message, points):
    """The message of a graded submission, with the points still to grade by hand."""
    if not points:
        return message
    note = f"{points:g} points to grade by hand in the formgrader"
    return f"{message}; {note}" if message else note


def write_feedback(assignment, results, out):
    """nbgrader's feedback HTML for graded students, a short page explaining the rest.

    Workers make each student's feedback pages (see merge.py); nbgrader generate_feedback runs
    here only for graded students whose pages are missing.
    """
    graded = [r.student_id for r in results if r.status == "graded"
              and not any((COURSE_ROOT / "feedback" / r.student_id / assignment).glob("*.html"))]
    if graded:
        student = graded[0] if len(graded) == 1 else "*"
        # autograded/ holds other students too (of this class, or of earlier runs that this
        # gradebook does not know): skip them.
        others = sorted(p.parent.name for p in (COURSE_ROOT / "autograded").glob(f"*/{assignment}")
                        if p.parent.name not in graded)
        outcome = run_nbgrader("generate_feedback", assignment, "--force", "--log-level=WARN",
                               f"--CourseDirectory.student_id={student}",
                               f"--CourseDirectory.student_id_exclude={','.join(others)}")
        if outcome.returncode != 0:
            print(f"warning: nbgrader generate_feedback failed:\n{outcome.stderr}", file=sys.stderr)
    for result in results:
        target = Path(out) / "feedback" / result.student_id / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        source = COURSE_ROOT / "feedback" / result.student_id / assignment
        if result.status == "graded" and source.is_dir():
            for page in source.glob("*.html"):
                shutil.copy2(page, target / page.name)
        else:
            (target / f"{assignment}.html").write_text(
                f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{assignment}</title></head>"
                f"<body><h1>{html.escape(assignment)}: not graded</h1>"
                f"<p>Status: <b>{result.status}</b>. Score {result.score:g} / {result.max_score:g}.</p>"
                f"<p>{html.escape(result.message)}</p></body></html>\n", encoding="utf-8")


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


def warn_without_sandbox():
    """Say, once per class, when student code will run without the sandbox."""
    from .sandbox import bwrap_problem, sandbox_mode

    wanted = os.environ.get("COURSE_SANDBOX", "bwrap")
    mode = sandbox_mode(wanted)
    if wanted == "bwrap" and mode != "bwrap":
        print(f"warning: student code runs WITHOUT the sandbox (limits only): {bwrap_problem()}",
              file=sys.stderr)
    elif mode == "off":
        print("warning: COURSE_SANDBOX=off: student code runs without sandbox or limits", file=sys.stderr)


def grade_class(assignment, submissions_dir, out, jobs=None, scheduler=None, timeout=600,
                cell_timeout=60, memory_mb=4096, students=None, show_progress=True,
                max_cell_output=1_000_000, stats=None):
    """Grade every student folder of ``submissions_dir`` (or only ``students``).

    Writes ``out/grades.csv`` and ``out/feedback/<student>/<assignment>/``; returns the results,
    sorted by student id. A dict ``stats`` receives ``kernels_forked`` (how many kernels were
    forked from the kernel zygote, ``autograder/zygote.py``) and ``zygote_peak_mb``.
    """
    refuse_optimized_python()
    warn_without_sandbox()
    scratch.clear_stale_runs()  # what runs killed before their end left behind
    # The fork server imports nbgrader (and Keras, where the tests receive models), and the
    # kernel zygote what kernels import, while this process reads the submissions.
    keras = course.load(assignment).keras
    start_fork_server(keras=keras)
    jobs = jobs or os.cpu_count() or 1
    # Kernels on this machine share its cores; a cluster's workers keep their defaults.
    threads = 0 if scheduler else max(1, (os.cpu_count() or 1) // jobs)
    with Zygote(str(COURSE_ROOT / "release" / assignment), {**os.environ, **thread_settings(threads)},
                keras=keras) as zygote:
        results = _grade_class(assignment, submissions_dir, out, jobs, scheduler, timeout, cell_timeout,
                               memory_mb, students, show_progress, max_cell_output, threads, zygote.socket_path)
        if stats is not None:
            stats.update(zygote.stats())
        return results


def _grade_class(assignment, submissions_dir, out, jobs, scheduler, timeout, cell_timeout, memory_mb,
                 students, show_progress, max_cell_output, threads, zygote_socket):
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
                                                      str(COURSE_ROOT), str(template), timeout,
                                                      cell_timeout, memory_mb, threads,
                                                      max_cell_output=max_cell_output,
                                                      kernel_zygote=zygote_socket or "")): s
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
