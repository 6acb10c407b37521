"""The feedback pages of a graded class, in the harness's output folder."""
import html
import shutil
import subprocess
import sys
from pathlib import Path

from ..course import COURSE_ROOT
from ..worker.job import page_of
from ..worker.nbgrader_cli import run_nbgrader


def notebook_pages(student, assignment):
    """The feedback pages, in the course's ``feedback/``, of the student's graded notebooks (in
    ``autograded/``). Not the other HTML files there: nbgrader generate_feedback copies every file
    of a submission beside its pages, the student's own HTML files included."""
    graded = COURSE_ROOT / "autograded" / student / assignment
    pages = COURSE_ROOT / "feedback" / student / assignment
    return [pages / page_of(notebook.name) for notebook in sorted(graded.glob("*.ipynb"))
            if (pages / page_of(notebook.name)).is_file()]


def write_feedback(assignment, results, out, timeout=None):
    """nbgrader's feedback HTML for graded students, a short page explaining the rest.

    Workers make each student's feedback pages (see merge.py); nbgrader generate_feedback runs
    here only for graded students whose pages are missing, one student at a time: the course's
    ``autograded/`` holds other students too (of this class, of earlier runs, of runs going on
    meanwhile), which a run for every student would make pages for, and a list of them all to
    leave out can outgrow what one argument of a command may hold (128 KiB on Linux). Each run
    has ``timeout`` seconds (the time a submission has to be graded): a page the worker could not
    make in that time, made again here, would hold up every student after it.
    """
    missing = [r.student_id for r in results if r.status == "graded" and not notebook_pages(r.student_id, assignment)]
    for student in missing:
        try:
            outcome = run_nbgrader("generate_feedback", assignment, "--force", "--log-level=WARN",
                                   f"--CourseDirectory.student_id={student}", timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"warning: nbgrader generate_feedback for {student} took more than {timeout:g} s and was stopped",
                  file=sys.stderr)
            continue
        if outcome.returncode != 0:
            print(f"warning: nbgrader generate_feedback failed for {student}:\n{outcome.stderr}", file=sys.stderr)
    for result in results:
        target = Path(out) / "feedback" / result.student_id / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        pages = notebook_pages(result.student_id, assignment) if result.status == "graded" else []
        if pages:
            for page in pages:
                shutil.copy2(page, target / page.name)
        else:
            state = "graded, but its feedback page could not be made" if result.status == "graded" else "not graded"
            (target / f"{assignment}.html").write_text(
                f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{assignment}</title></head>"
                f"<body><h1>{html.escape(assignment)}: {state}</h1>"
                f"<p>Status: <b>{result.status}</b>. Score {result.score:g} / {result.max_score:g}.</p>"
                f"<p>{html.escape(result.message)}</p></body></html>\n", encoding="utf-8")
