"""Does a class graded on a Dask cluster of separate processes, started as an operator would start
one, score as it does on one machine, and does it survive a worker killed in mid-batch?

The scheduler and the workers are the ``dask scheduler`` and ``dask worker`` commands, on
127.0.0.1, started as the README's "Grading on a cluster" says, each from a copy of the course
that it sees read-only (a mount namespace of its own, where the copy is bound read-only, as a
shared file system would give it). The workers run as root, or each as a Unix user of its own
with a scratch folder of its own. The coordinator is the command line, from this course.
"""
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.cluster.local_cluster import WORKER_UID, LocalCluster
from autograder.sandbox.policy import bwrap_problem, sandbox_mode
from known_submissions.ghosts import demo_class, write_class

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a01_santa_logreg"
CLASS = {"cluster-reference": {}, "cluster-blank": None, "cluster-sigmoid-sign": {"propagate": "sigmoid_sign"}}
COPIED = ("autograder", "assignments", "coursekit", "nbgrader_config.py", f"source/{ASSIGNMENT}",
          f"release/{ASSIGNMENT}")

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_bwrap]


def read_grades(out):
    with open(Path(out) / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def scores(rows):
    return {row["student_id"]: (row["status"], float(row["score"])) for row in rows}


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    """A copy of the course's files that grading a01 needs, as the workers' machines would hold it."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount for the workers' course needs root")
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("unshare and mount (util-linux) are needed for the read-only course")
    if sandbox_mode("bwrap") != "bwrap":  # the workers' kernel zygotes need the sandbox
        pytest.skip(f"bubblewrap cannot run here: {bwrap_problem()}")
    copy = tmp_path_factory.mktemp("workers-course") / "course"
    for part in COPIED:
        source, target = ROOT / part, copy / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return copy


def cluster(course, logs, data, **options):
    return LocalCluster(logs, data, course=course, **options)


def grade_command(submissions, out, *options):
    return [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(submissions), "--out", str(out), *options]


def grading_env(work, data_cache):
    return {**os.environ, "COURSE_DATA_DIR": str(data_cache), "NBGRADER_DB_URL": f"sqlite:///{work / 'gradebook.db'}"}


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster-class") / "submitted"
    write_class(ASSIGNMENT, folder, CLASS)
    yield folder
    for student in CLASS:  # what the coordinator merged into this course
        for kind in ("autograded", "feedback"):
            shutil.rmtree(ROOT / kind / student, ignore_errors=True)


@pytest.fixture(scope="module")
def local_grades():
    """The class's grades on one machine: those of the same ghosts in the demo class's golden file
    (tests/golden/), which test_grading_end_to_end checks against the command line's grading on one
    machine."""
    with open(ROOT / "tests" / "golden" / f"{ASSIGNMENT}_class.csv", newline="", encoding="utf-8") as handle:
        golden = scores(csv.DictReader(handle))
    demo = demo_class(ASSIGNMENT)
    return {student: golden[next(ghost for ghost, given in demo.items() if given == answers)]
            for student, answers in CLASS.items()}


def test_a_class_graded_on_a_cluster_started_by_the_dask_commands_scores_as_on_one_machine(
        tmp_path, course_copy, submitted, local_grades, data_cache):
    from autograder.cluster.remote_job import zygote_stats
    from autograder.worker.processes import fork_server_running

    with cluster(course_copy, tmp_path / "logs", data_cache, workers=2) as started:
        done = subprocess.run(grade_command(submitted, tmp_path / "out", "--scheduler", started.address), cwd=ROOT,
                              env=grading_env(tmp_path, data_cache), capture_output=True, text=True, timeout=900)
        worker_log = started.log("worker-0")
        per_worker = started.client().run(zygote_stats)
        fork_servers = started.client().run(fork_server_running)
        afresh = [line for name in ("worker-0", "worker-1") for line in started.log(name).splitlines()
                  if "did not come from the zygote" in line]
        # a worker lost and started again (its zygote with it) counts only its new kernels
        comings = [line for line in started.log("scheduler").splitlines()
                   if "Register worker" in line or "Remove worker" in line]
    assert done.returncode == 0, done.stdout + done.stderr
    # each kernel forked from its worker's zygote (the feedback's too, where it runs one); where
    # one was not, the worker's log says why (worker/job.py)
    forked = sum(stats["kernels_forked"] for stats in per_worker.values())
    assert forked >= len(CLASS) and not afresh, (per_worker, afresh, comings, done.stdout[-3000:])
    # each worker (a daemonic process, as its nanny starts it) forks its nbgrader processes from a server
    assert list(fork_servers.values()) == [True, True]
    assert f"grading worker: course {course_copy}" in worker_log
    assert "grading worker WITHOUT TLS" in worker_log  # the README's tcp:// commands: anyone who reaches it runs code
    assert "reached without TLS" in done.stderr
    graded = scores(read_grades(tmp_path / "out"))
    assert graded == local_grades
    assert graded["cluster-reference"] == ("graded", 13.0) and graded["cluster-blank"] == ("graded", 0.0)
    assert 0 < graded["cluster-sigmoid-sign"][1] < 13


def test_workers_each_a_user_of_their_own_with_their_own_scratch_score_as_on_one_machine(
        tmp_path, course_copy, submitted, local_grades, data_cache):
    """Issue 21's workers: each a Unix user of its own (no privileges: its kernels get a user
    namespace and start afresh), with a scratch folder of its own that the other cannot open."""
    from autograder.sandbox.policy import cache_root
    from autograder.sandbox.shared_data import FOLDER

    with cluster(course_copy, tmp_path / "logs", data_cache, workers=2, worker_users=True,
                 shared=[submitted]) as started:
        done = subprocess.run(grade_command(submitted, tmp_path / "out", "--scheduler", started.address), cwd=ROOT,
                              env=grading_env(tmp_path, data_cache), capture_output=True, text=True, timeout=900)
        client = started.client()
        uids = client.run(os.geteuid)
        scratch = {address: Path(folder) for address, folder in client.run(tempfile.gettempdir).items()}
        for address in uids:  # each worker is refused the other's scratch
            other = next(folder for where, folder in scratch.items() if where != address)
            with pytest.raises(PermissionError):
                client.run(os.listdir, str(other), workers=[address])
        # each worker that graded decoded the class's data once, in its own user's cache folder
        decoded = {address: client.run(os.listdir, str(Path(cache) / FOLDER), workers=[address])[address]
                   for address, cache in client.run(cache_root).items() if (Path(cache) / FOLDER).is_dir()}
        logs = [started.log(f"worker-{index}") for index in range(2)]
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(uids.values()) == [WORKER_UID, WORKER_UID + 1]
    assert sorted(scratch.values()) == started.scratch
    assert decoded and all(any(name.endswith(".npz") for name in names) for names in decoded.values()), decoded
    for index, log in enumerate(logs):
        assert (f"grading worker: course {course_copy}, sandbox bwrap, user grader-{index} "
                f"(uid {WORKER_UID + index}), scratch {started.scratch[index]}") in log, log
    graded = scores(read_grades(tmp_path / "out"))
    assert graded == local_grades
    assert graded["cluster-reference"] == ("graded", 13.0)


def test_a_scheduler_that_cannot_import_the_harness_gives_error_rows_and_a_failing_exit_status(
        tmp_path, course_copy, submitted, data_cache):
    """The issue's operator run: no PYTHONPATH, no preload. Not the students' fault: never 'crashed'."""
    with cluster(course_copy, tmp_path / "logs", data_cache, workers=1, harness_importable=False) as started:
        done = subprocess.run(grade_command(submitted, tmp_path / "out", "--scheduler", started.address), cwd=ROOT,
                              env=grading_env(tmp_path, data_cache), capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = read_grades(tmp_path / "out")
    assert sorted(row["student_id"] for row in rows) == sorted(CLASS)
    assert {row["status"] for row in rows} == {"error"}
    assert all("deserialization of the task graph" in row["message"] and "PYTHONPATH" in row["message"]
               for row in rows)
    assert "the grader failed for 3 submission(s)" in done.stderr


def test_a_worker_killed_in_mid_batch_loses_and_doubles_no_student(tmp_path, course_copy, submitted, local_grades,
                                                                    data_cache):
    from nbgrader.api import Gradebook

    with cluster(course_copy, tmp_path / "logs", data_cache, workers=2) as started:
        coordinator = subprocess.Popen(grade_command(submitted, tmp_path / "out", "--scheduler", started.address),
                                       cwd=ROOT, env=grading_env(tmp_path, data_cache), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
        client = started.client()
        deadline, killed = time.monotonic() + 300, None
        while killed is None:
            assert coordinator.poll() is None, "the class was graded before any worker could be killed"
            assert time.monotonic() < deadline, "no worker started grading within 300 s"
            busy = [address for address, keys in client.processing().items()
                    if any("grade_on_worker" in str(key) for key in keys)]
            if busy:
                time.sleep(1.5)  # into its submission (some 3 s): nbgrader and the kernel are running
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed = busy[0]
            time.sleep(0.2)
        output, _ = coordinator.communicate(timeout=900)
        scheduler_log = started.log("scheduler")
    assert coordinator.returncode == 0, output
    assert killed in scheduler_log and "Remove worker" in scheduler_log
    rows = read_grades(tmp_path / "out")
    assert sorted(row["student_id"] for row in rows) == sorted(CLASS)  # each once: none lost, none doubled
    assert scores(rows) == local_grades
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        submissions = [s.student_id for s in gradebook.find_assignment(ASSIGNMENT).submissions]
        stored = {s: gradebook.find_submission(ASSIGNMENT, s).score for s in submissions}
    assert sorted(submissions) == sorted(CLASS)
    assert stored == {student: score for student, (_, score) in local_grades.items()}


def test_two_class_runs_at_once_on_one_machine_grade_as_one_run_alone(tmp_path, course_copy, submitted, local_grades,
                                                                      data_cache):
    """Two courses grade the same assignment for the same student ids at the same time, each with
    its gradebook: each run keeps to its own scratch, sockets and kernel zygote, and both give the
    grades of a run alone. Their run folders are gone afterwards."""
    from autograder import scratch

    runs = {}
    for name, course in (("this course", ROOT), ("another course", course_copy)):
        work = tmp_path / name.replace(" ", "-")
        work.mkdir()
        runs[name] = (work, subprocess.Popen(grade_command(submitted, work / "out", "--jobs", "1"), cwd=course,
                                             env=grading_env(work, data_cache), stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True))
    pids = {process.pid for _, process in runs.values()}
    for name, (work, process) in runs.items():
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, f"{name}: {output}"
        assert scores(read_grades(work / "out")) == local_grades, name
    left = [entry.name for entry in scratch.top_folder().iterdir()
            if entry.name.startswith("run-") and int(entry.name.split("-")[1]) in pids]
    assert left == [], f"run folders left behind: {left}"
