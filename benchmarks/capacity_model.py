"""The capacity model: how many grading cores a class of 10,000 students x 4 assignments needs to
be graded within one hour, from the measured core-seconds per submission of each assignment.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/capacity_model.py [--students 4]
        [--assignment a01_santa_logreg ...] [--merges-per-second 40] [--out benchmarks/capacity.md]

For each assignment it grades a small class of ghost students (the first ``--students`` answered
ones of the manifest's demo class: the reference and catalogued mistakes) with the harness, one
submission per core (``--jobs`` = the cores: each kernel gets one core's worth of BLAS and
TensorFlow threads), once with the kernel zygote and once without (``--Sandbox.zygote=False``).
A submission's ``seconds`` is then the core-seconds it
occupies. From the mean per assignment it writes a short Markdown document (``--out``) with its
assumptions stated: the share of submissions that run to their time limit, the share graded
again after a failure of the grader, how busy the cores can be kept, and the gradebook merges
the coordinator must sustain (compared with ``benchmarks/coordinator_throughput.py``'s figure,
when given). ``--from FILE.json`` rebuilds the document from measurements saved earlier (each
run saves them beside ``--out``). Figures on a shared machine are high: the document records
the machine's load while it measured.
"""
import argparse
import contextlib
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import course  # noqa: E402
from autograder.grading import grade_class  # noqa: E402
from autograder.settings import Grading, course_config  # noqa: E402
from known_submissions.ghosts import demo_class, remove_merged, write_class  # noqa: E402

STUDENTS, ASSIGNMENTS_PER_STUDENT, HOURS = 10_000, 4, 1.0
ASSUMPTIONS = dict(
    timeout_share=0.005,   # submissions that run until Grading.timeout stops them (an endless loop)
    retry_share=0.01,      # submissions graded a second time after the grader failed (a worker lost)
    utilisation=0.85,      # share of each core's hour spent grading (scheduling, the slow tail, start-up)
)
PREFIX = "capacity-"  # student ids of the measured class, so that it never meets another class's


def measure(assignment, students, zygote):
    """Core-seconds of each graded submission of a small ghost class of ``assignment``."""
    answered = [(student, answers) for student, answers in demo_class(assignment).items() if answers is not None]
    chosen = dict(answered[:students])  # blank notebooks, quick to grade, would make the mean look low
    ids = {f"{PREFIX}{student}": answers for student, answers in chosen.items()}
    with tempfile.TemporaryDirectory(prefix="capacity-") as work:
        work = Path(work)
        write_class(assignment, work / "submitted", ids)
        os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                results = grade_class(assignment, work / "submitted", work / "out", jobs=os.cpu_count() or 1,
                                      show_progress=False, force=True, settings=[f"--Sandbox.zygote={zygote}"])
        finally:
            remove_merged(ids)
    return [r.seconds for r in results if r.status == "graded"]


def measure_all(assignments, students):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    measured = {}
    for assignment in assignments:
        measured[assignment] = {}
        for zygote in (True, False):
            started = time.monotonic()
            seconds = measure(assignment, students, zygote)
            measured[assignment]["zygote" if zygote else "fresh"] = seconds
            print(f"{assignment} ({'zygote' if zygote else 'fresh kernels'}): "
                  f"{statistics.mean(seconds):.1f} core-s per submission over {len(seconds)} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    return dict(measured=measured, cores=os.cpu_count(), load_before=load,
                load_after=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))


def cores_needed(mean_seconds, timeout):
    """Cores to grade every student's submission of each assignment within the hour."""
    a = ASSUMPTIONS
    per_submission = [(1 + a["retry_share"]) * s + a["timeout_share"] * timeout for s in mean_seconds]
    core_seconds = STUDENTS * sum(per_submission)
    return math.ceil(core_seconds / (HOURS * 3600 * a["utilisation"])), core_seconds


def document(data, merges_per_second=None):
    """The capacity document (Markdown) for the measurements ``data``."""
    timeout = Grading(config=course_config(ROOT)).timeout
    measured = data["measured"]
    lines = [
        "<!-- generated by benchmarks/capacity_model.py from measured grading times: run it again, do not edit -->",
        "# Capacity: 10,000 students x 4 assignments graded within one hour",
        "",
        f"Measured {data['date']} on a machine of {data['cores']} cores (load average "
        f"{data['load_before']:.1f} before, {data['load_after']:.1f} after: other work shared the cores, "
        "so these times are high), one submission per core, a small ghost class per assignment.",
        "",
        "| assignment | core-s per submission, zygote | core-s, fresh kernels |",
        "|---|---:|---:|",
    ]
    for assignment, modes in measured.items():
        lines.append(f"| `{assignment}` | {statistics.mean(modes['zygote']):.1f} (n={len(modes['zygote'])}) "
                     f"| {statistics.mean(modes['fresh']):.1f} (n={len(modes['fresh'])}) |")
    lines += ["", "| kernels | core-hours | cores (workers of one thread) needed for one hour |", "|---|---:|---:|"]
    for mode, name in (("zygote", "forked from the zygote"), ("fresh", "started afresh (`--Sandbox.zygote=False`)")):
        cores, core_seconds = cores_needed([statistics.mean(m[mode]) for m in measured.values()], timeout)
        lines.append(f"| {name} | {core_seconds / 3600:,.0f} | **{cores:,}** |")
    missing = ASSIGNMENTS_PER_STUDENT - len(measured)
    merges = STUDENTS * len(measured) / (HOURS * 3600)
    lines += [
        "",
        "Assumptions:",
        f"- {STUDENTS:,} submissions of each measured assignment, all handed in at once"
        + (f" ({missing} of the course's {ASSIGNMENTS_PER_STUDENT} assignments not measured: add them with "
           "`--assignment`)" if missing else "") + "; grading mode (small data subsets), as measured above.",
        f"- {ASSUMPTIONS['timeout_share']:.1%} of submissions run until their time limit "
        f"(`Grading.timeout` = {timeout:g} s; a cell is interrupted after `Execute.timeout`).",
        f"- {ASSUMPTIONS['retry_share']:.1%} of submissions are graded a second time, whole, after a failure "
        "of the grader (a worker lost, a process killed by the machine).",
        f"- Cores are busy grading {ASSUMPTIONS['utilisation']:.0%} of the hour (scheduling, the slow tail, "
        "workers starting).",
        "- One grading thread per core (`dask worker --nthreads 1 --nworkers <cores>`); memory: the "
        "sandbox's limit (`Sandbox.memory_mb`, 4 GiB) per core at most.",
        f"- The coordinator merges {merges:.1f} results per second on average"
        + (f"; measured: {merges_per_second:g} merges per second (benchmarks/coordinator_throughput.py), "
           + ("enough." if merges_per_second >= merges else "not enough: the coordinator would set the pace.")
           if merges_per_second else "; compare with benchmarks/coordinator_throughput.py."),
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", action="append", help="measure this one (repeat); default: all")
    parser.add_argument("--students", type=int, default=4, help="ghost students graded per assignment and mode")
    parser.add_argument("--merges-per-second", type=float, default=None,
                        help="the coordinator's figure from benchmarks/coordinator_throughput.py")
    parser.add_argument("--from", dest="source", help="measurements saved by an earlier run (JSON)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "capacity.md"), help="the document written")
    args = parser.parse_args()
    out = Path(args.out)
    if args.source:
        data = json.loads(Path(args.source).read_text(encoding="utf-8"))
    else:
        data = measure_all(args.assignment or course.assignment_ids(), args.students)
        out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    out.write_text(document(data, args.merges_per_second), encoding="utf-8")
    print(f"\n{out}:\n\n{out.read_text(encoding='utf-8')}")


if __name__ == "__main__":
    main()
