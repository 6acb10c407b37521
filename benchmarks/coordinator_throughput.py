"""Benchmark: how many results per second the coordinator merges into the gradebook, and so at
how many workers it becomes the bottleneck.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/coordinator_throughput.py [--merges 200]
        [--assignment a01_santa_logreg] [--postgres] [--db-url postgresql+psycopg://user@host/db ...]

The coordinator does one thing per submission that no worker can do for it: it merges the
worker's outcome into the course gradebook (``gradebook/merge.py``: the submission replaced, its
grades and comments written, its graded notebook and feedback pages stored) and reads the score
back for ``grades.csv``, one outcome at a time. This script grades one real submission of the
assignment (the reference ghost) with the harness's worker, timing it, then merges that outcome
``--merges`` times under distinct student ids into a fresh gradebook: SQLite in a scratch folder,
with ``--postgres`` a throwaway PostgreSQL server started as the tests start theirs
(``tests/postgres_server.py``), then each ``--db-url`` given. It prints
merges per second and the number of workers that would keep the coordinator busy all the time,
``merges per second x seconds per submission``: beyond it, workers wait for the coordinator.
A script, not a test: figures on a shared machine are noisy.
"""
import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import scratch  # noqa: E402
from autograder.gradebook.merge import record_outcome  # noqa: E402
from autograder.gradebook.records import ensure_assignment_in_gradebook, read_score, template_gradebook  # noqa: E402
from autograder.worker.job import Job, grade  # noqa: E402
from autograder.worker.nbgrader_cli import put_scripts_on_path  # noqa: E402
from autograder.worker.processes import start_fork_server  # noqa: E402
from known_submissions.ghosts import write_class  # noqa: E402

GOAL_WORKERS = 64


def one_real_outcome(assignment, folder):
    """(the outcome of grading the reference ghost with the harness's worker, its seconds)."""
    submissions = folder / "submitted"
    write_class(assignment, submissions, {"bench-reference": {}})
    template = template_gradebook(assignment, folder)
    job = Job(assignment, "bench-reference", str(submissions / "bench-reference" / assignment), str(ROOT),
              str(template), timeout=600, memory_mb=4096)
    started = time.monotonic()
    outcome = grade(job)
    seconds = time.monotonic() - started
    if outcome.status != "graded":
        raise SystemExit(f"the reference ghost was not graded: {outcome.status} {outcome.message}")
    return outcome, seconds


def merge_rate(assignment, outcome, db_url, course_folder, merges):
    """(merges per second over all, over the last fifth: the gradebook grows as it fills) of
    ``outcome`` merged under ``merges`` new student ids, each with its score read back."""
    from nbgrader.api import Gradebook

    ensure_assignment_in_gradebook(assignment, db_url)
    times = []
    with Gradebook(db_url) as gradebook:  # as the coordinator does: one for all the merges of a run
        for index in range(merges):
            outcome.student_id = f"bench-{index:05d}"
            started = time.perf_counter()
            record_outcome(db_url, course_folder, assignment, outcome, gradebook)
            read_score(assignment, outcome.student_id, db_url, gradebook)
            times.append(time.perf_counter() - started)
    last = times[-max(1, merges // 5):]
    return len(times) / sum(times), 1 / statistics.mean(last)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="a01_santa_logreg")
    parser.add_argument("--merges", type=int, default=200, help="outcomes merged per gradebook")
    parser.add_argument("--postgres", action="store_true", help="also measure a PostgreSQL server started for it "
                        "on 127.0.0.1 (apt-get install postgresql)")
    parser.add_argument("--db-url", action="append", default=[], help="another gradebook (SQLAlchemy URL) to "
                        "measure; it must be empty or hold no bench-* students")
    args = parser.parse_args()
    put_scripts_on_path()
    start_fork_server()
    with contextlib.ExitStack() as stack:
        if args.postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            from postgres_server import postgres_bin, temporary_postgres

            if postgres_bin() is None:
                raise SystemExit("--postgres: PostgreSQL is not installed here (apt-get install postgresql)")
            args.db_url.insert(0, stack.enter_context(temporary_postgres(postgres_bin())))
        measure(args)


def measure(args):
    with tempfile.TemporaryDirectory(prefix="coordinator-", dir=scratch.run_folder()) as folder:
        folder = Path(folder)
        with contextlib.redirect_stderr(io.StringIO()):
            outcome, seconds = one_real_outcome(args.assignment, folder)
        size = sum(map(len, outcome.notebooks.values())) + sum(map(len, outcome.feedback.values()))
        print(f"{args.assignment}: one submission graded by a worker in {seconds:.1f} s "
              f"({len(outcome.grades)} graded cells, {size / 1024:.0f} KiB of notebook and feedback to store)")
        urls = [("SQLite", f"sqlite:///{folder / 'gradebook.db'}")]
        urls += [(f"{url.split(':')[0].split('+')[0]}-{index}", url) for index, url in enumerate(args.db_url)]
        for name, url in urls:
            course = folder / f"course-{name}"
            course.mkdir()
            rate, last_rate = merge_rate(args.assignment, outcome, url, course, args.merges)
            workers = min(rate, last_rate) * seconds
            verdict = "meets" if workers >= GOAL_WORKERS else "misses"
            print(f"  {name:<10} {rate:6.1f} merges/s over {args.merges} ({last_rate:6.1f} over the last fifth): "
                  f"the coordinator is the bottleneck beyond {workers:5.0f} workers of {seconds:.1f} s "
                  f"submissions ({verdict} the goal of {GOAL_WORKERS})")


if __name__ == "__main__":
    main()
