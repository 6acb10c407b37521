"""Does a class run killed in mid-batch, started again, grade only what it had not finished, and
does ``--force`` grade everyone? Do the gradebook and ``grades.csv`` agree afterwards?
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from known_submissions.ghosts import write_class

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a01_santa_logreg"
CLASS = {"resume-reference": {}, "resume-blank": None, "resume-sigmoid-sign": {"propagate": "sigmoid_sign"}}


def graded_notebook(student):
    return ROOT / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def finished_lines(out):
    path = out / "finished.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def stamps():
    return {s: graded_notebook(s).stat().st_mtime_ns for s in CLASS if graded_notebook(s).is_file()}


def test_an_interrupted_run_started_again_grades_only_the_rest_and_force_grades_everyone(tmp_path, data_cache):
    from nbgrader.api import Gradebook

    write_class(ASSIGNMENT, tmp_path / "submitted", CLASS)
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    env = {**os.environ, "COURSE_DATA_DIR": str(data_cache), "NBGRADER_DB_URL": db_url}
    out = tmp_path / "out"
    grade = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(tmp_path / "submitted"), "--out", str(out)]
    command = [*grade, "--jobs", "2"]
    try:
        # The first run, one student at a time, is killed (SIGKILL, the coordinator alone) once it
        # has finished one student.
        first = subprocess.Popen([*grade, "--jobs", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not finished_lines(out):
            assert first.poll() is None, "the first run ended before it could be interrupted"
            assert time.monotonic() < deadline, "no student finished within 300 s"
            time.sleep(0.1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        kept = {line["student_id"] for line in finished_lines(out)}
        assert 0 < len(kept) < len(CLASS) and not (out / "grades.csv").exists()
        before = stamps()

        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert second.returncode == 0, second.stdout + second.stderr
        after_resume = stamps()
        assert all(after_resume[s] == before[s] for s in kept)  # not graded again
        assert set(after_resume) == set(CLASS)  # the rest graded
        with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
            rows = {row["student_id"]: row for row in csv.DictReader(handle)}
        assert sorted(rows) == sorted(CLASS) and {row["status"] for row in rows.values()} == {"graded"}
        assert float(rows["resume-reference"]["score"]) == 13 and float(rows["resume-blank"]["score"]) == 0
        with Gradebook(db_url) as gradebook:
            stored = {s: gradebook.find_submission(ASSIGNMENT, s).score for s in CLASS}
        assert stored == {s: float(row["score"]) for s, row in rows.items()}
        assert sorted(line["student_id"] for line in finished_lines(out)) == sorted(CLASS)

        # A changed notebook is not current any more: only its student is graded again.
        changed = sorted(kept)[0]
        write_class(ASSIGNMENT, tmp_path / "submitted", {changed: {"propagate": "sigmoid_sign"}})
        third = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert third.returncode == 0, third.stdout + third.stderr
        after_change = stamps()
        assert {s for s in CLASS if after_change[s] != after_resume[s]} == {changed}

        # --force grades everyone again, the longest first by the times the file noted: made up
        # here, so that the order differs from the students' ids and from the real times. One at a
        # time, the profile's records of the gate come in the order the submissions started.
        made_up = {"resume-sigmoid-sign": 90.0, "resume-blank": 60.0, "resume-reference": 0.5}
        (out / "finished.jsonl").write_text("".join(json.dumps({**line, "seconds": made_up[line["student_id"]]}) + "\n"
                                                    for line in finished_lines(out)), encoding="utf-8")
        profile = tmp_path / "profile.jsonl"
        before = time.time()
        forced = subprocess.run([*grade, "--jobs", "1", "--force", f"--Grading.profile={profile}"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=900)
        assert forced.returncode == 0, forced.stdout + forced.stderr
        records = [json.loads(line) for line in profile.read_text(encoding="utf-8").splitlines()]
        started = [r["student"] for r in records if r["stage"] == "the gate's copy of the submission"]
        assert started == sorted(made_up, key=made_up.get, reverse=True)
        # Each record says when its stage started, on the clock every process shares: one at a
        # time, each submission's autograde starts after its gate's copy ended, and after the
        # submission before it ended (benchmarks/grading_timeline.py reads these). A start is read
        # from the system clock and a length from the monotonic one: 5 ms allowed between the two.
        slack = 0.005
        after = time.time()
        assert all(before <= r["start"] and r["start"] + r["wall_s"] <= after + slack for r in records)
        stages = {(r["student"], r["stage"]): r for r in records}
        gates = [stages[s, "the gate's copy of the submission"] for s in started]
        autogrades = [stages[s, "nbgrader autograde"] for s in started]
        for gate, autograde in zip(gates, autogrades):
            assert gate["start"] + gate["wall_s"] <= autograde["start"] + slack
        for autograde, next_gate in zip(autogrades, gates[1:]):
            assert autograde["start"] + autograde["wall_s"] <= next_gate["start"] + slack
        assert all(stamps()[s] != after_change[s] for s in CLASS)
        with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
            final = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
        with Gradebook(db_url) as gradebook:
            assert final == {s: gradebook.find_submission(ASSIGNMENT, s).score for s in CLASS}
        assert final[changed] == final["resume-sigmoid-sign"] < 13
    finally:
        for student in CLASS:
            for kind in ("autograded", "feedback"):
                shutil.rmtree(ROOT / kind / student, ignore_errors=True)


def test_a_result_graded_by_another_version_of_the_course_is_not_kept(tmp_path):
    """Tests fixed or a notebook changed since: the result is graded again, not kept."""
    from autograder.resume import FinishedResults

    finished = FinishedResults(tmp_path)
    finished.add(dict(student_id="s", status="graded", message="", seconds=1.0, submission_sha256="n",
                      course_version="v1"))
    again = FinishedResults(tmp_path)  # as a new run reads it
    assert again.kept("s", "n", True, "v1")["status"] == "graded"
    assert again.kept("s", "n", True, "v2") is None
    assert again.kept("s", "other notebooks", True, "v1") is None
    assert again.kept("s", "n", False, "v1") is None  # the gradebook lost the submission


def test_longest_first_orders_by_the_last_run_and_puts_the_unknown_at_the_median(tmp_path):
    from types import SimpleNamespace

    from autograder.resume import FinishedResults, longest_first

    finished = FinishedResults(tmp_path)
    for student, seconds in (("a", 2.0), ("b", 30.0), ("c", 5.0), ("d", "not a number"), ("e", float("nan"))):
        finished.add(dict(student_id=student, status="graded", seconds=seconds))
    submissions = [SimpleNamespace(student_id=s) for s in ("a", "b", "c", "d", "e", "new")]
    # b 30, then c 5 and the three without a usable time at the median (5), in the order given, then a 2.
    assert [s.student_id for s in longest_first(submissions, finished)] == ["b", "c", "d", "e", "new", "a"]
    nothing = FinishedResults(tmp_path / "none")
    assert [s.student_id for s in longest_first(submissions, nothing)] == [s.student_id for s in submissions]


def test_the_submissions_hash_covers_every_file_the_grader_copies(tmp_path):
    """Not the notebooks alone: every file the grader copies (timestamp.txt, submission_secret.txt,
    the files beside the notebook), but not what the copy leaves out."""
    import pytest

    from autograder.gate.files import SubmissionRefused
    from autograder.resume import submission_hash

    folder = tmp_path / "submitted" / "ann" / ASSIGNMENT
    (folder / "data").mkdir(parents=True)
    files = {"a.ipynb": b"{}", "my_answers.py": b"def f(): return 1\n", "data/x.csv": b"1,2\n", "timestamp.txt": b"t1"}
    for name, content in files.items():
        (folder / name).write_bytes(content)

    def digest():
        return submission_hash(folder, tmp_path / "submitted")
    first = digest()
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "my_answers.cpython-311.pyc").write_bytes(b"not copied")
    (folder / ".ipynb_checkpoints").mkdir()
    assert digest() == first  # what the worker's copy leaves out changes nothing
    for name, content in (("my_answers.py", b"def f(): return 2\n"), ("data/x.csv", b"1,3\n"), ("timestamp.txt", b"t2")):
        (folder / name).write_bytes(content)
        assert digest() != first, name
        (folder / name).write_bytes(files[name])
        assert digest() == first, name
    (folder / "data" / "x.csv").rename(folder / "data" / "y.csv")  # the same bytes under another name
    assert digest() != first
    (folder / "data" / "y.csv").rename(folder / "data" / "x.csv")
    (folder / "link.py").symlink_to(folder / "my_answers.py")
    with pytest.raises(SubmissionRefused):
        digest()


def test_a_notebook_handed_in_again_unchanged_is_graded_again_with_its_new_records(tmp_path, data_cache):
    """nbgrader submit writes a new submission_secret.txt (and timestamp.txt) each time, also for
    the same notebook; release_feedback names the student's page after that secret and
    fetch_feedback looks for the newest one. A result kept for the unchanged notebook kept the
    old secret in feedback/: the student could not fetch their feedback."""
    from known_submissions.ghosts import write_class

    student = "resume-handed-in-again"
    write_class(ASSIGNMENT, tmp_path / "submitted", {student: {}})
    folder = tmp_path / "submitted" / student / ASSIGNMENT
    env = {**os.environ, "COURSE_DATA_DIR": str(data_cache), "NBGRADER_DB_URL": f"sqlite:///{tmp_path / 'gradebook.db'}"}
    grade = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(tmp_path / "submitted"), "--out",
             str(tmp_path / "out"), "--jobs", "1"]
    released_records = ROOT / "feedback" / student / ASSIGNMENT
    try:
        for secret, stamp in (("first-secret", "2026-12-01 10:00:00.000000 UTC"),
                              ("second-secret", "2026-12-01 11:00:00.000000 UTC")):
            (folder / "submission_secret.txt").write_text(secret)
            (folder / "timestamp.txt").write_text(stamp)
            run = subprocess.run(grade, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, run.stdout + run.stderr
            assert (released_records / "submission_secret.txt").read_text() == secret
            assert (released_records / "timestamp.txt").read_text() == stamp
    finally:
        for kind in ("autograded", "feedback"):
            shutil.rmtree(ROOT / kind / student, ignore_errors=True)
