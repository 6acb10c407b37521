"""The adversarial catalogue as an acceptance suite: students who try to break or cheat the grader.

Every fixture of ``known_submissions/adversarial/`` (one notebook per case, see ``cases.py``) is graded through
the harness, two workers at a time, with the sandbox and the decisions outside the kernel that
grading uses by default. Each case must get exactly its expected status and score: a cheat scores
what the same code scores without the cheat (no false pass), and a fault costs only its own
student (no aborted batch). The cases whose grading turns on time, signals and the machine's
resources (the ``runtime`` category: loops stopped at their time, memory and process bombs, kills,
floods of output), with the ``baseline`` ones, are graded a second time, at the same parallelism,
and must agree with the first grading; the other cases' outcome depends on their code only.
"""
import contextlib
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from boundary_runs import forget_students
from known_submissions.adversarial.cases import ASSIGNMENT, CASES
from autograder.grading import grade_class

FIXTURES = Path(__file__).resolve().parent.parent / "known_submissions" / "adversarial" / "fixtures"
pytestmark = pytest.mark.needs_bwrap
ROOT = Path(__file__).resolve().parent.parent


def fingerprint(folder):
    """Names, sizes and contents' digests of every file under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


REGRADED = ("runtime", "baseline")  # the categories graded a second time, for determinism


def write_submissions(folder):
    for case in CASES:
        hand_in = folder / case.name / ASSIGNMENT
        hand_in.mkdir(parents=True)
        (hand_in / case.submitted_name).write_bytes((FIXTURES / f"{case.name}.ipynb").read_bytes())
        for name, text in case.extra_files:
            (hand_in / name).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, data_cache):
    from autograder.sandbox.policy import bwrap_problem, sandbox_mode

    if sandbox_mode("bwrap") != "bwrap":  # the expectations are those of the sandbox; .ci/run installs it
        pytest.skip(f"the adversarial catalogue needs the sandbox: {bwrap_problem()}")
    work = tmp_path_factory.mktemp("adversarial")
    write_submissions(work / "submitted")
    data_before = fingerprint(data_cache)
    source_before = fingerprint(ROOT / "source" / ASSIGNMENT)
    # Each cell may run 10 s: a01's longest takes about 1 s here alone, but a test cell took more
    # than 5 s with other tests running beside this file. The cases that loop wait that long in
    # each of their cells that calls the looping code (three for a looping model).
    settings = dict(jobs=2, cell_timeout=10, timeout=300, memory_mb=3072, show_progress=False)
    saved = os.environ.get("NBGRADER_DB_URL")
    os.environ["NBGRADER_DB_URL"] = f"sqlite:///{work / 'gradebook.db'}"
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            first = grade_class(ASSIGNMENT, work / "submitted", work / "out1", **settings)
            second = grade_class(ASSIGNMENT, work / "submitted", work / "out2", **settings,
                                 students={c.name for c in CASES if c.category in REGRADED})
    finally:
        if saved is None:
            os.environ.pop("NBGRADER_DB_URL", None)
        else:
            os.environ["NBGRADER_DB_URL"] = saved
        forget_students([c.name for c in CASES])  # the course's autograded/ and feedback/ as they were
    report = "\n".join(f"{r.student_id:34} {r.status:8} {r.score:5g}/{r.max_score:g} {r.seconds:6.1f}s  {r.message[:90]}"
                       for r in first)
    print("\nadversarial catalogue, first grading:\n" + report)
    return dict(first={r.student_id: r for r in first}, second={r.student_id: r for r in second},
                data_changed=fingerprint(data_cache) != data_before,
                source_changed=fingerprint(ROOT / "source" / ASSIGNMENT) != source_before,
                stderr=printed.getvalue())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gets_its_expected_status_score_and_message(graded, case):
    result = graded["first"].get(case.name)
    assert result is not None, f"{case.name} got no row: the batch lost a student"
    assert (result.status, result.score) == (case.expected_status, case.expected_score), (
        f"{case.name} ({case.description}): expected {case.expected_status} {case.expected_score:g}, "
        f"got {result.status} {result.score:g} ({result.message})")
    assert case.message in result.message


def test_no_case_scores_more_than_a_fair_grader_gives(graded):
    false_passes = [f"{c.name}: {graded['first'][c.name].score:g} > {c.expected_score:g}"
                    for c in CASES if graded["first"][c.name].score > c.expected_score]
    assert not false_passes


def test_a_second_grading_at_full_parallelism_gives_identical_results(graded):
    regraded = {c.name for c in CASES if c.category in REGRADED}
    assert len(regraded) >= 20 and set(graded["second"]) == regraded
    first = {s: (r.status, r.score, r.max_score) for s, r in graded["first"].items() if s in regraded}
    second = {s: (r.status, r.score, r.max_score) for s, r in graded["second"].items()}
    assert first == second


def test_students_cannot_change_the_data_cache_or_the_solutions(graded):
    assert not graded["data_changed"]
    assert not graded["source_changed"]


def test_the_grader_refuses_to_run_with_assertions_stripped(tmp_path):
    (tmp_path / "submitted").mkdir()
    env = {**os.environ, "PYTHONOPTIMIZE": "1"}
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(tmp_path / "submitted"),
                          "--out", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2
    assert "PYTHONOPTIMIZE" in run.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
