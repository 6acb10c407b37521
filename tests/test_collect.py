"""Does ``nbgrader collect`` take from the exchange only what a student could hand in?

Students write their own folders into the exchange's ``inbound/``. Two students of this machine
play the class: ``daemon`` submits honestly; ``nobody`` submits once under daemon's name and once
under its own with a file linked to one of the instructor's (``autograder/gate/collect.py``).
Each is collected by ``nbgrader collect`` as the course configures it, and once by nbgrader's own
collect, which shows what the course's stops.
"""
import datetime
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.worker.nbgrader_cli import NBGRADER, configure_course, nbgrader_env
from known_submissions import boundary

ASSIGNMENT = boundary.ASSIGNMENT
COURSE_ID = "collect-test"
SECRET = "the instructor's answers: 42\n"
HONEST, HOSTILE = "daemon", "nobody"  # accounts every Debian machine has
STOCK = "--ExchangeFactory.collect=nbgrader.exchange.default.collect.ExchangeCollect"
STOCK_RELEASE = "--ExchangeFactory.release_feedback=nbgrader.exchange.default.release_feedback.ExchangeReleaseFeedback"


def minutes_ago(minutes):
    """A time as nbgrader submit writes it (UTC), ``minutes`` before now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now - datetime.timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S.%f} UTC"


def submit(inbound, student, owner, timestamp, fill, secret=b"5ec2e7" * 20):
    """A submission folder as nbgrader submit names and fills it, made by ``owner``; ``secret``:
    the bytes of its submission_secret.txt, or None for none."""
    folder = inbound / f"{student}+{ASSIGNMENT}+{timestamp}+{owner}{len(os.listdir(inbound))}"
    folder.mkdir()
    fill(folder)
    (folder / "timestamp.txt").write_text(timestamp)
    if secret is not None:
        (folder / "submission_secret.txt").write_bytes(secret)
    account = pwd.getpwnam(owner)
    for path in [folder, *folder.iterdir()]:
        os.lchown(path, account.pw_uid, account.pw_gid)
    return folder


def honest_notebook(folder):
    shutil.copyfile(boundary.SOURCE_NOTEBOOK, folder / boundary.NOTEBOOK_NAME)


def new_course(folder):
    """An empty course folder whose configuration is the course's."""
    folder.mkdir()
    configure_course(folder)
    return folder


@pytest.fixture
def exchange(tmp_path):
    """(course folder, its environment, the inbound folder, the instructor's secret file)."""
    course, inbound = new_course(tmp_path / "course"), tmp_path / "exchange" / COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    secret = tmp_path / "instructor-only.txt"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    env = nbgrader_env({"NBGRADER_DB_URL": f"sqlite:///{tmp_path / 'gradebook.db'}",
                        "NBGRADER_EXCHANGE": str(tmp_path / "exchange"), "NBGRADER_COURSE_ID": COURSE_ID})
    submit(inbound, HONEST, HONEST, minutes_ago(3), honest_notebook)
    submit(inbound, HONEST, HOSTILE, minutes_ago(2), boundary.blank)

    def linked(folder):
        boundary.blank(folder)
        os.symlink(secret, folder / "notes.txt")
    submit(inbound, HOSTILE, HOSTILE, minutes_ago(1), linked)
    return course, env, inbound, secret


def collect(course, env, *options):
    return subprocess.run([*NBGRADER, "collect", ASSIGNMENT, *options], cwd=course, env=env,
                          capture_output=True, text=True, timeout=120)


def texts_under(folder):
    return [p.read_text(errors="replace") for p in Path(folder).rglob("*") if p.is_file()]


@pytest.mark.needs_root
def test_collect_refuses_a_submission_under_another_name_and_one_with_a_link(exchange):
    course, env, inbound, secret = exchange
    before = sorted(os.listdir(inbound))
    done = collect(course, env)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    submitted = course / "submitted"
    # daemon's own submission, not the newer one nobody made under daemon's name
    assert (submitted / HONEST / ASSIGNMENT / boundary.NOTEBOOK_NAME).read_bytes() == boundary.SOURCE_NOTEBOOK.read_bytes()
    assert f"named after {HONEST} but was made by {HOSTILE}" in log
    # nobody's submission with a link is not collected, and the instructor's file is nowhere
    assert not (submitted / HOSTILE).exists()
    assert "notes.txt is a symbolic link" in log and "stays in the exchange" in log
    assert not any(SECRET in text for text in texts_under(submitted))
    assert sorted(os.listdir(inbound)) == before and secret.read_text() == SECRET


@pytest.mark.needs_root
def test_nbgraders_own_collect_follows_the_link_and_takes_the_other_name(exchange):
    """What the course's collect stops: nbgrader's own copies the instructor's file into the
    hostile student's submission and lets it replace the honest student's."""
    course, env, _, _ = exchange
    done = collect(course, env, STOCK)
    assert done.returncode == 0, done.stdout + done.stderr
    submitted = course / "submitted"
    assert (submitted / HOSTILE / ASSIGNMENT / "notes.txt").read_text() == SECRET
    assert (submitted / HONEST / ASSIGNMENT / boundary.NOTEBOOK_NAME).read_bytes() == boundary.BLANK_NOTEBOOK.read_bytes()


@pytest.mark.needs_root
def test_a_time_the_student_set_back_is_replaced_by_when_the_files_changed(exchange):
    """A folder made now that says it was submitted a week ago, and a timestamp.txt that says
    another time again: collected as submitted now, with a warning, and timestamp.txt says so."""
    course, env, inbound, _ = exchange
    folder = submit(inbound, "bin", "bin", minutes_ago(7 * 24 * 60), honest_notebook)
    (folder / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")
    done = collect(course, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "but its files last changed at" in done.stdout + done.stderr
    from nbgrader.utils import parse_utc

    stamp = parse_utc((course / "submitted" / "bin" / ASSIGNMENT / "timestamp.txt").read_text())
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert now - datetime.timedelta(minutes=5) < stamp <= now
    honest = parse_utc((course / "submitted" / HONEST / ASSIGNMENT / "timestamp.txt").read_text())
    assert now - datetime.timedelta(minutes=4) < honest < now - datetime.timedelta(minutes=2)  # its own, kept


@pytest.mark.needs_root
def test_a_time_that_does_not_parse_stops_only_its_own_student(exchange):
    """nbgrader's own collect stops for the whole class at a folder whose time does not parse; the
    course's collects everyone, that folder as submitted when its files last changed."""
    course, env, inbound, _ = exchange
    submit(inbound, "bin", "bin", "not-a-time", honest_notebook)
    stock = collect(course, env, STOCK)
    assert stock.returncode != 0 and "not-a-time" in stock.stdout + stock.stderr
    done = collect(course, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "says no time it can read" in done.stdout + done.stderr
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["bin", HONEST]


def release_feedback(course, env, students, *options):
    """nbgrader release_feedback of a feedback page per collected student, with the records that
    nbgrader's autograde and generate_feedback carry from submitted/ to feedback/."""
    for student in students:
        pages = course / "feedback" / student / ASSIGNMENT
        pages.mkdir(parents=True)
        for record in ("timestamp.txt", "submission_secret.txt"):
            if (course / "submitted" / student / ASSIGNMENT / record).exists():
                shutil.copy(course / "submitted" / student / ASSIGNMENT / record, pages / record)
        (pages / f"{ASSIGNMENT}.html").write_text(f"<p>feedback for {student}</p>")
    return subprocess.run([*NBGRADER, "release_feedback", ASSIGNMENT, *options], cwd=course, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.needs_root
@pytest.mark.parametrize("secret", [None, b"", b"\xff\xfe"], ids=["missing", "empty", "not-utf-8"])
def test_a_submission_secret_release_feedback_cannot_use_is_replaced(exchange, secret):
    """nbgrader's release_feedback names each page by a hash of the submission's secret, which the
    student writes: after nbgrader's own collect, one student's bad secret stops it for the
    class; after the course's, every page is released."""
    course, env, inbound, _ = exchange
    submit(inbound, "bin", "bin", minutes_ago(1), honest_notebook, secret=secret)
    stock_course = new_course(course.parent / "stock-course")
    assert collect(stock_course, env, STOCK).returncode == 0
    stock = release_feedback(stock_course, env, ["bin", HONEST, HOSTILE], STOCK_RELEASE)
    assert stock.returncode != 0, stock.stdout + stock.stderr
    done = collect(course, env)
    assert done.returncode == 0 and "submission_secret.txt" in done.stdout + done.stderr, done.stdout + done.stderr
    released = release_feedback(course, env, ["bin", HONEST])
    assert released.returncode == 0, released.stdout + released.stderr
    assert len(list((inbound.parent / "feedback").glob("*.html"))) == 2


@pytest.mark.needs_root
def test_before_the_due_date_a_refused_folder_on_time_does_not_hide_the_students_own(exchange):
    """collect --before-duedate takes a student's newest submission on time: the folder made
    under daemon's name on time is refused, so daemon's own, late, is collected."""
    course, env, inbound, _ = exchange
    for folder in inbound.glob(f"{HONEST}+*+{HONEST}*"):  # daemon's submission on time is gone
        shutil.rmtree(folder)
    submit(inbound, HONEST, HONEST, minutes_ago(0), honest_notebook)
    due = minutes_ago(1.5)  # after the folder nobody made under daemon's name (2 minutes ago)
    added = subprocess.run([*NBGRADER, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due}"], cwd=course,
                           env=env, capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stdout + added.stderr
    done = collect(course, env, "--before-duedate")
    assert done.returncode == 0, done.stdout + done.stderr
    notebook = course / "submitted" / HONEST / ASSIGNMENT / boundary.NOTEBOOK_NAME
    assert notebook.read_bytes() == boundary.SOURCE_NOTEBOOK.read_bytes()


def test_the_time_of_a_folder_that_is_gone_or_a_link_is_now():
    """A student can remove or replace their folder while collect reads the exchange: its time is
    then the present (the gate refuses what is not a folder), never an error that stops collect."""
    from autograder.gate.collect import last_change

    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs(last_change("/nonexistent/folder") - now) < datetime.timedelta(seconds=5)
    assert abs(last_change("/proc/self/exe") - now) < datetime.timedelta(seconds=5)


@pytest.mark.needs_root
@pytest.mark.parametrize("made_by_a_student", ["course folder", "inbound"])
def test_a_course_folder_a_student_made_in_the_exchange_is_not_collected_from(exchange, made_by_a_student):
    """Whoever owns the course's folder in the exchange, or its inbound/, may remove and replace
    every submission in it: nbgrader's own collect takes from it all the same; the course's
    refuses, naming the owner."""
    course, env, inbound, _ = exchange
    squatted = inbound.parent if made_by_a_student == "course folder" else inbound
    account = pwd.getpwnam(HOSTILE)
    os.chown(squatted, account.pw_uid, account.pw_gid)
    stock = collect(course, env, STOCK)
    assert stock.returncode == 0 and (course / "submitted" / HONEST).is_dir(), stock.stdout + stock.stderr
    shutil.rmtree(course / "submitted")
    done = collect(course, env)
    log = done.stdout + done.stderr
    assert done.returncode != 0, log
    assert f"You don't own the directory: {squatted} (its owner, {HOSTILE}, may have removed" in log
    assert not (course / "submitted").exists()


@pytest.mark.needs_root
def test_a_student_id_the_grader_would_refuse_is_not_collected(exchange):
    """Where student ids are not the owners of their folders (check_owner off, as in containers
    that all run as one user), a student names their submission as they like: an id that the
    formgrader's pages or a CSV would read as markup or columns stays in the exchange, as the
    grader would refuse it anyway; the others are collected."""
    course, env, inbound, _ = exchange
    hostile = "rt-<img src=x onerror=alert(1)>"
    submit(inbound, hostile, HOSTILE, minutes_ago(0), honest_notebook)
    done = collect(course, env, "--ExchangeCollect.check_owner=False")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "a student id that holds < > &" in log and "stays in the exchange" in log
    assert HONEST in os.listdir(course / "submitted") and hostile not in os.listdir(course / "submitted")
