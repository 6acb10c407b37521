"""Benchmark: grading a class with plain ``nbgrader autograde`` versus the harness.

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/grading_throughput.py [--per-assignment 20] [--jobs 2]
        [--assignment a02_cat_dnn] [--rounds 3]

For every assignment of the demo it builds a class of ghost students (the reference, a blank
notebook and catalogued mistakes), then, in one run on this machine:

1. grades the class with one plain, stock ``nbgrader autograde ASSIGNMENT`` (sequential), then
   makes its feedback pages with one ``nbgrader generate_feedback ASSIGNMENT``, as the harness
   does for each student;
2. grades it with the harness (``grade_class``, ``--jobs`` workers), making the workers'
   template gradebook and recording the reference's Keras calls and figures first, as the first
   class graded on a new machine (or after the course changed) does
   (``autograder/gradebook/template_cache.py``, ``autograder/sandbox/replay_store.py``;
   ``--keep-caches`` uses those an earlier run made, as every later class does);
3. executes the same notebooks bare with nbclient, ``--jobs`` at a time, with the same share
   of the cores and the same memory limit per kernel as the harness gives, for comparison: once as
   submitted, and once with the test cells as nbgrader runs them, hidden tests in (the tests'
   own work, without the sandbox, the trusted decisions and the gradebook);

and prints seconds per submission, the harness's speed-up over nbgrader, its overhead over
bare execution, the floor of any grader that runs these kernels (the notebooks' own cells, the
data cells and the student's code, as timed in the harness's kernels with ``Grading.profile``,
packed on ``--jobs`` workers without a gap: their sum over ``--jobs``, or the longest
submission's) and so the largest speed-up over nbgrader such a grader could reach and the
smallest share of nbgrader's CPU time it could use, the speed-up over nbgrader's autograde alone
and over its autograde and generate_feedback together (the harness's whole job), the peak
memory of a worker (its nbgrader process or its kernel, whichever is larger; the largest and
the reference's), how many kernels the harness forked from its kernel zygote, the harness's
timeline (the time before its first submission started, how busy its workers were, the tail
in which fewer submissions ran than there are workers, and the class packed without a gap, as
``grading_timeline.py`` reads them from the profile), and whether every score agrees. Beside
each time, the CPU time the whole machine used meanwhile, per submission, and how busy its
cores were on average (from ``/proc/stat``, where there is one): how much of the machine each
way of grading can use, and how much work it does. A script, not a test: figures on a shared
machine are noisy; compare the ratios within one run.

With ``--rounds N``, each class is graded N times each way, the ways one after another in each
round (plain, harness, bare), and the median of each ratio over the rounds is printed at the
end, with the rounds' values: a machine whose pace changes from minute to minute moves single
runs of the same code by more than some of the goals' margins.
"""
import argparse
import collections
import functools
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import course, notebook_cells  # noqa: E402
from autograder.grading import grade_class  # noqa: E402
from autograder.settings import Sandbox  # noqa: E402
from autograder.sandbox.policy import KERNEL_DEFAULTS  # noqa: E402
from autograder.worker.job import thread_settings  # noqa: E402
from autograder.worker.nbgrader_cli import nbgrader_env, put_scripts_on_path, run_nbgrader  # noqa: E402
from autograder.worker.processes import stop_fork_server  # noqa: E402
from autograder.profiling import machine_cpu  # noqa: E402
from autograder.gradebook import template_cache  # noqa: E402
from autograder.sandbox import replay_store  # noqa: E402
from autograder.sandbox.policy import cache_root  # noqa: E402
from benchmarks.grading_timeline import spans, summary  # noqa: E402
from known_submissions.ghosts import mixed_class, remove_merged, write_class  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001 (figures appear as they come)
GHOST_PREFIX = "bench-"  # the ids of the benchmark's ghost students


class CPU(str):
    """The text on the CPU time a run used ("" where the machine does not say), with
    ``per_submission``: its CPU seconds per submission (None where unknown)."""
    per_submission = None


def timed(run, count):
    """Run ``run()``; returns (its result, wall seconds, a :class:`CPU` text on the CPU time it used)."""
    before, started = machine_cpu(), time.monotonic()
    result = run()
    seconds, after = time.monotonic() - started, machine_cpu()
    if not before:  # no /proc/stat here
        return result, seconds, CPU("")
    used = after - before
    share = used / seconds / (os.cpu_count() or 1) if seconds else 0.0
    cpu = CPU(f"  [CPU {used / count:.2f} s/submission, cores {share:.0%} busy]")
    cpu.per_submission = used / count
    return result, seconds, cpu


def plain_nbgrader(assignment, submissions, scratch, count):
    """Seconds for one stock ``nbgrader autograde`` with the course's configuration (the sandbox and
    the tests decided outside the kernel, as for the harness), its scores {student: score}, the
    text on the CPU time it used for ``count`` submissions, then the seconds and CPU text of one
    ``nbgrader generate_feedback`` for them all: the feedback pages the harness also makes."""
    from nbgrader.api import Gradebook

    course = scratch / "plain"
    shutil.copytree(ROOT / "source" / assignment, course / "source" / assignment)
    shutil.copytree(submissions, course / "submitted")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    env = {"NBGRADER_DB_URL": db_url}
    run_nbgrader("generate_assignment", assignment, "--force", cwd=course, env=env)
    # The course's nbgrader_config.py imports autograder/: without it on the path, nbgrader would
    # skip the configuration and grade the stock way, a different grading.
    stock = dict(os.environ, **env, PATH=nbgrader_env()["PATH"], PYTHONPATH=nbgrader_env()["PYTHONPATH"])
    stock.pop("NBGRADER_ALEMBIC_HEAD", None)
    result, seconds, cpu = timed(lambda: subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"],
        cwd=course, env=stock, capture_output=True, text=True), count)
    if result.returncode != 0:
        print(f"  (nbgrader autograde exited {result.returncode})")
    if "nbgrader_config.py" in result.stderr and "Traceback" in result.stderr:
        raise SystemExit(f"plain nbgrader could not load the course's configuration:\n{result.stderr[-2000:]}")
    with Gradebook(db_url) as gradebook:
        scores = {s.student.id: s.score for s in gradebook.assignment_submissions(assignment)}
    feedback, feedback_seconds, feedback_cpu = timed(lambda: subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--force"],
        cwd=course, env=stock, capture_output=True, text=True), count)
    if feedback.returncode != 0:
        print(f"  (nbgrader generate_feedback exited {feedback.returncode})")
    return seconds, scores, cpu, feedback_seconds, feedback_cpu


def execute_bare(path, cwd, threads, memory_mb, tests=None):
    """Execute the notebook at ``path``; with ``tests`` ({grade id: source} of the instructor's
    test cells), its test cells are first given that source, hidden tests included, as nbgrader
    runs them."""
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    # The kernel's memory limit of the other two gradings (the sandbox's address-space limit):
    # without it, a mistake that builds a 12288 x 12288 matrix swaps until the cell times out.
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    notebook = nbformat.read(str(path), as_version=4)
    if tests:
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") in tests and cell.cell_type == "code":
                cell.source = tests[cell.metadata["nbgrader"]["grade_id"]]
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    os.environ.update(thread_settings(threads))  # the kernels' share of the cores, as the harness gives
    for name, value in KERNEL_DEFAULTS.items():  # and NumPy's settings, as the course's kernels get them
        os.environ.setdefault(name, value)
    # IPC sockets, as the harness's kernels use: no network, and no kernel's warning that TCP is
    # unencrypted on every start.
    sockets = tempfile.mkdtemp(prefix="bare-ipc-")
    ipc = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}})
    try:
        NotebookClient(notebook, timeout=60, kernel_name="python3", allow_errors=True, config=ipc,  # as nbgrader's Execute
                       interrupt_on_timeout=True, error_on_timeout={"ename": "CellTimeoutError", "evalue": "",
                                                                    "traceback": []},
                       shutdown_kernel="immediate",  # as the course's nbgrader_config.py
                       resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def bare_nbclient(assignment, submissions, scratch, jobs, hidden_tests=False):
    """Seconds to execute every submitted notebook bare (no grading), ``jobs`` at a time; with
    ``hidden_tests``, with the test cells as nbgrader runs them (the hidden tests in)."""
    folder = scratch / ("bare-hidden" if hidden_tests else "bare")
    shutil.copytree(ROOT / "source" / assignment, folder)
    tests = notebook_cells.cells_by_role(notebook_cells.read(assignment), "test") if hidden_tests else None
    notebooks = sorted(Path(submissions).glob(f"*/{assignment}/{assignment}.ipynb"))
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        threads = [max(1, (os.cpu_count() or 1) // jobs)] * len(notebooks)
        memory = [Sandbox().memory_mb] * len(notebooks)
        list(pool.map(execute_bare, notebooks, [folder] * len(notebooks), threads, memory,
                      [tests] * len(notebooks)))
    return time.monotonic() - started


def notebook_cells_seconds(records):
    """{student: wall seconds of the notebook's own cells in the kernel} from the records of a
    ``Grading.profile`` file: the cells that set up and load data and the student's cells, not the
    kernel's start and stop, nor the test cells (decided by the grader)."""
    seconds = collections.defaultdict(float)
    for record in records:
        if record["stage"] in ("setup and data cells", "student's cells"):
            seconds[record["student"]] += record["wall_s"]
    return seconds


def one_round(assignment, args, students):
    """Grade the class ``students`` of ``assignment`` each way once, printing the figures as they
    come; returns {figure: value} of the ratios the goals are read from."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        scratch = Path(scratch)
        submissions = scratch / "submitted"
        write_class(assignment, submissions, students)
        count = len(students)
        try:
            return _round(assignment, args, scratch, submissions, count)
        finally:
            remove_merged(students)  # the harness merged these ghosts into the course's folders


def _round(assignment, args, scratch, submissions, count):
    plain_seconds, plain_scores, plain_cpu, feedback_seconds, feedback_cpu = plain_nbgrader(
        assignment, submissions, scratch, count)
    print(f"  plain nbgrader autograde: {plain_seconds:7.1f} s  ({plain_seconds / count:.2f} s/submission){plain_cpu}")
    print(f"  then plain nbgrader generate_feedback: {feedback_seconds:7.1f} s  "
          f"({feedback_seconds / count:.2f} s/submission){feedback_cpu}")

    os.environ["NBGRADER_DB_URL"] = f"sqlite:///{scratch / 'harness.db'}"
    # Like plain nbgrader's above, the harness's course gradebook knows the assignment before
    # the clock starts, as an instructor's does once the assignment is released. A command of
    # its own, as for plain nbgrader: gradebook.records.record_assignment would start the
    # harness's fork server before the clock, and its start belongs to the harness's time.
    recorded = run_nbgrader("generate_assignment", assignment, "--force",
                            f"--CourseDirectory.release_directory={scratch / 'harness-release'}",
                            env={"NBGRADER_DB_URL": os.environ["NBGRADER_DB_URL"]})
    if recorded.returncode != 0:
        raise SystemExit(f"could not record {assignment} in the harness's gradebook:\n{recorded.stderr[-2000:]}")
    if not args.keep_caches:
        for recording in (cache_root() / replay_store.FOLDER).glob(f"{assignment}-*"):
            shutil.rmtree(recording, ignore_errors=True)
        for template in (cache_root() / template_cache.FOLDER).glob(f"{assignment}-*"):
            template.unlink(missing_ok=True)
    template_kept = template_cache.kept(assignment) is not None
    stats = {}
    profile = scratch / "profile.jsonl"
    # The harness starts its own fork server, as a new command does: one left running by the
    # round before would spare it that start (about 2.6 s of an a02 class of 20 here).
    stop_fork_server()
    started = time.time()
    results, harness_seconds, cpu = timed(lambda: grade_class(assignment, submissions, scratch / "out",
                                                              jobs=args.jobs, show_progress=False,
                                                              stats=stats,
                                                              settings=(f"--Grading.profile={profile}",)),
                                          count)
    print(f"  harness --jobs {args.jobs}:        {harness_seconds:7.1f} s  "
          f"({harness_seconds / count:.2f} s/submission){cpu}")
    harness_cpu = cpu
    print(f"  workers' template gradebook {'kept by an earlier run' if template_kept else 'made in this run'}")
    if stats.get("keras_replay"):
        print(f"  Keras calls and figures replayed from the reference's, "
              f"{'recorded in this run' if stats['keras_recorded'] else 'recorded by an earlier run'}")

    bare_seconds, _, cpu = timed(lambda: bare_nbclient(assignment, submissions, scratch, args.jobs), count)
    print(f"  bare nbclient, {args.jobs} at a time: {bare_seconds:7.1f} s  "
          f"({bare_seconds / count:.2f} s/submission){cpu}")
    hidden_seconds, _, cpu = timed(lambda: bare_nbclient(assignment, submissions, scratch, args.jobs,
                                                         hidden_tests=True), count)
    print(f"  bare nbclient, {args.jobs} at a time, hidden tests in: {hidden_seconds:7.1f} s  "
          f"({hidden_seconds / count:.2f} s/submission){cpu}")

    records = [json.loads(line) for line in profile.read_text(encoding="utf-8").splitlines()]
    cells = notebook_cells_seconds(records)
    floor = max(sum(cells.values()) / args.jobs, max(cells.values(), default=0.0))
    if floor > 0:
        print(f"  floor (the notebooks' own cells, {sum(cells.values()) / count:.2f} s/submission, "
              f"on {args.jobs} workers without a gap): {floor:7.1f} s")
        print(f"  harness over its floor:   {harness_seconds / floor:.2f}x")
        print(f"  largest speed-up over nbgrader at that floor: {plain_seconds / floor:.2f}x")
        if plain_cpu.per_submission:
            # The cells ran one thread each: their wall seconds are about their CPU seconds.
            print(f"  smallest CPU share of nbgrader's at that floor: "
                  f"{sum(cells.values()) / count / plain_cpu.per_submission:.0%}")
    else:
        print("  floor: no notebook cell was timed (every grading failed before its cells)")
    facts = summary(spans(records, started), harness_seconds, args.jobs)
    if facts:  # benchmarks/grading_timeline.py prints the whole timeline
        print(f"  harness's timeline: {facts['before_first']:.1f} s before the first submission started, "
              f"workers {facts['busy']:.0%} busy, a tail of {facts['tail']:.1f} s with fewer submissions "
              f"than workers (the last: {facts['last_student']}, {facts['last_seconds']:.1f} s); packed without "
              f"a gap: {facts['packed']:.1f} s, a speed-up over nbgrader of {plain_seconds / facts['packed']:.2f}x")
    agree = all(plain_scores.get(r.student_id) == r.score for r in results)
    largest = max(results, key=lambda r: r.peak_memory_mb)
    reference = next((r for r in results if r.student_id == f"{GHOST_PREFIX}reference"), largest)
    figures = {"speed-up": plain_seconds / harness_seconds, "over bare": harness_seconds / bare_seconds,
               "scores agree": agree}
    print(f"  speed-up over nbgrader:   {figures['speed-up']:.2f}x")
    both = plain_seconds + feedback_seconds
    print(f"  speed-up over nbgrader's autograde and generate_feedback (the harness's whole job): "
          f"{both / harness_seconds:.2f}x")
    if plain_cpu.per_submission and harness_cpu.per_submission:
        figures["CPU share"] = harness_cpu.per_submission / plain_cpu.per_submission
        print(f"  CPU per submission against nbgrader's: {figures['CPU share']:.0%} "
              f"of autograde's, "
              f"{harness_cpu.per_submission / (plain_cpu.per_submission + (feedback_cpu.per_submission or 0)):.0%} "
              f"of autograde's and generate_feedback's")
    print(f"  overhead over bare:       {figures['over bare']:.2f}x  "
          f"(over bare with the hidden tests in: {harness_seconds / hidden_seconds:.2f}x)")
    print(f"  peak memory of a worker's processes: {largest.peak_memory_mb:.0f} MiB "
          f"({largest.student_id}; the reference's: {reference.peak_memory_mb:.0f} MiB)")
    print(f"  kernels forked from the kernel zygote: {stats.get('kernels_forked', 0)} of "
          f"{count + bool(stats.get('keras_recorded'))} "
          f"(its own peak memory: {stats.get('zygote_peak_mb', 0):.0f} MiB)")
    print(f"  scores agree with nbgrader: {'yes' if agree else 'NO'}")
    if not agree:
        for r in results:
            if plain_scores.get(r.student_id) != r.score:
                print(f"    {r.student_id}: harness {r.score}, nbgrader {plain_scores.get(r.student_id)}")
    return figures


def print_medians(assignment, rounds):
    """The median of each ratio over the rounds of ``assignment``, with the range it came from."""
    print(f"\n{assignment}: medians of {len(rounds)} rounds (each round: plain, harness, bare, one after another)")
    for name, shown in (("speed-up", "{:.2f}x"), ("over bare", "{:.2f}x"), ("CPU share", "{:.0%}")):
        values = sorted(r[name] for r in rounds if name in r)
        if values:
            print(f"  {name + ':':11} {shown.format(statistics.median(values))}  "
                  f"(rounds: {', '.join(shown.format(v) for v in values)})")
    print(f"  scores agree with nbgrader in every round: {'yes' if all(r['scores agree'] for r in rounds) else 'NO'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-assignment", type=int, default=20, help="ghost students per assignment")
    parser.add_argument("--jobs", type=int, default=2, help="harness workers")
    parser.add_argument("--assignment", action="append", choices=course.assignment_ids(),
                        help="only this assignment (repeat for several; default: all)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="grade each class this many times each way, one way after another, and print "
                             "the median of each ratio (default: 1)")
    parser.add_argument("--keep-caches", "--keep-recordings", action="store_true", dest="keep_caches",
                        help="keep the workers' template gradebook and the Keras calls and figures recorded "
                             "from the reference by an earlier run (default: forget them, so that the harness's "
                             "time includes making them, as on a new machine)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    put_scripts_on_path()
    print(f"cores: {os.cpu_count()}, harness jobs: {args.jobs}")
    graded = []  # (assignment, its rounds' figures)
    for assignment in args.assignment or course.assignment_ids():
        students = mixed_class(assignment, args.per_assignment, GHOST_PREFIX)
        rounds = []
        for number in range(1, args.rounds + 1):
            print(f"\n{assignment}: {len(students)} submissions"
                  + (f", round {number} of {args.rounds}" if args.rounds > 1 else ""))
            rounds.append(one_round(assignment, args, students))
        graded.append((assignment, rounds))
    if args.rounds > 1:
        for assignment, rounds in graded:
            print_medians(assignment, rounds)


if __name__ == "__main__":
    main()
