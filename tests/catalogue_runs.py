"""Run an assignment's test cells (visible and hidden tests together) outside a notebook.

The cells are read from the source notebook and run in a namespace holding the reference
solutions, in which one function may be swapped for a catalogued mistake.
"""
import contextlib
import functools
import io
import warnings

from autograder import notebook_cells
from known_submissions.ghosts import all_mistakes  # noqa: F401 - the catalogue's, for the tests


@functools.lru_cache(maxsize=None)
def graded_cells(assignment):
    return notebook_cells.cells_by_role(notebook_cells.read(assignment), "test")


@functools.lru_cache(maxsize=None)
def _reference(assignment):
    with contextlib.redirect_stdout(io.StringIO()):
        return notebook_cells.reference_namespace(assignment)


def reference(assignment):
    """A fresh copy of the namespace holding the assignment's reference solutions."""
    return dict(_reference(assignment))


def with_source(namespace, source, label="<student cell>"):
    """``namespace`` after running ``source`` in it (a student's version of a function)."""
    exec(compile(source, label, "exec"), namespace)
    return namespace


def run_test_cell(assignment, function, namespace):
    """Run test_<function>'s cell; returns what it printed. Warnings become errors."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook_cells.run_cell(graded_cells(assignment)[f"test_{function}"], namespace, f"<test_{function}>")
    return printed.getvalue()
