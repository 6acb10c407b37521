"""Profile: where a submission's time and CPU go, stage by stage, for each assignment.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/profile_grading.py [--per-assignment 4]
        [--assignment a01_santa_logreg ...] [--setting=--Sandbox.decoded_data= ...]

For each assignment it grades a class of ghost students (the reference, a blank notebook and
catalogued mistakes) with the harness, one submission at a time (``--jobs 1``), in grading mode,
with ``Grading.profile`` set: each stage appends its wall seconds, the CPU seconds of the process
that timed it and the CPU seconds of the whole machine meanwhile (``autograder/profiling.py``).
With one submission at a time on an otherwise quiet machine, the machine's CPU less the timing
process's is the other processes' work in that stage: for the cells, the student's kernel.

It prints, per submission (the mean over the class):

- the gate's copy of the submission (the worker);
- ``nbgrader autograde``, split into its kernel's start, the notebook's setup and data cells
  (before the first answer), the student's cells, the test cells (decided in the grading process,
  the kernel answering calls), the kernel's stop, the rest of the run (nbclient's own work
  around the cells), and nbgrader's work before and after the run (its process, conversion and
  its gradebook);
- ``nbgrader generate_feedback`` (the worker);
- the coordinator's gradebook merge, and its share of the class's feedback pages;
- its share of recording the reference's Keras calls and figures, where this machine had no
  recording yet (``autograder/sandbox/replay_store.py``);
- what is left of the class's time (the coordinator's setup: fork server, kernel zygote, template
  gradebook), spread over its submissions.

A script, not a test: figures on a shared machine are noisy; compare within one run.
"""
import argparse
import collections
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import course  # noqa: E402
from autograder.grading import grade_class  # noqa: E402
from autograder.profiling import machine_cpu  # noqa: E402
from known_submissions.ghosts import mixed_class, remove_merged, write_class  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
PREFIX = "profile-"
RUN = "notebook run in all (kernel start and stop, cells)"
IN_RUN = ("kernel start", "setup and data cells", "student's cells", "test cells", "kernel stop")
ROWS = (  # (label, how it is found), in the order printed
    ("gate: copy of the submission", "the gate's copy of the submission"),
    ("nbgrader autograde, in all", "nbgrader autograde"),
    ("  kernel start", "kernel start"),
    ("  setup and data cells", "setup and data cells"),
    ("  student's cells", "student's cells"),
    ("  test cells (decided outside)", "test cells"),
    ("  kernel stop", "kernel stop"),
    ("  rest of the run", "=rest of run"),
    ("  nbgrader before and after", "=nbgrader around"),
    ("nbgrader generate_feedback", "nbgrader generate_feedback"),
    ("gradebook merge (coordinator)", "gradebook merge"),
    ("class feedback pages (share)", "the class's feedback pages"),
    ("reference's recording (share)", "the reference's Keras calls and figures recorded"),
    ("coordinator's setup and waits", "=other"),
    ("in all", "=class"),
)


def profile(assignment, size, settings=()):
    """{row label: (wall, machine CPU, timing process's CPU) per submission}, and the class's size."""
    work = Path(tempfile.mkdtemp(prefix="profile-"))
    students = mixed_class(assignment, size, PREFIX)
    write_class(assignment, work / "submitted", students)
    os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
    log = work / "profile.jsonl"
    wall, machine = time.monotonic(), machine_cpu()
    try:
        results = grade_class(assignment, work / "submitted", work / "out", jobs=1, show_progress=False,
                              settings=(*settings, f"--Grading.profile={log}"))
    finally:
        remove_merged(students)
    class_wall, class_machine = time.monotonic() - wall, machine_cpu() - machine
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    shutil.rmtree(work, ignore_errors=True)
    n = len(results)
    sums = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    for record in records:
        total = sums[record["stage"]]
        total[0] += record["wall_s"]
        total[1] += record["machine_cpu_s"]
        total[2] += record["cpu_s"]

    def minus(a, *others):
        return [a[i] - sum(o[i] for o in others) for i in range(3)]

    run = sums[RUN]
    derived = {
        "=rest of run": minus(run, *(sums[s] for s in IN_RUN)),
        "=nbgrader around": minus(sums["nbgrader autograde"], run),
        "=class": [class_wall, class_machine, 0.0],
    }
    top = [sums[s] for s in ("the gate's copy of the submission", "nbgrader autograde", "nbgrader generate_feedback",
                             "gradebook merge", "the class's feedback pages",
                             "the reference's Keras calls and figures recorded")]
    derived["=other"] = minus(derived["=class"], *top)
    # Rows found by subtraction across processes have no one timing process: no "grader" CPU.
    for key in ("=nbgrader around", "=other", "=class"):
        derived[key][2] = float("nan")
    table = {}
    for label, key in ROWS:
        value = derived[key] if key.startswith("=") else sums[key]
        table[label] = [v / n for v in value]
    scores = {r.student_id: (r.status, r.score) for r in results}
    return table, n, scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-assignment", type=int, default=4, help="ghost students per assignment")
    parser.add_argument("--assignment", action="append", help="only these (default: every assignment)")
    parser.add_argument("--setting", action="append", default=[],
                        help="a --Class.trait=value setting for the harness (e.g. --setting=--Sandbox.decoded_data= "
                             "to profile without the data decoded once per class)")
    options = parser.parse_args(argv)
    assignments = options.assignment or course.assignment_ids()
    for assignment in assignments:
        table, n, scores = profile(assignment, options.per_assignment, tuple(options.setting))
        print(f"\n{assignment}: {n} submissions, one at a time; seconds per submission")
        print(f"{'stage':34} {'wall':>7} {'CPU':>7} {'grader':>7} {'others':>7}")
        for label, (wall, machine, own) in table.items():
            if own != own:  # NaN: found by subtraction across processes
                print(f"{label:34} {wall:7.2f} {machine:7.2f} {'-':>7} {'-':>7}")
            else:
                print(f"{label:34} {wall:7.2f} {machine:7.2f} {own:7.2f} {machine - own:7.2f}")
        print("  CPU: the whole machine's; grader: the process that timed the stage (the worker, nbgrader's "
              "process or the coordinator); others: CPU - grader (the kernel, in the cells)")
        print("  scores: " + ", ".join(f"{s.removeprefix(PREFIX)} {st} {sc:g}" for s, (st, sc) in sorted(scores.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
