"""Does one gate keep everything but regular files and folders out of the grader?

The gate (``autograder/gate/files.py``) looks at a submission with ``lstat``, follows nothing, and copies
it as bytes; the harness (``find_submissions``, the worker's copy) and plain ``nbgrader autograde``
with the course's configuration both go through it. Real files, links, FIFOs and devices below;
no mocks. A file or folder the gate must not open is made so that opening it would hang the test
(a FIFO) or never end (``/dev/zero``): a test that finishes shows it was not read.
"""
import csv
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest

from boundary_runs import CANARY_TEXT, canary_untouched, environment, forget_students, make_canary, shows_solution
from known_submissions import boundary
from autograder.gate import files as gate
from autograder.gate.files import LIMITS, Limits, SubmissionRefused, check_submission, copy_submission

ASSIGNMENT = boundary.ASSIGNMENT
NOTEBOOK = boundary.NOTEBOOK_NAME
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def hand_in(tmp_path, student="student", notebook=True):
    """An empty submission folder SUBMISSIONS/<student>/<assignment>, with the blank notebook."""
    folder = tmp_path / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    if notebook:
        boundary.blank(folder)
    return folder


def finishes(function, seconds=10):
    """``function()``'s result, asserting it returns within ``seconds`` (a blocked open fails here)."""
    box = {}

    def run():
        try:
            box["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            box["error"] = error
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: something was opened or read"
    if "error" in box:
        raise box["error"]
    return box["value"]


def refusal(folder, limits=LIMITS):
    """(problems the check finds, the copy's refusal message); asserts the copy wrote nothing it
    should not have: no link, and nothing but regular files and folders."""
    problems = finishes(lambda: check_submission(folder, limits))
    dest = Path(tempfile.mkdtemp(prefix="gate-test-")) / "copy"
    try:
        with pytest.raises(SubmissionRefused) as refused:
            finishes(lambda: copy_submission(folder, dest, limits))
        for path in dest.rglob("*") if dest.exists() else ():
            assert path.is_dir() or stat.S_ISREG(path.lstat().st_mode), path
    finally:
        shutil.rmtree(dest.parent)
    return problems, str(refused.value)


def assert_refused(folder, text, limits=LIMITS):
    problems, message = refusal(folder, limits)
    assert any(text in p for p in problems), problems
    assert text in message, message


# --------------------------------------------------------------------------------------------
# One entry at a time
# --------------------------------------------------------------------------------------------

def test_is_a_symlinked_notebook_refused_without_being_read(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.symlinked_notebook_to_source(folder)
    assert_refused(folder, f"{NOTEBOOK} is a symbolic link")
    # The same link to a FIFO of the machine: opening it would block, so this returning shows it was not read.
    fifo = tmp_path / "host-fifo"
    os.mkfifo(fifo)
    (folder / NOTEBOOK).unlink()
    os.symlink(fifo, folder / NOTEBOOK)
    assert_refused(folder, f"{NOTEBOOK} is a symbolic link")


def test_is_a_link_to_a_file_of_the_machine_refused_and_the_file_left_as_it_was(tmp_path):
    folder = hand_in(tmp_path)
    canary = make_canary(folder)
    os.symlink(canary, folder / "data.csv")
    assert_refused(folder, "data.csv is a symbolic link")
    assert canary_untouched(canary)


def test_is_a_link_to_a_folder_refused_without_walking_into_it(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.symlinked_folder_to_source(folder)
    problems, message = refusal(folder)
    assert problems == ["solutions is a symbolic link (links are not followed: hand in the file or folder itself)"]
    assert "solutions is a symbolic link" in message


def test_is_a_link_to_dev_zero_refused_at_once(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.symlink_to_dev_zero(folder)
    assert_refused(folder, "weights.npy is a symbolic link")


def test_is_a_hard_link_refused(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    canary = make_canary(folder)
    boundary.hard_link_to_canary(folder)
    assert_refused(folder, "notes.txt is a hard link (one file with 2 names)")
    assert canary_untouched(canary)


def test_is_a_fifo_refused_without_blocking(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.fifo_notebook(folder)
    assert_refused(folder, f"{NOTEBOOK} is a named pipe (FIFO)")


@pytest.mark.needs_root
def test_is_a_device_file_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can make a device file (os.mknod): run the tests as root to check this case")
    folder = hand_in(tmp_path, notebook=False)
    boundary.device_notebook(folder)
    assert_refused(folder, f"{NOTEBOOK} is a device file")


def test_is_a_socket_refused(tmp_path, monkeypatch):
    import socket

    folder = hand_in(tmp_path)
    monkeypatch.chdir(folder)  # a path relative to it: a socket's path may not be longer than 107 bytes
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind("talk.sock")
        assert_refused(folder, "talk.sock is a socket")


@pytest.mark.parametrize("name, shown, why", [
    ("notes\nrm -rf ~.txt", "notes\\nrm -rf ~.txt", "control character"),
    ("tab\there.txt", "tab\\there.txt", "control character"),
    ("invoice\u202egnp.py", "invoice\\u202egnp.py", "control character"),
    (os.fsdecode(b"caf\xe9.txt"), "caf\\xe9.txt", "not valid UTF-8"),
    ("..\\..\\source\\a01_santa_logreg\\x.ipynb", "..\\..\\source\\a01_santa_logreg\\x.ipynb", "path separator"),
    ("．．／．．／source", "．．／．．／source", "path separator"),
    ("．．", "．．", "reads as . or .."),
    ("-rf", "-rf", "starts with '-'"),
], ids=["newline", "tab", "right-to-left-override", "not-utf8", "zip-slip", "fullwidth-traversal",
        "fullwidth-dotdot", "leading-dash"])
def test_are_odd_names_refused_and_shown_escaped(tmp_path, name, shown, why):
    folder = hand_in(tmp_path)
    with open(os.path.join(os.fsencode(folder), os.fsencode(name)), "wb") as handle:
        handle.write(b"x")
    problems, message = refusal(folder)
    assert problems and problems[0].startswith(f"{shown}: its name") and why in problems[0], problems
    assert "\n" not in message and why in message


def test_are_names_that_cannot_be_on_disk_refused_too():
    """``..``, ``.`` and names with ``/`` never come out of a folder listing; a name from
    elsewhere (an archive, the exchange) still gets the same answer."""
    assert "reads as . or .." in gate.name_problem("..")
    assert "reads as . or .." in gate.name_problem(".")
    assert "path separator" in gate.name_problem("../../etc/passwd")
    assert gate.name_problem("a..b.ipynb") == gate.name_problem("data-1.csv") == gate.name_problem("café.txt") == ""


def test_is_a_file_its_owner_cannot_read_refused(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.unreadable_mode(folder)
    assert_refused(folder, "secret.txt is a file its owner cannot read (mode 0044)")


def test_is_a_folder_its_owner_cannot_list_refused(tmp_path):
    folder = hand_in(tmp_path)
    (folder / "private").mkdir()
    (folder / "private").chmod(0o600)
    assert_refused(folder, "private is a folder its owner cannot list (mode 0600)")


def test_is_a_notebook_over_the_size_limit_refused_without_being_read(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.oversized_sparse_notebook(folder)
    assert (folder / NOTEBOOK).stat().st_blocks == 0  # sparse: the test writes nothing
    assert_refused(folder, f"{NOTEBOOK} is a notebook of 500.0 MB, more than the limit of 50 MB")


def test_is_a_submission_over_its_total_size_refused(tmp_path):
    folder = hand_in(tmp_path)
    (folder / "a.bin").write_bytes(b"a" * 3000)
    (folder / "b.bin").write_bytes(b"b" * 3000)
    notebook_size = (folder / NOTEBOOK).stat().st_size
    assert_refused(folder, "the files take the submission over", Limits(total_bytes=notebook_size + 4000))


def test_are_too_many_files_refused(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.too_many_files(folder)
    assert_refused(folder, "many/ takes the submission over 1000 files and folders")


def test_is_a_folder_too_deep_refused(tmp_path):
    folder = hand_in(tmp_path, notebook=False)
    boundary.too_deep(folder)
    assert_refused(folder, "d1/d2/d3/d4/d5/d6/d7/d8/d9 is 9 levels deep, more than the limit of 8")
    shutil.rmtree(folder / "d1" / "d2" / "d3" / "d4" / "d5" / "d6" / "d7" / "d8" / "d9")
    assert check_submission(folder) == []  # eight levels are fine


def test_is_a_submission_folder_that_is_a_link_refused(tmp_path):
    real = hand_in(tmp_path, "real")
    linked = tmp_path / "submitted" / "linked"
    linked.mkdir()
    os.symlink(real, linked / ASSIGNMENT)
    assert check_submission(linked / ASSIGNMENT) == [f"{ASSIGNMENT} is a symbolic link (links are not "
                                                     "followed: hand in the file or folder itself)"]
    os.symlink(real.parent, tmp_path / "submitted" / "student-linked")  # the student's folder itself
    problems = check_submission(tmp_path / "submitted" / "student-linked" / ASSIGNMENT,
                                within=tmp_path / "submitted")
    assert problems == ["student-linked is a symbolic link (links are not followed: hand in the file or folder itself)"]


def test_is_a_good_submission_with_a_subfolder_and_data_copied_byte_for_byte(tmp_path):
    folder = hand_in(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / "weights.bin").write_bytes(bytes(range(256)) * 100)
    (folder / "data" / "notes.md").write_text("café ünïcode names and text are fine\n")
    (folder / "helper.py").write_text("def helper():\n    return 42\n")
    (folder / "helper.py").chmod(0o4755)  # a set-user-id bit does not survive the copy
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\x00compiled")
    assert check_submission(folder) == []
    dest = tmp_path / "copy"
    copy_submission(folder, dest, skip=("__pycache__",))

    def files(top):
        return {p.relative_to(top): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}
    expected = {k: v for k, v in files(folder).items() if k.parts[0] != "__pycache__"}
    assert files(dest) == expected and len(expected) == 4
    assert all(stat.S_IMODE(p.stat().st_mode) == (0o755 if p.is_dir() else 0o644) for p in dest.rglob("*"))


def test_is_a_file_swapped_for_a_link_during_the_copy_never_followed(tmp_path):
    """A thread swaps data.txt between a regular file and a link to the canary while the gate
    copies the submission again and again: each copy is refused or holds the student's file."""
    folder = hand_in(tmp_path)
    canary = make_canary(folder)
    spare = tmp_path / "spare"  # same file system: renames are atomic
    spare.mkdir()
    (folder / "data.txt").write_text("the student's data\n")
    stop = threading.Event()

    def swap():
        while not stop.is_set():
            os.symlink(canary, spare / "link")
            os.replace(spare / "link", folder / "data.txt")
            (spare / "file").write_text("the student's data\n")
            os.replace(spare / "file", folder / "data.txt")
    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    outcomes = {"copied": 0, "refused": 0}
    try:
        for attempt in range(300):
            dest = tmp_path / "copies" / str(attempt)
            try:
                copy_submission(folder, dest)
                outcomes["copied"] += 1
                assert (dest / "data.txt").read_text() == "the student's data\n"
            except SubmissionRefused as refused:
                outcomes["refused"] += 1
                assert "data.txt" in str(refused)
            for path in dest.rglob("*"):
                assert not path.is_symlink() and CANARY_TEXT not in (path.read_text(errors="replace")
                                                                      if path.is_file() else "")
            shutil.rmtree(dest, ignore_errors=True)
    finally:
        stop.set()
        swapper.join()
    assert canary_untouched(canary)
    print(f"\nswapped while copied: {outcomes}")


# --------------------------------------------------------------------------------------------
# The harness's use of the gate, without grading a notebook
# --------------------------------------------------------------------------------------------

def test_does_find_submissions_mark_a_refused_submission_invalid_without_reading_it(tmp_path):
    from autograder.gate.submissions import find_submissions

    folder = hand_in(tmp_path, "linked", notebook=False)
    fifo = tmp_path / "host-fifo"
    os.mkfifo(fifo)
    os.symlink(fifo, folder / NOTEBOOK)  # reading the notebook would block
    hand_in(tmp_path, "blank")
    found = {s.student_id: s.problem for s in finishes(lambda: find_submissions(ASSIGNMENT, tmp_path / "submitted"))}
    assert found["blank"] == ""
    assert found["linked"].startswith(f"submission refused: {NOTEBOOK} is a symbolic link")


@pytest.mark.parametrize("student, why", [("ann[1]", "holds * ? [ or ]"), ("ann]", "holds * ? [ or ]"),
                                          ("ann*", "holds * ? [ or ]"), ("ann?", "holds * ? [ or ]"),
                                          ("ann\nlee", "control character"),
                                          ('=HYPERLINK("example.invalid","grades")', "begins with = + - or @"),
                                          ("+1", "begins with = + - or @"), ("@ann", "begins with = + - or @"),
                                          ("rt-<img src=x onerror=alert(1)>", "holds < > &"),
                                          ('ann"', "holds < > &"), ("o'brien", "holds < > &"), ("a\\b", "holds < > &"),
                                          ("eve,,,,0.0,0.0,0.0,13.0", "holds < > &"), ("ann#2", "holds < > &"),
                                          ("ann%2e", "holds < > &"), ("x" * 129, "at most 128 characters"),
                                          ("ann\u200b", "shows nothing"), ("\ufeffann", "shows nothing"),
                                          ("ann ", "ends with a space"), ("\u00a0ann", "ends with a space")])
def test_does_find_submissions_refuse_a_student_id_nbgrader_cannot_grade(tmp_path, student, why):
    """nbgrader looks for a student's notebooks with the id in a file pattern and reads the id back
    with a regular expression; its formgrader writes ids into its pages, scripts and links
    unescaped, and ``nbgrader export`` into a CSV unquoted; its gradebook keeps 128 characters:
    such a student is refused with a message naming the folder, and a student whose id has
    spaces, letters beyond ASCII, dots or 128 characters is not."""
    from autograder.gate.submissions import find_submissions

    hand_in(tmp_path, student)
    hand_in(tmp_path, "ann lée.2")
    hand_in(tmp_path, "می\u200cخواهم")  # a joiner that Persian names need
    hand_in(tmp_path, "é" + "e" * 127)
    found = {s.student_id: s.problem for s in find_submissions(ASSIGNMENT, tmp_path / "submitted")}
    assert found["ann lée.2"] == "" and found["é" + "e" * 127] == "" and found["می\u200cخواهم"] == ""
    assert why in found[student] and gate.shown(student) in found[student] and "rename the folder" in found[student]


def test_does_plain_nbgrader_autograde_keep_a_refused_student_id_out_of_the_gradebook(tmp_path, data_cache):
    """Through the course's nbgrader_config.py, plain ``nbgrader autograde`` (the formgrader's
    button) refuses the ids the harness refuses before it records the student: no markup for the
    formgrader's pages, no comma for ``nbgrader export``'s CSV; the other students are graded."""
    from nbgrader.api import Gradebook

    from autograder.gradebook.records import record_assignment
    from autograder.worker.nbgrader_cli import run_nbgrader

    hostile = ["rt-<img src=x onerror=alert(1)>", "eve,,,,0.0,0.0,0.0,13.0"]
    for student in ["ann", *hostile]:
        hand_in(tmp_path, student)
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    record_assignment(ASSIGNMENT, db_url)
    run = run_nbgrader("autograde", ASSIGNMENT, "--force", f"--CourseDirectory.db_url={db_url}",
                       f"--CourseDirectory.submitted_directory={tmp_path / 'submitted'}",
                       f"--CourseDirectory.autograded_directory={tmp_path / 'autograded'}", timeout=600)
    with Gradebook(db_url) as gradebook:
        assert {student.id for student in gradebook.students} == {"ann"}
    assert [p.name for p in (tmp_path / "autograded").iterdir()] == ["ann"]
    log = run.stdout + run.stderr
    assert all(f"{student}/{ASSIGNMENT}: a student id that holds < > &" in log for student in hostile), log[-3000:]


def _edited(text_edit=None, first_answer=None):
    """build(folder): the blank notebook, the nbgrader metadata of its first answer cell updated
    with ``first_answer`` ({key: value}, or a value for the whole metadata), then its JSON text
    edited by ``text_edit`` (a function of the text)."""
    import json

    def build(folder):
        notebook = json.loads(Path(boundary.BLANK_NOTEBOOK).read_text(encoding="utf-8"))
        cell = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("solution"))
        if isinstance(first_answer, dict):
            cell["metadata"]["nbgrader"].update(first_answer)
        elif first_answer is not None:
            cell["metadata"]["nbgrader"] = first_answer
        notebook["cells"][0]["metadata"]["edited"] = "__EDIT__"
        text = json.dumps(notebook)
        (folder / NOTEBOOK).write_text(text_edit(text) if text_edit else text, encoding="utf-8")
    return build


@pytest.mark.parametrize("build, why", [
    (_edited(lambda t: t.replace('"__EDIT__"', "[" * 5000 + "]" * 5000)), "nests lists and objects 5004 levels deep"),
    (_edited(lambda t: t.replace('"__EDIT__"', "1" * 5000)), "cannot be read as JSON (ValueError)"),
    (_edited(lambda t: t.replace('"__EDIT__"', '"\\ud800"')), "holds text that is not valid Unicode"),
    (_edited(first_answer={"grade_id": {"an": "object"}}), "has grade_id of the wrong type"),
    (_edited(first_answer="solution"), "a cell's nbgrader metadata is not an object"),
    (_edited(first_answer={"points": "all of them"}), "has points of the wrong type"),
], ids=["nested_5000_deep", "a_5000_digit_number", "unpaired_surrogate", "grade_id_an_object",
        "metadata_a_string", "points_a_string"])
def test_does_find_submissions_refuse_a_notebook_the_grader_cannot_read_and_go_on(tmp_path, build, why):
    """Notebooks that Python's JSON reader, nbformat or nbgrader stop on with an exception of their
    own: before, the first two and the grade_id that is an object stopped the harness for the
    whole class (a RecursionError, a ValueError, a TypeError), and the other three failed alone as
    "crashed" with a traceback's last line."""
    from autograder.gate.submissions import find_submissions

    build(hand_in(tmp_path, "edited", notebook=False))
    hand_in(tmp_path, "blank")
    found = {s.student_id: s.problem for s in find_submissions(ASSIGNMENT, tmp_path / "submitted")}
    assert found["blank"] == ""
    assert why in found["edited"], found["edited"]


def test_is_a_notebook_of_more_cells_than_the_limit_refused(tmp_path):
    """Each cell costs nbgrader, the feedback page and the formgrader time and memory, whatever it
    holds: past MAX_CELLS the notebook is not read further. At the limit it is graded."""
    import json

    from autograder.gate.submissions import MAX_CELLS, find_submissions

    for student, cells in (("at_the_limit", MAX_CELLS), ("past_it", MAX_CELLS + 1)):
        notebook = json.loads(Path(boundary.BLANK_NOTEBOOK).read_text(encoding="utf-8"))
        notebook["cells"] += [{"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": ""}
                              for i in range(cells - len(notebook["cells"]))]
        folder = hand_in(tmp_path, student, notebook=False)
        (folder / NOTEBOOK).write_text(json.dumps(notebook), encoding="utf-8")
    found = {s.student_id: s.problem for s in find_submissions(ASSIGNMENT, tmp_path / "submitted")}
    assert found["at_the_limit"] == ""
    assert found["past_it"] == (f"{NOTEBOOK} has 2,001 cells, more than the 2,000 a notebook may have; hand in the "
                                "notebook as released, with your answers")


def test_does_a_check_that_fails_refuse_that_student_only(tmp_path, monkeypatch):
    from autograder.gate import submissions

    hand_in(tmp_path, "ann")
    hand_in(tmp_path, "bob")
    checked = submissions.cells_problem

    def failing_for_ann(path, *args):
        if "ann" in path.parts:
            raise KeyError("a check that did not foresee this notebook")
        return checked(path, *args)
    monkeypatch.setattr(submissions, "cells_problem", failing_for_ann)
    found = {s.student_id: s.problem for s in submissions.find_submissions(ASSIGNMENT, tmp_path / "submitted")}
    assert found["bob"] == ""
    assert found["ann"].startswith("the grader could not check this submission (KeyError: ")


def test_are_the_text_columns_of_grades_csv_text_to_a_spreadsheet(tmp_path):
    """A refused folder named as a formula still has its row in grades.csv (one per folder): its
    id, and a message that would begin as one, begin with an apostrophe there; numbers stay numbers."""
    import csv

    from autograder.grading import Result, write_csv

    results = [Result('=HYPERLINK("example.invalid","grades")', ASSIGNMENT, 0.0, 13.0, "invalid", "@see", 0.0),
               Result("ann, lée", ASSIGNMENT, -1.5, 13.0, "graded", "-", 2.0),
               Result(os.fsdecode(b"caf\xe9"), ASSIGNMENT, 0.0, 13.0, "invalid", "not UTF-8", 0.0)]
    write_csv(results, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", encoding="utf-8", newline="") as table:
        rows = list(csv.reader(table))
    assert rows[1][:3] == ["'=HYPERLINK(\"example.invalid\",\"grades\")", ASSIGNMENT, "0"] and rows[1][5] == "'@see"
    assert rows[2][:3] == ["ann, lée", ASSIGNMENT, "-1.5"] and rows[2][5] == "'-"
    assert rows[3][:3] == ["caf\\xe9", ASSIGNMENT, "0"]  # a folder name that is not UTF-8, as the terminal shows it


def test_does_the_terminal_get_no_escape_sequence_from_a_refused_folder_name(tmp_path):
    """A folder named with terminal escapes is refused, but the grader still prints its row: the
    table, the summary and the progress line show the escapes as text."""
    import io

    from autograder.gate.submissions import find_submissions
    from autograder.grading import Result, format_table, summary
    from autograder.progress import Progress

    student = "ann\x1b]0;owned\x07\x1b[2J"
    hand_in(tmp_path, student)
    hand_in(tmp_path, "bob")
    refused = {s.student_id: s.problem for s in find_submissions(ASSIGNMENT, tmp_path / "submitted")}[student]
    assert "rename the folder" in refused
    results = [Result(student, ASSIGNMENT, 0.0, 13.0, "invalid", refused, 0.0)]
    progress = io.StringIO()
    Progress(1, stream=progress).done(results[0])
    for text in (format_table(results), summary(results), progress.getvalue()):
        assert "\x1b" not in text and "\x07" not in text and "ann\\x1b]0;owned\\x07\\x1b[2J" in text, text


def test_does_the_worker_refuse_a_submission_changed_after_the_check(tmp_path):
    """find_submissions saw a good submission; by the time the worker copies it, the notebook is a
    link to the instructor's: the worker's copy refuses it, and nbgrader never runs."""
    from autograder.settings import Grading, Sandbox
    from autograder.worker import job as worker
    from autograder.gate.submissions import find_submissions

    folder = hand_in(tmp_path)
    assert [s.problem for s in find_submissions(ASSIGNMENT, tmp_path / "submitted")] == [""]
    (folder / NOTEBOOK).unlink()
    boundary.symlinked_notebook_to_source(folder)
    job = worker.Job(ASSIGNMENT, "student", str(folder), str(ROOT), str(tmp_path / "no-template.db"),
                     Grading().timeout, Sandbox().memory_mb)
    outcome = finishes(lambda: worker.grade(job), seconds=60)
    assert (outcome.status, outcome.grades, outcome.notebooks) == ("invalid", [], {})
    assert f"{NOTEBOOK} is a symbolic link" in outcome.message
    # The whole folder replaced by a link before the grader resolved its path: not the student's folder.
    moved = worker.Job(ASSIGNMENT, "student", str(ROOT / "source" / ASSIGNMENT), str(ROOT), str(tmp_path / "x.db"),
                       Grading().timeout, Sandbox().memory_mb)
    outcome = worker.grade(moved)
    assert outcome.status == "invalid" and "is not the folder student/a01_santa_logreg" in outcome.message


def test_is_the_nbgrader_gate_installed_once():
    from nbgrader.converters.autograde import Autograde
    from nbgrader.converters.base import BaseConverter

    gate.install_nbgrader_gate()
    installed = Autograde.init_destination
    gate.install_nbgrader_gate()
    assert Autograde.init_destination is installed and installed.gated
    assert not getattr(BaseConverter.init_destination, "gated", False)  # other converters unchanged


# --------------------------------------------------------------------------------------------
# End to end: the harness and plain nbgrader
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_students(tmp_path_factory, data_cache):
    from autograder.grading import grade_class

    work = tmp_path_factory.mktemp("gate-two")
    linked = work / "submitted" / "gate-linked" / ASSIGNMENT
    linked.mkdir(parents=True)
    boundary.symlinked_notebook_to_source(linked)
    hand_in(work, "gate-blank")
    hand_in(work, "gate-ann[1]")  # a folder to rename
    started = time.monotonic()
    try:
        with environment(NBGRADER_DB_URL=f"sqlite:///{work / 'gradebook.db'}"):
            results = {r.student_id: r for r in grade_class(ASSIGNMENT, work / "submitted", work / "out",
                                                            jobs=1, show_progress=False)}
        print(f"\nharness, two students: {time.monotonic() - started:.1f} s")
        yield results, work / "out", {s: shows_solution(ROOT / "autograded" / s) + shows_solution(ROOT / "feedback" / s)
                                      for s in results}
    finally:
        forget_students(["gate-linked", "gate-blank", "gate-ann[1]"])


def test_is_a_folder_to_rename_invalid_and_kept_out_of_the_gradebook(two_students):
    """Its name would stay in the gradebook after the renaming, and reach the formgrader and
    nbgrader export as it is; its row in grades.csv says what to do."""
    from nbgrader.api import Gradebook

    results, out, _ = two_students
    refused = results["gate-ann[1]"]
    assert (refused.status, refused.score, refused.max_score) == ("invalid", 0, 13)
    assert "rename the folder 'gate-ann[1]'" in refused.message
    with Gradebook(f"sqlite:///{out.parent / 'gradebook.db'}") as gradebook:
        assert sorted(student.id for student in gradebook.students) == ["gate-blank", "gate-linked"]


def test_does_the_harness_give_a_symlinked_notebook_invalid_and_no_solution(two_students):
    results, out, course_solutions = two_students
    linked = results["gate-linked"]
    assert (linked.status, linked.score) == ("invalid", 0)
    assert f"{NOTEBOOK} is a symbolic link" in linked.message
    assert shows_solution(out / "feedback" / "gate-linked") == []
    assert course_solutions["gate-linked"] == []
    with open(out / "grades.csv", encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["gate-linked"]["status"] == "invalid" and "symbolic link" in rows["gate-linked"]["message"]


def test_does_the_harness_still_grade_the_other_student(two_students):
    results, out, _ = two_students
    assert (results["gate-blank"].status, results["gate-blank"].score) == ("graded", 0)
    assert shows_solution(out / "feedback" / "gate-blank") == []

