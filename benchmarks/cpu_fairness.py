"""Benchmark: how long a student's notebook takes to grade beside a kernel that starts busy processes.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/cpu_fairness.py [--busy 30] [--rounds 2]

A class of two a01 submissions graded at once (``--jobs 2``): ``fairness-victim``, the reference
solutions, and ``fairness-hog``, the same with a cell after the first graded function's test
that starts ``--busy`` processes spinning on the processors and, at the end, a cell that keeps
the kernel alive for 40 s, so that they spin while the victim is graded. Each round grades the
class with ``Sandbox.cgroup=auto`` (each kernel's processes in a control group of their own, one
share of the processors each: ``autograder/sandbox/cgroups.py``) and with ``off`` (the scheduler
shares the cores among processes), alternating which goes first, and prints the victim's seconds
and both scores (which must not change). Where the machine gives no cpu controller, ``auto``
behaves as ``off`` and says so. A script, not a test: figures on a shared machine are noisy;
compare within one run.
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
from autograder.sandbox import cgroups  # noqa: E402
from known_submissions import boundary  # noqa: E402
from known_submissions.ghosts import remove_merged  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
ASSIGNMENT = "a01_santa_logreg"
VICTIM, HOG = "fairness-victim", "fairness-hog"
SPIN = """
import subprocess, sys
spinning = [subprocess.Popen([sys.executable, "-c", "import time\\nend = time.time() + 60\\nwhile time.time() < end: pass"])
            for _ in range({busy})]
"""
KEEP_ALIVE = "import time\ntime.sleep(40)"


def write_class(submitted, busy):
    for student, extra in ((VICTIM, ()), (HOG, (("init_w", SPIN.format(busy=busy)), (None, KEEP_ALIVE)))):
        folder = submitted / student / ASSIGNMENT
        folder.mkdir(parents=True)
        boundary.answered(ASSIGNMENT, extra=extra)(folder)


def graded(submitted, out, setting):
    """{student: (seconds, score, status)} of the class graded with ``Sandbox.cgroup`` = ``setting``."""
    results = grading.grade_class(ASSIGNMENT, submitted, out, jobs=2, force=True, show_progress=False,
                                  settings=(f"--Sandbox.cgroup={setting}",))
    return {r.student_id: (r.seconds, r.score, r.status) for r in results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=30, help="busy processes the hog starts")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    found = cgroups.hierarchy()
    print(f"control groups: {cgroups.describe()}")
    if found is None or found.cpu is None:
        print("no cpu controller here: auto shares the cores as off does")
    work = Path(tempfile.mkdtemp(prefix="fairness-"))
    try:
        write_class(work / "submitted", options.busy)
        os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
        seconds = {"auto": [], "off": []}
        for round_ in range(options.rounds):
            for setting in (("auto", "off") if round_ % 2 == 0 else ("off", "auto")):
                started = time.monotonic()
                results = graded(work / "submitted", work / f"out-{setting}", setting)
                seconds[setting].append(results[VICTIM][0])
                print(f"  cgroup={setting:4}: victim {results[VICTIM][0]:6.1f} s, score {results[VICTIM][1]:g} "
                      f"({results[VICTIM][2]}); hog score {results[HOG][1]:g} ({results[HOG][2]}); "
                      f"class {time.monotonic() - started:.1f} s")
        auto, off = (sum(seconds[k]) / len(seconds[k]) for k in ("auto", "off"))
        print(f"victim's mean: {auto:.1f} s with a group per kernel, {off:.1f} s without: "
              f"{off / auto:.1f}x as long without ({options.busy} busy processes beside it, 2 jobs)")
    finally:
        remove_merged([VICTIM, HOG])
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
