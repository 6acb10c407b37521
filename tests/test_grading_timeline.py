"""What ``benchmarks/grading_timeline.py`` reads from a class's profile: each submission's span,
the workers' busy share, the tail and the class packed without a gap (on records made up here,
with known answers; the harness's own records are checked in ``test_resume.py``)."""
import pytest

from benchmarks.grading_timeline import spans, summary

STARTED = 1_000_000.0  # the epoch time the class began


def record(student, stage, start, seconds):
    return {"stage": stage, "student": student, "start": STARTED + start, "wall_s": seconds,
            "cpu_s": 0.0, "machine_cpu_s": 0.0, "pid": 1}


def worker_stages(student, start, autograde, feedback):
    """A submission's three worker stages, one after the other, from ``start`` (times that binary
    fractions hold exactly, so that one submission ends exactly as the next begins)."""
    return [record(student, "the gate's copy of the submission", start, 0.25),
            record(student, "nbgrader autograde", start + 0.25, autograde),
            record(student, "nbgrader generate_feedback", start + 0.25 + autograde, feedback)]


# Two workers. Worker 1: a (2 to 4.5), c (4.5 to 7), d (7 to 19.5, the long one). Worker 2: b
# (2 to 6.5), then nothing. From 6.5 only one worker is busy (c ends at 7 as d begins): the tail
# is 19.5 - 6.5 = 13 s.
CLASS = [*worker_stages("a", 2.0, 2.0, 0.25), *worker_stages("b", 2.0, 4.0, 0.25),
         *worker_stages("c", 4.5, 2.0, 0.25), *worker_stages("d", 7.0, 12.0, 0.25),
         record("a", "gradebook merge", 4.6, 0.05),  # the coordinator's: not the worker's span
         record("a", "student's cells", 2.5, 1.0),  # inside autograde: counted once
         {"stage": "nbgrader autograde", "student": "old", "wall_s": 9.0}]  # a record from before "start"


def test_each_submission_spans_its_worker_stages_and_nothing_else():
    found = spans(CLASS, STARTED)
    assert sorted(found) == ["a", "b", "c", "d"]
    begin, end, stages = found["d"]
    assert (begin, end) == (7.0, 19.5)
    assert stages == {"the gate's copy of the submission": 0.25, "nbgrader autograde": 12.0,
                      "nbgrader generate_feedback": 0.25}
    assert found["a"][:2] == pytest.approx((2.0, 4.5))  # the merge after it is not the worker's


def test_the_summary_finds_the_setup_the_tail_and_the_packed_time():
    facts = summary(spans(CLASS, STARTED), total=20.0, jobs=2)
    assert facts["before_first"] == pytest.approx(2.0)
    assert facts["after_last"] == pytest.approx(0.5)
    assert facts["grading"] == pytest.approx(17.5)
    lengths = 2.5 + 4.5 + 2.5 + 12.5
    assert facts["busy"] == pytest.approx(lengths / (2 * 17.5))
    assert facts["tail"] == pytest.approx(13.0)
    assert (facts["last_student"], facts["last_seconds"]) == ("d", pytest.approx(12.5))
    # packed: 2 s before, 0.5 s after, and the longest submission (12.5 s) is longer than the sum
    # over the workers (11 s)
    assert facts["packed"] == pytest.approx(2.0 + 0.5 + 12.5)


def test_a_class_that_keeps_every_worker_busy_to_the_end_has_no_tail():
    even = [*worker_stages("a", 1.0, 3.0, 0.25), *worker_stages("b", 1.0, 3.0, 0.25)]
    facts = summary(spans(even, STARTED), total=5.0, jobs=2)
    assert facts["tail"] == pytest.approx(0.0)
    assert facts["busy"] == pytest.approx(1.0)
    assert facts["packed"] == pytest.approx(5.0)  # 1 s before, 0.5 s after, 3.5 s of grading


def test_a_class_smaller_than_the_workers_is_full_while_all_of_it_runs():
    alone = worker_stages("a", 1.0, 3.0, 0.25)
    facts = summary(spans(alone, STARTED), total=5.0, jobs=4)
    assert facts["tail"] == pytest.approx(0.0)
    assert facts["busy"] == pytest.approx(0.25)


def test_no_record_with_a_start_gives_no_summary():
    assert summary(spans([{"stage": "nbgrader autograde", "student": "x", "wall_s": 1.0}], STARTED), 3.0, 2) == {}
