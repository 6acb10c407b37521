"""The grader's boundary: submissions whose files and folders try to reach past the student.

Each case is plain data: what the student handed in (``build(folder)`` writes the submission
folder ``SUBMISSIONS/<student>/a01_santa_logreg/``, links, FIFOs and devices included) and what a
fair grader does with it. The cases here are file-level: the gate (``autograder/gate.py``) must
refuse each before anything reads it, with a message that names the entry, whether the harness
grades it or plain ``nbgrader autograde`` with the course's configuration does.

Some cases point at a *canary*: a file of the grading machine outside the submission,
``SUBMISSIONS/../host-canary.txt`` (see :func:`canary_of`), which the test creates before the
cases are built and checks afterwards (content and mode unchanged). Kernel-level cases (what the
student's code does while it runs) can join the same list with a ``build`` that writes a
notebook.
"""
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

ASSIGNMENT = "a01_santa_logreg"
NOTEBOOK_NAME = f"{ASSIGNMENT}.ipynb"
COURSE_ROOT = Path(__file__).resolve().parents[2]
SOURCE_NOTEBOOK = COURSE_ROOT / "source" / ASSIGNMENT / NOTEBOOK_NAME  # the instructor's, with solutions
BLANK_NOTEBOOK = COURSE_ROOT / "release" / ASSIGNMENT / NOTEBOOK_NAME  # as handed out
CANARY_NAME = "host-canary.txt"
REFUSED = "refused"  # plain nbgrader: the submission fails alone, no autograded/ folder, the message in the log
MB = 1024 * 1024


@dataclass(frozen=True)
class BoundaryCase:
    name: str                 # snake_case, also the student id the tests give it
    description: str          # one line: what the student handed in
    expected_status: str      # under the harness: graded, timeout, crashed or invalid
    expected_score: float     # under the harness
    message: str              # text the harness's message (and plain nbgrader's log) must contain
    build: Callable = None    # build(folder): writes the submission folder, which exists and is empty
    plain_nbgrader: Optional[str] = REFUSED  # under plain nbgrader autograde: REFUSED, "graded" or None (not checked)
    needs_root: bool = False  # only root can build it (a device file)


def canary_of(folder):
    """The canary file of the machine for a submission ``folder`` (SUBMISSIONS/<student>/<a>)."""
    return Path(folder).parents[2] / CANARY_NAME


def blank(folder):
    """The notebook as released, copied as bytes."""
    shutil.copyfile(BLANK_NOTEBOOK, Path(folder) / NOTEBOOK_NAME)


def symlinked_notebook_to_source(folder):
    os.symlink(SOURCE_NOTEBOOK, Path(folder) / NOTEBOOK_NAME)


def symlink_to_canary(folder):
    blank(folder)
    os.symlink(canary_of(folder), Path(folder) / "data.csv")


def symlinked_folder_to_source(folder):
    blank(folder)
    os.symlink(SOURCE_NOTEBOOK.parent, Path(folder) / "solutions", target_is_directory=True)


def symlink_to_dev_zero(folder):
    blank(folder)
    os.symlink("/dev/zero", Path(folder) / "weights.npy")


def hard_link_to_canary(folder):
    blank(folder)
    os.link(canary_of(folder), Path(folder) / "notes.txt")  # the canary must exist: the test makes it


def fifo_notebook(folder):
    os.mkfifo(Path(folder) / NOTEBOOK_NAME)  # opening it for reading would wait for a writer


def device_notebook(folder):
    os.mknod(Path(folder) / NOTEBOOK_NAME, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero's numbers


def zip_slip_name(folder):
    blank(folder)
    (Path(folder) / "..\\..\\source\\a01_santa_logreg\\a01_santa_logreg.ipynb").write_text("{}")


def traversal_name(folder):
    blank(folder)
    (Path(folder) / "．．／．．／source").write_text("fullwidth dots and slash: ../../source once normalised")


def newline_name(folder):
    blank(folder)
    (Path(folder) / "notes\nrm -rf ~.txt").write_text("a name that splits a log line")


def non_utf8_name(folder):
    blank(folder)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")


def oversized_sparse_notebook(folder):
    with open(Path(folder) / NOTEBOOK_NAME, "wb") as handle:
        handle.truncate(500 * MB)  # 500 MB apparent size, no block written


def too_many_files(folder):
    """1001 empty files, one more than the limit: a folder of a million is refused at the same
    point, as the gate stops reading names there."""
    blank(folder)
    many = Path(folder) / "many"
    many.mkdir()
    for index in range(1001):
        (many / f"{index:04d}.txt").touch()


def too_deep(folder):
    blank(folder)
    deep = Path(folder).joinpath(*[f"d{level}" for level in range(1, 10)])
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("nine folders down")


def unreadable_mode(folder):
    blank(folder)
    secret = Path(folder) / "secret.txt"
    secret.write_text("the owner cannot read this; root could")
    secret.chmod(0o044)


def _refused(name, description, build, message, **options):
    return BoundaryCase(name, description, "invalid", 0.0, message, build, **options)


CASES = [
    _refused("symlinked_notebook_to_source", "the notebook is a link to the instructor's source notebook",
             symlinked_notebook_to_source, f"{NOTEBOOK_NAME} is a symbolic link"),
    _refused("symlink_to_canary", "a data file is a link to a file of the grading machine",
             symlink_to_canary, "data.csv is a symbolic link"),
    _refused("symlinked_folder_to_source", "a folder is a link to the instructor's source/ folder",
             symlinked_folder_to_source, "solutions is a symbolic link"),
    _refused("symlink_to_dev_zero", "a file is a link to /dev/zero (endless)",
             symlink_to_dev_zero, "weights.npy is a symbolic link"),
    _refused("hard_link_to_canary", "a file is a hard link to a file of the grading machine",
             hard_link_to_canary, "notes.txt is a hard link"),
    _refused("fifo_notebook", "the notebook is a named pipe (reading it would block)",
             fifo_notebook, f"{NOTEBOOK_NAME} is a named pipe"),
    _refused("device_notebook", "the notebook is a character device with /dev/zero's numbers",
             device_notebook, f"{NOTEBOOK_NAME} is a device file", needs_root=True),
    _refused("zip_slip_name", "a file named ..\\..\\source\\... (a zip-slip path in one name)",
             zip_slip_name, "..\\..\\source\\a01_santa_logreg"),
    _refused("traversal_name", "a file named with fullwidth dots and slash, ../../ once Unicode-normalised",
             traversal_name, "．．／．．／source: its name holds a path separator"),
    _refused("newline_name", "a file name with a newline in it",
             newline_name, "notes\\nrm -rf ~.txt: its name holds a control character"),
    _refused("non_utf8_name", "a file name that is not valid UTF-8",
             non_utf8_name, "caf\\xe9.txt: its name is not valid UTF-8"),
    _refused("oversized_sparse_notebook", "the notebook is 500 MB (a sparse file: no disk used)",
             oversized_sparse_notebook, f"{NOTEBOOK_NAME} is a notebook of 500.0 MB"),
    _refused("too_many_files", "a folder of 1001 empty files (the limit is 1000 entries)",
             too_many_files, "many/ takes the submission over 1000 files and folders"),
    _refused("too_deep", "a file nine folders down (the limit is 8 levels)",
             too_deep, "d1/d2/d3/d4/d5/d6/d7/d8/d9 is 9 levels deep"),
    _refused("unreadable_mode", "a file its owner cannot read (mode 0044)",
             unreadable_mode, "secret.txt is a file its owner cannot read"),
]
