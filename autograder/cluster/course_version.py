"""A fingerprint of everything grading one assignment reads from the course.

The coordinator sends it with each job; a worker computes it over its own copy of the course and
refuses the job when they differ (a worker left on last week's copy would grade with last week's
tests). It covers the harness, the course's nbgrader configuration, the assignment's source,
release and room, and the checks every assignment shares; caches and checkpoints are left out.
"""
import functools
import hashlib
from pathlib import Path

from ..course import COURSE_ROOT

SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def _parts(assignment):
    return ("nbgrader_config.py", "autograder", "assignments/check_helpers.py", f"assignments/{assignment}",
            f"source/{assignment}", f"release/{assignment}")


def _files(root, part):
    path = root / part
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not set(p.relative_to(root).parts) & set(SKIPPED)
                  and not (part == "autograder" and p.suffix != ".py"))


@functools.lru_cache(maxsize=None)
def course_version(assignment, root=COURSE_ROOT):
    """sha256 (hex) of the files that grading ``assignment`` reads under ``root``, with their paths."""
    root = Path(root)
    digest = hashlib.sha256()
    for part in _parts(assignment):
        for path in _files(root, part):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
