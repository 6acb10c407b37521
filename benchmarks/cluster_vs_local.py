"""Benchmark: seconds per submission on a Dask cluster of separate processes against the local harness.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/cluster_vs_local.py [--submissions 12]
        [--workers 2] [--assignment a01_santa_logreg] [--no-nanny] [--worker-users]

It writes a class of ghost students (the reference, a blank notebook and catalogued mistakes,
taken in turn), then grades it twice with the command line, in one run on this machine:

1. locally, ``python -m autograder grade ... --jobs WORKERS``;
2. on a cluster started as the README's "Grading on a cluster" says: ``dask scheduler`` and
   ``WORKERS`` ``dask worker`` processes of one thread, on 127.0.0.1, with the course on their
   ``PYTHONPATH`` and ``--preload autograder.cluster.preload`` (``autograder.cluster.local_cluster``);
   each worker forks its kernels from a kernel zygote of its own, or, with ``--worker-users``,
   runs as a user of its own and starts its kernels afresh. The coordinator is
   ``python -m autograder grade ... --scheduler``.

It prints the wall seconds per submission of each, their ratio, the kernels the workers forked
from their zygotes, and whether the scores agree. A script, not a test: figures on a shared
machine are noisy; compare within one run.
"""
import argparse
import csv
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.cluster.local_cluster import LocalCluster  # noqa: E402
from known_submissions.ghosts import mixed_class, remove_merged, write_class  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
PREFIX = "cluster-bench-"


def grade(assignment, submitted, out, env, *options):
    """(wall seconds, {student: (status, score)}) of one run of the command line."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(submitted), "--out", str(out),
                           *options], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"grading failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    with open(Path(out) / "grades.csv", newline="", encoding="utf-8") as handle:
        return seconds, {r["student_id"]: (r["status"], float(r["score"])) for r in csv.DictReader(handle)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--assignment", default="a01_santa_logreg")
    parser.add_argument("--no-nanny", action="store_true",
                        help="workers without Dask's nanny (not daemonic: nbgrader forked from a fork server)")
    parser.add_argument("--worker-users", action="store_true",
                        help="each worker a user of its own (needs root): kernels start afresh, no zygote")
    options = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    students = mixed_class(options.assignment, options.submissions, PREFIX)
    write_class(options.assignment, work / "submitted", students)
    env = {**os.environ, "NBGRADER_DB_URL": f"sqlite:///{work / 'gradebook.db'}"}
    n = len(students)
    print(f"{options.assignment}: {n} submissions, {options.workers} workers")
    try:
        local_s, local = grade(options.assignment, work / "submitted", work / "local", env, "--jobs",
                               str(options.workers))
        print(f"  local harness, --jobs {options.workers}:   {local_s:7.1f} s  ({local_s / n:.2f} s/submission)")
        with LocalCluster(work / "logs", os.environ["COURSE_DATA_DIR"], workers=options.workers,
                          worker_users=options.worker_users, shared=[work / "submitted"],
                          nanny=not options.no_nanny) as cluster:
            cluster_s, on_cluster = grade(options.assignment, work / "submitted", work / "cluster", env, "--scheduler",
                                          cluster.address)
            from autograder.cluster.remote_job import zygote_stats

            forked = sum(s["kernels_forked"] for s in cluster.client().run(zygote_stats).values())
        kind = " (--no-nanny)" if options.no_nanny else ""
        kind += " (each a user of its own)" if options.worker_users else ""
        zygotes = "kernels started afresh" if options.worker_users else \
            "each worker's zygote started by its first submission"
        print(f"  cluster, {options.workers} dask workers{kind}: {cluster_s:7.1f} s  ({cluster_s / n:.2f} s/submission; "
              f"the scheduler and workers already running, {zygotes})")
        print(f"  cluster / local:           {cluster_s / local_s:.2f}x")
        print(f"  kernels forked from the workers' zygotes: {forked} (submissions: {n})")
        print(f"  scores agree: {'yes' if on_cluster == local else 'NO'}")
    finally:
        remove_merged(students)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
