"""Benchmark: grade a long class and watch that the grader's use of the machine stays flat.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/soak.py [--submissions 300] [--jobs 2]
        [--assignment a01_santa_logreg] [--interval 2]

It writes a class of ``--submissions`` ghost students that cycles through the assignment's demo
class (the reference, a blank notebook, catalogued mistakes) and the faulty submissions of
``known_submissions/faults.py`` (a kernel that dies, a duplicated or deleted test cell, stripped
metadata, ...), grades it with the harness in this process (``grade_class``), and samples every
``--interval`` seconds:

- the coordinator's memory (this process's resident set) and its open file descriptors;
- the kernel zygote's memory (the zygote itself, not the kernels it forks);
- the grader's processes (every descendant of this process) and their open file descriptors;
- the bytes the run keeps in the temporary folder (its scratch folder, and anything new there).

The first fifth of the samples is the warm-up (the fork server, the zygote, the first kernels).
For each figure it prints the median of the first and of the last fifth after the warm-up (a
median, so that where in a submission's grading each sample fell matters little), and their
ratio: flat means the last is at most 10 % above the first. Then, after the
run, what is left: processes, the run's scratch folder, bytes in the temporary folder.
Every score is checked against the same ghost graded alone (the first of each kind).

A script, not a test (``tests/test_soak.py`` runs a short class through it): figures on a shared
machine are noisy.
"""
import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import scratch  # noqa: E402
from autograder.grading import grade_class  # noqa: E402
from known_submissions.faults import FAULTS, write_faulty  # noqa: E402
from known_submissions.ghosts import demo_class, remove_merged, write_class  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001 (figures appear as they come)
FLAT = 1.10  # the last stretch may be at most 10 % above the first, after the warm-up
ZYGOTE_MARK = b"kernel-zygote-"  # in the command line of the zygote (and of the kernels it forks)
FIGURES = ("coordinator_mb", "coordinator_fds", "zygote_mb", "processes", "process_fds", "tmp_mb")


def soak_class(assignment, submissions, folder):
    """Write ``submissions`` ghost students into ``folder``: {student id: kind}, the kinds being
    the demo class's ghosts and the faults, taken in turn."""
    kinds = [(f"demo-{name}", ("answers", answers)) for name, answers in demo_class(assignment).items()]
    kinds += [(f"fault-{name.removeprefix('ghost-')}", ("fault", fault)) for name, (fault, _) in FAULTS.items()]
    students = {}
    for index in range(submissions):
        kind, (how, what) = kinds[index % len(kinds)]
        student = f"soak-{index:04d}-{kind}"
        if how == "answers":
            write_class(assignment, folder, {student: what})
        else:
            write_faulty(assignment, folder, {student: what})
        students[student] = kind
    return students


# -- what the machine shows, from /proc ------------------------------------------------------------
def _read(path, mode="rb"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except OSError:
        return b"" if "b" in mode else ""


def _parents():
    """{pid: parent pid} of every process."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _read(f"/proc/{entry.name}/stat")
            if stat:
                parents[int(entry.name)] = int(stat.rsplit(b")", 1)[1].split()[1])
    return parents


def descendants(pid, parents=None):
    parents = _parents() if parents is None else parents
    children = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _program(pid):
    return os.path.basename(_read(f"/proc/{pid}/cmdline").split(b"\0", 1)[0])


def rss_mb(pid):
    for line in _read(f"/proc/{pid}/status", "r").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def tree_bytes(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                pass
    return total


class Sampler(threading.Thread):
    """Samples the figures every ``interval`` seconds until stopped."""

    def __init__(self, interval, tmp_before):
        super().__init__(daemon=True)
        self.interval, self.tmp_before = interval, tmp_before
        self.samples, self.stopped = [], threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            self.samples.append(self.sample())

    def sample(self):
        me = os.getpid()
        parents = _parents()
        mine = descendants(me, parents)
        # The zygote: the Python process in bubblewrap with the zygote's command line; the kernels
        # it forks have that command line too, and a parent that is not bubblewrap.
        zygotes = [p for p in mine if ZYGOTE_MARK in _read(f"/proc/{p}/cmdline")
                   and _program(p) != b"bwrap" and _program(parents.get(p, 0)) == b"bwrap"]
        return dict(coordinator_mb=rss_mb(me), coordinator_fds=fds(me),
                    zygote_mb=sum(rss_mb(p) for p in zygotes), processes=len(mine),
                    process_fds=sum(fds(p) for p in mine), tmp_mb=tmp_bytes(self.tmp_before) / 2**20)


def tmp_bytes(before):
    """Bytes in the temporary folder's entries that were not there at the start, and in the
    grader's scratch folder (which was)."""
    top = tempfile.gettempdir()
    total = tree_bytes(scratch.top_folder())
    for entry in os.scandir(top):
        if entry.name not in before:
            total += tree_bytes(entry.path) if entry.is_dir(follow_symlinks=False) else entry.stat(
                follow_symlinks=False).st_blocks * 512
    return total


def stretches(samples):
    """(the warm-up's end, the first and the last fifth after it) as lists of samples."""
    warm = len(samples) // 5
    rest = samples[warm:]
    fifth = max(1, len(rest) // 5)
    return rest[:fifth], rest[-fifth:]


def flatness(samples):
    """{figure: (median of the first stretch, median of the last, last / first)}."""
    first, last = stretches(samples)
    table = {}
    for figure in FIGURES:
        a, b = statistics.median(s[figure] for s in first), statistics.median(s[figure] for s in last)
        table[figure] = (a, b, (b / a) if a else (1.0 if b == a else float("inf")))
    return table


def soak(assignment, submissions, jobs, interval):
    """Grade the soak class; returns the report as a dict (printed as it goes)."""
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    tmp_before = {entry.name for entry in os.scandir(tempfile.gettempdir())}
    submitted = work / "submitted"
    kinds = soak_class(assignment, submissions, submitted)
    os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
    print(f"soak: {submissions} submissions of {assignment} ({len(set(kinds.values()))} kinds), --jobs {jobs}, "
          f"a sample every {interval:g} s")
    sampler = Sampler(interval, tmp_before)
    sampler.start()
    started = time.monotonic()
    try:
        results = grade_class(assignment, submitted, work / "out", jobs=jobs, show_progress=False)
    finally:
        sampler.stopped.set()
        sampler.join()
        remove_merged(kinds)  # what the run merged into the course's folders
    seconds = time.monotonic() - started
    samples = sampler.samples
    if len(samples) < 10:
        raise SystemExit(f"only {len(samples)} samples: grade more submissions or sample more often")

    # The same kind of ghost gets the same status and score every time.
    by_kind = {}
    for result in results:
        by_kind.setdefault(kinds[result.student_id], set()).add((result.status, result.score))
    varied = {kind: sorted(found) for kind, found in by_kind.items() if len(found) > 1}
    print(f"graded {len(results)} submissions in {seconds:.0f} s ({seconds / len(results):.2f} s each); "
          f"{len(samples)} samples")
    print("  ".join(f"{status}: {sum(r.status == status for r in results)}"
                    for status in sorted({r.status for r in results})))
    print("each kind of ghost got one status and score every time" if not varied else
          f"kinds whose grades varied: {varied}")

    table = flatness(samples)
    print(f"\n{'figure':18} {'first stretch':>14} {'last stretch':>13} {'ratio':>7}  flat (<= {FLAT:.2f})")
    for figure, (first, last, ratio) in table.items():
        print(f"{figure:18} {first:14.1f} {last:13.1f} {ratio:7.3f}  {'yes' if ratio <= FLAT else 'NO'}")

    # What is left once the run is over: the fork server goes with this process; the rest must be gone.
    scratch.remove_run_folder()
    time.sleep(1)
    left_processes = [p for p in descendants(os.getpid())
                      if b"forkserver" not in _read(f"/proc/{p}/cmdline") and
                      b"resource_tracker" not in _read(f"/proc/{p}/cmdline")]
    left_runs = [e.name for e in scratch.top_folder().iterdir() if e.name.startswith(f"run-{os.getpid()}-")]
    # pymp-*: the folder of the fork server's socket, which lives as long as this process
    left_tmp = {entry.name for entry in os.scandir(tempfile.gettempdir())
                if not entry.name.startswith("pymp-")} - tmp_before - {work.name}
    print(f"\nleft behind: {len(left_processes)} process(es) other than the fork server, "
          f"{len(left_runs)} run folder(s), {len(left_tmp)} new entr(y/ies) in {tempfile.gettempdir()}"
          + (f": {sorted(left_tmp)[:10]}" if left_tmp else ""))
    return dict(results=results, seconds=seconds, samples=samples, flatness=table, varied=varied,
                left_processes=left_processes, left_runs=left_runs, left_tmp=sorted(left_tmp), work=work)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", default="a01_santa_logreg")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    options = parser.parse_args(argv)
    report = soak(options.assignment, options.submissions, options.jobs, options.interval)
    shutil.rmtree(report["work"], ignore_errors=True)
    flat = all(ratio <= FLAT for _, _, ratio in report["flatness"].values())
    clean = not (report["left_processes"] or report["left_runs"] or report["left_tmp"])
    print(f"\n{'flat' if flat else 'NOT flat'}, {'nothing left behind' if clean else 'something left behind'}, "
          f"{'same grades for the same ghost' if not report['varied'] else 'grades varied'}")
    return 0 if flat and clean and not report["varied"] else 1


if __name__ == "__main__":
    sys.exit(main())
