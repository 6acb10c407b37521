"""Is a grading process killed by the machine graded again, and, when it keeps failing, is the row
the grader's ``error`` rather than the student's ``crashed``?

A thread plays the machine (the out-of-memory killer, an operator): it SIGKILLs the nbgrader
process grading one student, found by its working folder, the scratch course the worker made.
"""
import contextlib
import io
import os
import re
import signal
import shutil
import threading
import time
from pathlib import Path

import pytest

from known_submissions.ghosts import write_class
from autograder.grading import grade_class, grade_with_retries
from autograder.worker.failures import GraderFailed, killed_by
from autograder.worker.job import Outcome

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a01_santa_logreg"
STUDENT = "failures-reference"


class Machine(threading.Thread):
    """Kills, with SIGKILL, the first ``times`` nbgrader processes that grade ``student``."""

    def __init__(self, student, times):
        super().__init__(daemon=True)
        self.folder = re.compile(rf"/grade-{re.escape(student)}-[^/]+$")
        self.times, self.killed, self.stop = times, [], threading.Event()

    def grading_processes(self):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in self.killed:
                with contextlib.suppress(OSError):
                    if self.folder.search(os.readlink(entry / "cwd")):
                        yield int(entry.name)

    def run(self):
        while not self.stop.is_set() and len(self.killed) < self.times:
            for pid in self.grading_processes():
                time.sleep(1.0)  # into its notebook
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
                break
            time.sleep(0.05)


@pytest.fixture
def one_student(tmp_path, data_cache, monkeypatch):
    monkeypatch.setenv("NBGRADER_DB_URL", f"sqlite:///{tmp_path / 'gradebook.db'}")
    write_class(ASSIGNMENT, tmp_path / "submitted", {STUDENT: {}})
    yield tmp_path
    for kind in ("autograded", "feedback"):
        shutil.rmtree(ROOT / kind / STUDENT, ignore_errors=True)


def grade_while_the_machine_kills(work, out, times, settings=()):
    machine = Machine(STUDENT, times)
    machine.start()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            results = grade_class(ASSIGNMENT, work / "submitted", work / out, jobs=1, show_progress=False,
                                  settings=settings, force=True)
    finally:
        machine.stop.set()
        machine.join()
    return results, machine.killed


def test_a_grading_process_killed_by_the_machine_is_graded_again(one_student):
    [result], killed = grade_while_the_machine_kills(one_student, "out", times=1)
    assert len(killed) == 1
    assert (result.status, result.score) == ("graded", 13.0)


def test_a_grading_process_killed_at_every_try_is_the_graders_error_and_the_gradebook_keeps_its_score(one_student):
    from autograder.gradebook.records import course_db_url, read_score

    [first] = grade_class(ASSIGNMENT, one_student / "submitted", one_student / "out", jobs=1, show_progress=False)
    assert (first.status, first.score) == ("graded", 13.0)
    [result], killed = grade_while_the_machine_kills(one_student, "out", times=2, settings=("--Grading.tries=2",))
    assert len(killed) == 2
    assert (result.status, result.score) == ("error", 0.0)
    assert "2 tries" in result.message and "killed by SIGKILL" in result.message
    assert read_score(ASSIGNMENT, STUDENT, course_db_url())[0] == 13.0  # the grader's failure erased nothing


def test_only_the_graders_failures_are_tried_again_and_each_submission_finishes_once():
    """grade_with_retries, with a pool that fails as asked: a failing job is tried up to ``tries``
    times, an outcome (even a student's crash) is final."""
    from concurrent.futures import ThreadPoolExecutor

    class Submission:
        def __init__(self, student_id):
            self.student_id = student_id

    calls, failures = [], {"flaky": 1, "broken": 5}

    def fake_grade(student_id):
        calls.append(student_id)
        if failures.get(student_id, 0) > 0:
            failures[student_id] -= 1
            raise GraderFailed(f"worker lost while grading {student_id}")
        return Outcome(student_id, "crashed" if student_id == "crashes" else "graded")

    finished = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        grade_with_retries(lambda job: pool.submit(fake_grade, job),
                           [(Submission(s), s) for s in ("flaky", "broken", "crashes", "fine")], 3,
                           lambda submission, outcome: finished.append(outcome))
    assert sorted(calls) == sorted(["flaky", "flaky", "broken", "broken", "broken", "crashes", "fine"])
    statuses = {outcome.student_id: outcome.status for outcome in finished}
    assert statuses == {"flaky": "graded", "broken": "error", "crashes": "crashed", "fine": "graded"}
    assert len(finished) == 4
    assert "3 tries" in next(o.message for o in finished if o.student_id == "broken")


def test_a_signal_names_how_a_process_was_ended():
    assert killed_by(-9) == "SIGKILL" and killed_by(0) is None and killed_by(1) is None and killed_by(None) is None


def test_a_worker_whose_course_differs_from_the_coordinators_refuses_the_job(tmp_path):
    """A worker left on another copy of the course would grade with other tests: it fails the job
    (the grader's failure, tried elsewhere, then ``error``), before anything is graded."""
    import zlib

    from autograder.cluster.course_version import course_version
    from autograder.cluster.remote_job import grade_on_worker
    from autograder.worker.job import Job

    job = Job(ASSIGNMENT, STUDENT, str(tmp_path / "submitted" / STUDENT / ASSIGNMENT), str(ROOT), "", 60, 0)
    mine = course_version(ASSIGNMENT)
    assert len(mine) == 64 and mine != course_version("a02_cat_dnn")
    with pytest.raises(GraderFailed, match="differs from the coordinator's"):
        grade_on_worker(job, zlib.compress(b""), "0" * 64)
