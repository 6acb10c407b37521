"""The workers' template gradebook of an assignment, made once for each version of what it holds.

A template gradebook knows the assignment's notebooks, cells and points, as nbgrader's
``generate_assignment`` records them (the test cells' source too, hidden tests included: the
folder and its files are the grader's alone, 0700 and 0600, and no kernel's sandbox binds it).
It depends on the assignment's files, the course's nbgrader configuration, the harness and
nbgrader's own version (its schema), and on nothing a class brings. Making it runs nbgrader once
(about half a second of a process that must wait for the fork server's imports), at the start of
every class, before its first submission can start.
So the first one made for a version is kept in the grader's cache
(``<cache>/template-gradebooks/<assignment>-<version>.db``), beside the sha256 of its bytes, and
each later class copies it. A kept file whose bytes no longer match that sha256 (cut short,
changed) is made again; another version of the course or of nbgrader is another file, and the
older files of the assignment are removed when a new one is kept.
"""
import contextlib
import glob
import hashlib
import os
import re
from pathlib import Path

from ..cluster.course_version import course_version
from ..sandbox.policy import cache_root

FOLDER = "template-gradebooks"


def version(assignment):
    """What the template of ``assignment`` depends on: the course's files that grading it reads
    (``course_version``, the harness and nbgrader's configuration included) and the versions of
    nbgrader and of the database packages that write its schema."""
    from importlib.metadata import version as installed

    parts = [course_version(assignment), *(installed(name) for name in ("nbgrader", "SQLAlchemy", "alembic"))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def kept(assignment):
    """The path of the kept template of ``assignment``'s current version, or None where there is
    none, or its bytes do not match the sha256 kept beside it."""
    path = cache_root() / FOLDER / f"{assignment}-{version(assignment)}.db"
    try:
        expected = path.with_suffix(".sha256").read_text(encoding="ascii").strip()
        return path if _digest(path) == expected else None
    except (OSError, UnicodeDecodeError):
        return None


def keep(assignment, made):
    """Keep a copy of ``made``, a template of ``assignment``'s current version, for later classes
    (the file and its sha256, each written whole: ``coursekit/whole_files.py``), and remove
    the assignment's older ones. A cache that cannot be written keeps nothing: the next class
    makes its own."""
    from coursekit.whole_files import write_whole

    folder = cache_root() / FOLDER
    path = folder / f"{assignment}-{version(assignment)}.db"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # the grader's alone: a template holds the hidden tests
        data = Path(made).read_bytes()
        write_whole(path, lambda out: out.write(data), mode=0o600)
        write_whole(path.with_suffix(".sha256"),
                    lambda out: out.write(f"{hashlib.sha256(data).hexdigest()}\n".encode("ascii")), mode=0o600)
        for older in folder.glob(f"{glob.escape(assignment)}-*"):
            if older.stem != path.stem and re.fullmatch(rf"{re.escape(assignment)}-[0-9a-f]{{32}}", older.stem):
                with contextlib.suppress(OSError):
                    older.unlink()
    except OSError:
        return
