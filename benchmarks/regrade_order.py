"""Benchmark: a class graded again (``--force``) in the students' order, then longest first.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/regrade_order.py [--per-assignment 20]
        [--jobs 2] [--rounds 2] [--assignment a01_santa_logreg]

It grades a class of ghost students once, so that ``OUT/finished.jsonl`` notes how long each
submission took, then grades it again with ``force`` in rounds, each round twice: once in the
students' order (as a first run grades them) and once longest first by the times of the run
before (``resume.longest_first``, what the harness does), alternating which goes first. A long
submission started last keeps one worker busy alone at the end; this prints how much of the class's
time that costs. Scores must agree. A script, not a test: compare within one run.
"""
import argparse
import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import grading  # noqa: E402
from known_submissions.ghosts import mixed_class, remove_merged, write_class  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
PREFIX = "regrade-"


def graded(assignment, submitted, out, jobs, longest):
    """Seconds to grade the class again, and its scores."""
    chosen = grading.longest_first
    if not longest:
        grading.longest_first = lambda submissions, finished: list(submissions)
    try:
        started = time.monotonic()
        results = grading.grade_class(assignment, submitted, out, jobs=jobs, force=True, show_progress=False)
        return time.monotonic() - started, {r.student_id: r.score for r in results}
    finally:
        grading.longest_first = chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-assignment", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--assignment", default="a01_santa_logreg")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="regrade-"))
    students = mixed_class(options.assignment, options.per_assignment, PREFIX)
    try:
        write_class(options.assignment, work / "submitted", students)
        os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
        out = work / "out"
        first, scores = graded(options.assignment, work / "submitted", out, options.jobs, longest=False)
        print(f"{options.assignment}: {len(students)} submissions, {options.jobs} jobs; first run {first:.1f} s")
        times = {False: [], True: []}
        for round_ in range(options.rounds):
            for longest in ((False, True) if round_ % 2 == 0 else (True, False)):
                seconds, again = graded(options.assignment, work / "submitted", out, options.jobs, longest)
                times[longest].append(seconds)
                order = "longest first" if longest else "in the students' order"
                print(f"  again, {order}: {seconds:6.1f} s"
                      f"  (scores {'agree' if again == scores else 'DIFFER'})")
        plain, longest = (sum(times[k]) / len(times[k]) for k in (False, True))
        print(f"  mean: students' order {plain:.1f} s, longest first {longest:.1f} s: {longest / plain:.2f}x")
    finally:
        remove_merged(students)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
