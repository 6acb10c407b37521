"""Does ``nbgrader release_feedback`` release every page it can when some submissions did not come
through the exchange (``autograder/gate/release_feedback.py``)?

A late submission copied into ``submitted/`` by hand has no ``submission_secret.txt`` (nor,
often, a ``timestamp.txt``), and a student's secret is whatever their folder held. nbgrader's own
release_feedback stops at the first such student; the course's releases the others and names
each folder it cannot release.
"""
import subprocess

import pytest
from nbgrader.utils import notebook_hash

from autograder.worker.nbgrader_cli import NBGRADER, configure_course, nbgrader_env
from known_submissions import boundary

ASSIGNMENT = boundary.ASSIGNMENT
NOTEBOOK = "answers"  # the feedback page's name: answers.html
COURSE_ID = "release-test"
STOCK = "--ExchangeFactory.release_feedback=nbgrader.exchange.default.release_feedback.ExchangeReleaseFeedback"
STAMP = b"2026-12-01 10:00:00.000000 UTC"
# student -> their feedback folder's records ({file name: bytes}): two as nbgrader submit and
# collect leave them, three that did not come through the exchange.
CLASS = {
    "ada": {"timestamp.txt": STAMP, "submission_secret.txt": b"a" * 128},
    "bob": {},  # copied into submitted/ by hand
    "cy": {"timestamp.txt": STAMP, "submission_secret.txt": b"\xff\xfe not UTF-8"},
    "dee": {"submission_secret.txt": b"d" * 128},  # no timestamp.txt
    "eve": {"timestamp.txt": STAMP, "submission_secret.txt": b"e" * 128},
}
RELEASABLE = ("ada", "eve")


@pytest.fixture
def course(tmp_path):
    """(course folder with a feedback page per student of CLASS, its environment, the exchange's
    feedback folder)."""
    folder = tmp_path / "course"
    folder.mkdir()
    configure_course(folder)
    for student, records in CLASS.items():
        pages = folder / "feedback" / student / ASSIGNMENT
        pages.mkdir(parents=True)
        (pages / f"{NOTEBOOK}.html").write_text(f"<p>feedback for {student}</p>")
        for name, content in records.items():
            (pages / name).write_bytes(content)
    (tmp_path / "exchange").mkdir()
    env = nbgrader_env({"NBGRADER_DB_URL": f"sqlite:///{tmp_path / 'gradebook.db'}",
                        "NBGRADER_EXCHANGE": str(tmp_path / "exchange"), "NBGRADER_COURSE_ID": COURSE_ID})
    return folder, env, tmp_path / "exchange" / COURSE_ID / "feedback"


def release(folder, env, *options):
    done = subprocess.run([*NBGRADER, "release_feedback", ASSIGNMENT, *options], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def released_page(student):
    secret = CLASS[student]["submission_secret.txt"].decode()
    return f"{notebook_hash(secret=secret, notebook_id=NOTEBOOK)}.html"


def test_every_page_that_can_be_released_is_and_each_folder_that_cannot_is_named(course):
    folder, env, outbound = course
    returncode, log = release(folder, env)
    assert returncode == 0, log
    assert sorted(p.name for p in outbound.iterdir()) == sorted(released_page(s) for s in RELEASABLE)
    for student in RELEASABLE:
        assert (outbound / released_page(student)).read_text() == f"<p>feedback for {student}</p>"
    for student, reason in (("bob", "submission_secret.txt is missing"), ("cy", "submission_secret.txt is missing"),
                            ("dee", "timestamp.txt is missing")):
        assert f"Not releasing the feedback in {folder / 'feedback' / student / ASSIGNMENT}: its {reason}" in log
    assert "Traceback" not in log


def test_one_student_without_a_secret_is_named_and_nothing_is_released(course):
    folder, env, outbound = course
    returncode, log = release(folder, env, "--student=bob")
    assert returncode == 0, log
    assert "Not releasing the feedback in" in log and "give the student the page" in log
    assert not any(outbound.iterdir())


def test_nbgraders_own_release_feedback_stops_at_the_first_folder_it_cannot_read(course):
    """What the course's release stops: nbgrader's own fails for the class, with a traceback."""
    folder, env, _ = course
    returncode, log = release(folder, env, STOCK)
    assert returncode != 0 and "Traceback" in log
    assert "FileNotFoundError" in log or "UnicodeDecodeError" in log, log  # bob's, dee's or cy's folder
