"""Grade a class: stock ``nbgrader autograde`` per submission, with a time and memory limit.

Each submission is graded by its own nbgrader process, so one student's notebook that hangs,
crashes or is malformed costs that student only. Scores come from nbgrader's gradebook, which
the formgrader and ``nbgrader export`` read too.
"""
import csv
import html
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from .nbgrader_cli import COURSE_ROOT, nbgrader_env, put_scripts_on_path, run_nbgrader
from .submissions import find_submissions

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


def course_db_url(root=COURSE_ROOT):
    """The gradebook URL that nbgrader_config.py gives nbgrader (NBGRADER_DB_URL or the default)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return config.CourseDirectory.db_url


def ensure_assignment_in_gradebook(assignment, db_url):
    """nbgrader autograde needs the assignment's cells in the gradebook; record them if missing.

    ``generate_assignment`` is what records them; it writes into a scratch release folder here
    so the committed ``release/`` is left alone.
    """
    from nbgrader.api import Gradebook, MissingEntry
    import tempfile

    with Gradebook(db_url) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as scratch:
        result = run_nbgrader("generate_assignment", assignment, "--force", "--log-level=WARN",
                              f"--CourseDirectory.release_directory={scratch}",
                              f"--CourseDirectory.db_url={db_url}")
    if result.returncode != 0:
        raise RuntimeError(f"could not record {assignment} in the gradebook:\n{result.stderr}")


def _limit_memory(megabytes):
    def apply():
        os.setsid()
        if megabytes:
            limit = megabytes * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def autograde_one(assignment, submission, submissions_dir, db_url, timeout, memory_mb):
    """Run ``nbgrader autograde`` for one student; returns (status, message)."""
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment,
               f"--student={submission.student_id}", "--force", "--create", "--log-level=WARN",
               f"--CourseDirectory.submitted_directory={Path(submissions_dir).resolve()}",
               f"--CourseDirectory.db_url={db_url}"]
    process = subprocess.Popen(command, cwd=COURSE_ROOT, env=nbgrader_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=_limit_memory(memory_mb))
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return "timeout", f"grading took longer than {timeout} s and was stopped"
    if process.returncode != 0:
        last = [line for line in output.splitlines() if line.strip()][-3:]
        return "crashed", f"nbgrader autograde exited with {process.returncode}: " + " | ".join(last)
    return "graded", ""


def read_score(assignment, student_id, db_url):
    """(score, max_score) of a student's submission in the gradebook; (0, max) if none."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        max_score = gradebook.find_assignment(assignment).max_score
        try:
            submission = gradebook.find_submission(assignment, student_id)
        except MissingEntry:
            gradebook.update_or_create_student(student_id)
            return 0.0, max_score
        return float(submission.score), float(max_score)


def write_feedback(assignment, results, out):
    """nbgrader's feedback HTML for graded students, a short page explaining the rest."""
    graded = [r.student_id for r in results if r.status == "graded"]
    if graded:
        student = graded[0] if len(graded) == 1 else "*"
        outcome = run_nbgrader("generate_feedback", assignment, "--force", "--log-level=WARN",
                               f"--CourseDirectory.student_id={student}")
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


def grade_class(assignment, submissions_dir, out, timeout=600, memory_mb=4096, students=None,
                progress=print):
    """Grade every student folder of ``submissions_dir`` (or only ``students``).

    Writes ``out/grades.csv`` and ``out/feedback/<student>/<assignment>/``; returns the results.
    """
    put_scripts_on_path()
    db_url = course_db_url()
    ensure_assignment_in_gradebook(assignment, db_url)
    submissions = [s for s in find_submissions(assignment, submissions_dir)
                   if students is None or s.student_id in students]
    results = []
    for index, submission in enumerate(submissions, start=1):
        started = time.monotonic()
        if submission.problem:
            status, message = "invalid", submission.problem
        else:
            status, message = autograde_one(assignment, submission, submissions_dir, db_url,
                                            timeout, memory_mb)
        score, max_score = read_score(assignment, submission.student_id, db_url)
        if status != "graded":
            score = 0.0
        result = Result(submission.student_id, assignment, score, max_score, status, message,
                        time.monotonic() - started)
        results.append(result)
        progress(f"[{index}/{len(submissions)}] {result.student_id}: {result.status} "
                 f"{result.score:g}/{result.max_score:g} ({result.seconds:.1f} s)"
                 + (f" {result.message}" if result.message else ""))
    write_feedback(assignment, results, out)
    write_csv(results, Path(out) / "grades.csv")
    return results


def format_table(results):
    """The grades as an aligned text table."""
    rows = [("student", "score", "status", "message")]
    rows += [(r.student_id, f"{r.score:g} / {r.max_score:g}", r.status, r.message[:60]) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
                     for a, b, c, d in rows)
