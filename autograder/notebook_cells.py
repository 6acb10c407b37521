"""Read an assignment's cells by their nbgrader role: solutions, tests, helper definitions."""
import os
from pathlib import Path

import nbformat

from .course import COURSE_ROOT

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def notebook_path(assignment, folder="source", root=COURSE_ROOT):
    return Path(root) / folder / assignment / f"{assignment}.ipynb"


def read(assignment, folder="source", root=COURSE_ROOT):
    return nbformat.read(str(notebook_path(assignment, folder, root)), as_version=4)


def role(cell):
    """``"solution"``, ``"test"``, ``"locked"`` or ``None`` from a cell's nbgrader metadata."""
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "test"
    if meta.get("locked"):
        return "locked"
    return None


def cells_by_role(notebook, wanted):
    """{grade_id: source} of the code cells with the given role, in notebook order."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
            if cell.cell_type == "code" and role(cell) == wanted}


def without_solution_markers(source):
    """The reference solution as a student would have typed it: the marker lines removed."""
    return "\n".join(line for line in source.split("\n")
                     if line.strip() not in SOLUTION_MARKERS)


def reference_namespace(assignment, root=COURSE_ROOT):
    """A namespace holding the reference solutions of an assignment, ready to run its test cells.

    It contains ``np``, ``tests`` (the assignment's visible tests, with ``import hidden_checks``
    giving its hidden checks: ``autograder/course_checks.py``), ``keras`` and ``layers`` when the
    notebook uses Keras, the locked cells that define helpers the solutions use (such as
    ``sigmoid``) and every solution cell.
    """
    import numpy as np

    from . import course, course_checks

    namespace = course_checks.cell_namespace(assignment, root, np=np)
    namespace["__name__"] = f"reference_{assignment}"
    notebook = read(assignment, root=root)
    if course.load(assignment, root).keras:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        from keras import layers

        namespace.update(keras=keras, layers=layers)
    for label, source in reference_cells(notebook):
        exec(compile(source, f"<{assignment} {label}>", "exec"), namespace)
    return namespace


def reference_cells(notebook):
    """[(label, source)] of the cells that define the reference solutions, in order: the locked
    cells that define helpers the solutions use (such as ``sigmoid``), then every solution cell."""
    helpers = [("helper cell", source) for source in cells_by_role(notebook, "locked").values()
               if "def " in source and "import coursekit" not in source]
    solutions = cells_by_role(notebook, "solution").items()
    return helpers + [(f"solution {grade_id}", source) for grade_id, source in solutions]


def run_cell(source, namespace, label="<test cell>"):
    """Execute one cell's source in ``namespace`` (a test cell, say); exceptions propagate."""
    exec(compile(source, label, "exec"), namespace)
