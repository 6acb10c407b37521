"""Does the harness grade a class in parallel, survive broken submissions and regrade cleanly?

Also: the Dask path (a local cluster on 127.0.0.1) and the PostgreSQL path (a real server that
these tests start on 127.0.0.1).
"""
import contextlib
import csv
import io
import os
import shutil
import time
from pathlib import Path

import pytest

from known_submissions.faults import FAULTS, sleeps_forever, write_faulty
from known_submissions.ghosts import write_class
from postgres_server import postgres_bin, temporary_postgres
from autograder.sandbox import zygote
from autograder.settings import Sandbox
from autograder.grading import grade_class
from boundary_runs import environment, forget_students

ASSIGNMENT = "a01_santa_logreg"
MAX = 13.0


def by_student(results):
    return {r.student_id: r for r in results}


@pytest.fixture(scope="module")
def faulty_class(tmp_path_factory, data_cache):
    """The reference, a blank and every fault ghost, graded twice with two workers, then one regraded."""
    work = tmp_path_factory.mktemp("faulty")
    submissions = work / "submitted"
    write_class(ASSIGNMENT, submissions, {"ghost-reference": {}, "ghost-blank": None})
    write_faulty(ASSIGNMENT, submissions, {ghost: fault for ghost, (fault, _) in FAULTS.items()})
    # A student graded earlier with another gradebook, whom this gradebook does not know.
    stale = Path(__file__).parent.parent / "autograded" / "ghost-stale-from-another-gradebook"
    shutil.copytree(submissions / "ghost-reference", stale, dirs_exist_ok=True)
    printed = io.StringIO()
    with environment(NBGRADER_DB_URL=f"sqlite:///{work / 'gradebook.db'}"), contextlib.redirect_stderr(printed):
        stats = {}
        first = grade_class(ASSIGNMENT, submissions, work / "out1", jobs=2, show_progress=False, stats=stats)
        second = grade_class(ASSIGNMENT, submissions, work / "out2", jobs=2, show_progress=False)
        graded_files = {r.student_id: Path("autograded") / r.student_id / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
                        for r in second if r.status == "graded"}
        stamps = {s: (Path(__file__).parent.parent / p).stat().st_mtime_ns for s, p in graded_files.items()}
        time.sleep(0.05)
        rows_before = (work / "out2" / "grades.csv").read_text(encoding="utf-8")
        regraded = grade_class(ASSIGNMENT, submissions, work / "out2", jobs=2, show_progress=False,
                               students={"ghost-blank"})
        rows_after = (work / "out2" / "grades.csv").read_text(encoding="utf-8")
        after = {s: (Path(__file__).parent.parent / p).stat().st_mtime_ns for s, p in graded_files.items()}
        from autograder.gradebook.records import course_db_url, read_score
        scores_after = {r.student_id: read_score(ASSIGNMENT, r.student_id, course_db_url())[0] for r in second}
    shutil.rmtree(stale)
    return dict(first=first, second=second, regraded=regraded, stamps=stamps, after=after,
                scores_after=scores_after, stderr=printed.getvalue(), stats=stats,
                rows_before=rows_before, rows_after=rows_after)


def test_students_of_other_gradebooks_in_autograded_do_not_break_feedback(faulty_class):
    assert "generate_feedback failed" not in faulty_class["stderr"], faulty_class["stderr"][-2000:]


def test_each_fault_gets_its_status_and_costs_only_its_student(faulty_class):
    results = by_student(faulty_class["first"])
    assert results["ghost-reference"].score == MAX and results["ghost-blank"].score == 0
    for ghost, (_, status) in FAULTS.items():
        assert results[ghost].status == status, (ghost, results[ghost])
        if status == "invalid":
            assert results[ghost].score == 0 and results[ghost].message


def test_kernels_come_from_the_kernel_zygote_where_it_can_fork_them(faulty_class):
    graded = [r for r in faulty_class["first"] if r.status == "graded"]
    if zygote.usable(Sandbox()):
        assert faulty_class["stats"]["kernels_forked"] >= len(graded) > 0
    else:
        assert faulty_class["stats"]["kernels_forked"] == 0


def test_a_dying_kernel_keeps_the_scores_of_the_tests_before_it(faulty_class):
    result = by_student(faulty_class["first"])["ghost-kernel-dies"]
    assert 0 < result.score < MAX
    assert "kernel died" in result.message


def test_warnings_on_stderr_do_not_cost_a_correct_answer_its_points(faulty_class):
    assert by_student(faulty_class["first"])["ghost-warns-on-stderr"].score == MAX


def test_an_edited_test_cell_is_restored_and_a_deleted_one_scores_nothing(faulty_class):
    results = by_student(faulty_class["first"])
    assert results["ghost-test-cell-replaced"].score == MAX
    assert results["ghost-test-cell-deleted"].score < MAX


def test_a_second_run_gives_identical_scores(faulty_class):
    def table(results):
        return [(r.student_id, r.score, r.max_score, r.status) for r in results]
    assert table(faulty_class["first"]) == table(faulty_class["second"])


def test_regrading_one_student_leaves_the_others_untouched(faulty_class):
    assert [r.student_id for r in faulty_class["regraded"]] == ["ghost-blank"]
    others = {s for s in faulty_class["stamps"] if s != "ghost-blank"}
    assert others and all(faulty_class["stamps"][s] == faulty_class["after"][s] for s in others)
    assert faulty_class["after"]["ghost-blank"] != faulty_class["stamps"]["ghost-blank"]
    second = by_student(faulty_class["second"])
    assert all(faulty_class["scores_after"][s] == second[s].score for s in second)
    # grades.csv of the folder regraded into keeps every other row as it was (seconds aside)
    before, after = ({row["student_id"]: {k: v for k, v in row.items() if k != "seconds"}
                      for row in csv.DictReader(io.StringIO(faulty_class[name]))} for name in ("rows_before", "rows_after"))
    assert len(before) == len(second) > 1 and after == before


def test_a_notebook_over_its_time_limit_is_stopped_and_marked_timeout(tmp_path, data_cache):
    submissions = tmp_path / "submitted"
    write_faulty(ASSIGNMENT, submissions, {"ghost-sleeps-forever": sleeps_forever})
    write_class(ASSIGNMENT, submissions, {"ghost-reference": {}})
    started = time.monotonic()
    with environment(NBGRADER_DB_URL=f"sqlite:///{tmp_path / 'gradebook.db'}"):
        # 40 s in all per notebook: the reference, graded beside it, takes 3-4 s here alone
        results = by_student(grade_class(ASSIGNMENT, submissions, tmp_path / "out", jobs=2, timeout=40,
                                         show_progress=False))
    assert results["ghost-sleeps-forever"].status == "timeout"
    assert results["ghost-sleeps-forever"].score == 0
    assert results["ghost-reference"].score == MAX
    assert time.monotonic() - started < 300  # the sleeper (an hour) was stopped


def test_a_student_id_as_long_as_a_folder_name_can_be_is_graded(tmp_path, data_cache):
    """85 characters of 3 bytes: the longest folder name there is (255 bytes), and within the 128
    characters of nbgrader's gradebook. The worker's scratch folder, named after the id, holds its
    start only (the whole id made a name too long, and the grader's failure)."""
    student = "語" * 85
    write_class(ASSIGNMENT, tmp_path / "submitted", {student: {}})
    try:
        with environment(NBGRADER_DB_URL=f"sqlite:///{tmp_path / 'gradebook.db'}"):
            [result] = grade_class(ASSIGNMENT, tmp_path / "submitted", tmp_path / "out", jobs=1, show_progress=False)
    finally:
        forget_students([student])
    assert (result.student_id, result.status, result.score) == (student, "graded", MAX), result


def test_grading_on_a_local_dask_cluster_gives_the_same_scores(tmp_path, data_cache):
    from distributed import LocalCluster

    submissions = tmp_path / "submitted"
    write_class(ASSIGNMENT, submissions, {"ghost-reference": {}, "ghost-blank": None})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        with environment(NBGRADER_DB_URL=f"sqlite:///{tmp_path / 'gradebook.db'}"):
            results = by_student(grade_class(ASSIGNMENT, submissions, tmp_path / "out",
                                             scheduler=cluster.scheduler_address, show_progress=False))
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert results["ghost-reference"].score == MAX and results["ghost-blank"].score == 0


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server started for these tests on 127.0.0.1, and a database URL on it."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    with temporary_postgres(bin_dir) as url:
        yield url


def test_the_gradebook_can_be_a_postgresql_database(tmp_path, data_cache, postgres_url):
    from nbgrader.api import Gradebook

    submissions = tmp_path / "submitted"
    write_class(ASSIGNMENT, submissions, {"ghost-reference": {}, "ghost-sigmoid-sign": {"propagate": "sigmoid_sign"}})
    with environment(NBGRADER_DB_URL=postgres_url):
        results = by_student(grade_class(ASSIGNMENT, submissions, tmp_path / "out", jobs=2,
                                         show_progress=False))
        with Gradebook(postgres_url) as gradebook:
            stored = {s: gradebook.find_submission(ASSIGNMENT, s).score for s in results}
    assert results["ghost-reference"].score == MAX
    assert 0 < results["ghost-sigmoid-sign"].score < MAX
    assert stored == {s: r.score for s, r in results.items()}
    assert (tmp_path / "out" / "feedback" / "ghost-reference" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_feedback_pages_missing_from_a_worker_are_made_by_nbgrader_in_the_course(tmp_path, data_cache, monkeypatch):
    """Workers make the feedback pages; when they could not, generate_feedback in the course does, for
    those students only, one at a time: the pages of other students in the course's folders stay as
    they were."""
    from autograder.worker import job as worker

    monkeypatch.setattr(worker, "_feedback", lambda job, folder, env, notebooks: {})
    students = ("ghost-feedback-late", "ghost-feedback-later")
    course_pages = Path(__file__).parent.parent / "feedback"
    others = {page: page.stat().st_mtime_ns for page in course_pages.glob(f"ghost-*/{ASSIGNMENT}/*.html")
              if page.parent.parent.name not in students}  # this file's other classes left them there
    assert others, "no other student's pages in the course's feedback/ to watch"
    submissions = tmp_path / "submitted"
    write_class(ASSIGNMENT, submissions, {student: {} for student in students})
    with environment(NBGRADER_DB_URL=f"sqlite:///{tmp_path / 'gradebook.db'}"):
        results = grade_class(ASSIGNMENT, submissions, tmp_path / "out", jobs=1, show_progress=False)
    assert [(r.student_id, r.status, r.score) for r in results] == [(s, "graded", MAX) for s in sorted(students)]
    for student in students:
        page = tmp_path / "out" / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert "visible tests passed" in page.read_text(encoding="utf-8"), student
    assert {page: page.stat().st_mtime_ns for page in others if page.exists()} == others
