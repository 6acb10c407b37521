"""Timeline: when each submission of a class ran, with the harness's workers side by side.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/grading_timeline.py [--assignment a01_santa_logreg]
        [--per-assignment 20] [--jobs 2]

It grades a class of ghost students (the reference, a blank notebook and catalogued mistakes, as
``grading_throughput.py`` does) with ``--jobs`` workers and ``Grading.profile`` set, then prints,
for each submission in the order it started: when its worker began it and ended it, in seconds
from the start of the class (the gate's copy, ``nbgrader autograde`` and ``generate_feedback``:
``autograder/profiling.py`` records when each stage started), and how long autograde and the
feedback took. Then, for the class:

- the time before the first submission started (the fork server, the kernel zygote, the
  gradebooks) and after the last one ended (the class's feedback pages, grades.csv);
- how busy the workers were while submissions were graded: the sum of the submissions' times
  over ``--jobs`` times the span from the first start to the last end;
- the tail: how long, at the end, fewer submissions ran than there are workers, and which
  submission ran last;
- the class's time had its submissions been packed on the workers without a gap: the time before
  the first and after the last, plus the sum of their times over ``--jobs`` (or the longest one).

A single long submission graded near the end of the queue leaves workers idle while it runs:
a first grading has no earlier times to start the longest first (``autograder/resume.py``), so
the timeline shows what that order cost. A script, not a test: figures on a shared machine are
noisy.
"""
import argparse
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

from autograder.grading import grade_class  # noqa: E402
from known_submissions.ghosts import mixed_class, remove_merged, write_class  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001
PREFIX = "timeline-"
# The stages a worker spends on one submission, one after another.
WORKER_STAGES = ("the gate's copy of the submission", "nbgrader autograde", "nbgrader generate_feedback")


def spans(records, started):
    """{student: (start, end, {stage: seconds})} from the profile's records, in seconds from
    ``started`` (the epoch time the class began): the span of the worker's stages of each."""
    found = {}
    for record in records:
        if record.get("stage") not in WORKER_STAGES or "start" not in record:
            continue
        begin = record["start"] - started
        end = begin + record["wall_s"]
        first, last, stages = found.get(record["student"], (begin, end, {}))
        stages[record["stage"]] = stages.get(record["stage"], 0.0) + record["wall_s"]
        found[record["student"]] = (min(first, begin), max(last, end), stages)
    return found


def summary(found, total, jobs):
    """What the timeline says of the class: a dict of seconds and shares (see the module's text)."""
    if not found:
        return {}
    first = min(begin for begin, _, _ in found.values())
    last = max(end for _, end, _ in found.values())
    lengths = [end - begin for begin, end, _ in found.values()]
    grading = last - first
    # The tail: from the end of the last stretch in which every worker had a submission (or every
    # submission ran, in a class smaller than the workers) to the last end.
    need = min(jobs, len(found))
    events = [(begin, 1) for begin, _, _ in found.values()] + [(end, -1) for _, end, _ in found.values()]
    running, previous, full_until = 0, first, first
    for moment, change in sorted(events):
        if running >= need and moment > previous:  # a stretch of no length (one ends as one begins) is not one
            full_until = moment
        running, previous = running + change, moment
    latest = max(found, key=lambda student: found[student][1])
    packed = first + (total - last) + max(sum(lengths) / jobs, max(lengths))
    return {"before_first": first, "after_last": total - last, "grading": grading,
            "busy": sum(lengths) / (jobs * grading) if grading > 0 else 1.0,
            "tail": last - full_until, "last_student": latest, "last_seconds": found[latest][1] - found[latest][0],
            "packed": packed, "total": total}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="a01_santa_logreg")
    parser.add_argument("--per-assignment", type=int, default=20, help="ghost students")
    parser.add_argument("--jobs", type=int, default=2, help="harness workers")
    options = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="timeline-"))
    students = mixed_class(options.assignment, options.per_assignment, PREFIX)
    write_class(options.assignment, work / "submitted", students)
    os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
    log = work / "profile.jsonl"
    started, wall = time.time(), time.monotonic()
    try:
        results = grade_class(options.assignment, work / "submitted", work / "out", jobs=options.jobs,
                              show_progress=False, settings=(f"--Grading.profile={log}",))
        total = time.monotonic() - wall
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    finally:
        remove_merged(students)
        shutil.rmtree(work, ignore_errors=True)
    found = spans(records, started)
    scores = {r.student_id: f"{r.status} {r.score:g}" for r in results}
    print(f"\n{options.assignment}: {len(results)} submissions, {options.jobs} workers; seconds from the class's start")
    print(f"{'start':>7} {'end':>7} {'time':>6} {'autograde':>9} {'feedback':>8}  student")
    for student, (begin, end, stages) in sorted(found.items(), key=lambda item: item[1][0]):
        print(f"{begin:7.2f} {end:7.2f} {end - begin:6.2f} {stages.get('nbgrader autograde', 0.0):9.2f} "
              f"{stages.get('nbgrader generate_feedback', 0.0):8.2f}  {student.removeprefix(PREFIX)} "
              f"({scores.get(student, '?')})")
    facts = summary(found, total, options.jobs)
    if not facts:
        print("no submission was graded")
        return 1
    print(f"class: {facts['total']:.2f} s; before the first submission started: {facts['before_first']:.2f} s; "
          f"after the last ended: {facts['after_last']:.2f} s")
    print(f"workers busy while submissions were graded: {100 * facts['busy']:.0f} %")
    print(f"tail (fewer submissions than workers, at the end): {facts['tail']:.2f} s; the last to end: "
          f"{facts['last_student'].removeprefix(PREFIX)} ({facts['last_seconds']:.2f} s)")
    print(f"packed without a gap, the class would have taken {facts['packed']:.2f} s "
          f"({100 * (1 - facts['packed'] / facts['total']):.0f} % less)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
