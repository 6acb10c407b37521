"""Helpers for grading the grader's boundary (known_submissions/boundary.py): the machine's state
before and after, and what a run leaves behind."""
import contextlib
import functools
import os
import shutil
import stat
from pathlib import Path

from known_submissions import boundary

ROOT = Path(__file__).resolve().parent.parent
CANARY_TEXT = "canary of the grading machine: nobody may read, move or change me\n"
CANARY_MODE = 0o640
MARKER = "COURSE_BOUNDARY_TEST_RUN"  # in the environment of every process a run starts, to find leftovers


def make_canary(folder):
    """The canary file of the machine beside the submissions (boundary.canary_of)."""
    canary = boundary.canary_of(folder)
    if not canary.exists():
        canary.write_text(CANARY_TEXT)
        canary.chmod(CANARY_MODE)
    return canary


def canary_untouched(canary):
    return canary.read_text() == CANARY_TEXT and stat.S_IMODE(canary.stat().st_mode) == CANARY_MODE


@contextlib.contextmanager
def environment(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@functools.lru_cache(maxsize=None)
def solution_lines(assignment=boundary.ASSIGNMENT):
    """Lines of the instructor's solution regions that the released notebook does not have."""
    import nbformat

    name = f"{assignment}.ipynb"
    released = (ROOT / "release" / assignment / name).read_text()
    lines, inside = set(), False
    for cell in nbformat.read(str(ROOT / "source" / assignment / name), as_version=4).cells:
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
                inside = "BEGIN" in line
            elif inside and len(line.strip()) > 15 and line.strip() not in released:
                lines.add(line.strip())
    assert len(lines) >= 5
    return frozenset(lines)


def shows_solution(folder, assignment=boundary.ASSIGNMENT):
    """The solution lines found in any file under ``folder``."""
    texts = [p.read_text(errors="replace") for p in Path(folder).rglob("*") if p.is_file()]
    return sorted(line for line in solution_lines(assignment) | {"### BEGIN SOLUTION"}
                  if any(line in t for t in texts))


def forget_students(students):
    """Remove what the harness recorded in the course folder for these test students."""
    for where in ("autograded", "feedback"):
        for student in students:
            shutil.rmtree(ROOT / where / student, ignore_errors=True)


def own_processes(token):
    """Processes whose environment holds ``MARKER=token``, except this one and the long-lived
    helpers of multiprocessing (its fork server, its resource tracker)."""
    from multiprocessing import forkserver, resource_tracker

    spared = {os.getpid(), forkserver._forkserver._forkserver_pid,
              getattr(resource_tracker._resource_tracker, "_pid", None)}
    needle = f"{MARKER}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in spared:
            with contextlib.suppress(OSError):
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:120]!r}")
    return found


def scratch_entries():
    """What is in the grader's scratch space now (``autograder/scratch.py``), except the folder
    of this test process's own run."""
    from autograder import scratch

    mine = {folder for (pid, _), folder in scratch._mine.items() if pid == os.getpid()}
    top = scratch.top_folder()
    return sorted(p.name for p in top.iterdir() if p not in mine)


def other_workers_bytes(basetemp, own_students):
    """Bytes on disk under the folders of the other pytest-xdist workers of this run (their
    pytest folders beside ``basetemp``, their temporary folders /tmp/course-gw*: tests/conftest.py)
    and under the course's autograded/ and feedback/ folders of students other than
    ``own_students``, found afresh at each call; 0 in a run on one process. What the other
    workers write while this file grades is theirs: the free disk that grading lowers is counted
    without it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return 0
    folders = [p for p in Path(basetemp).parent.glob("popen-gw*") if p.name != f"popen-{worker}"]
    folders += [p for p in Path("/tmp").glob("course-gw*") if p.name != f"course-{worker}"]
    folders += [p for where in ("autograded", "feedback") for p in (ROOT / where).glob("*")
                if p.name not in own_students]
    from benchmarks.soak import tree_bytes  # the soak benchmark's count of a folder's bytes

    return sum(map(tree_bytes, folders))
