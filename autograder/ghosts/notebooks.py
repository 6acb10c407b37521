"""Write ghost students' notebooks: the release notebook with answers filled in."""
import importlib
from pathlib import Path

import nbformat

from .. import notebook_cells


def mistakes_of(assignment):
    """The assignment's catalogue module (MISTAKES, DEMO_CLASS)."""
    return importlib.import_module(f"autograder.ghosts.{assignment}")


def ghost_notebook(assignment, answers):
    """The release notebook answered as a ghost student would.

    ``answers`` is None for a blank submission (the release as handed out), else a dict
    {graded function: mistake name}; functions not named get the reference solution, and written
    answers graded by hand get the catalogue's ``WRITTEN_ANSWERS``.
    """
    notebook = notebook_cells.read(assignment, folder="release")
    if answers is None:
        return notebook
    references = notebook_cells.cells_by_role(notebook_cells.read(assignment), "solution")
    catalogue = mistakes_of(assignment).MISTAKES
    written = getattr(mistakes_of(assignment), "WRITTEN_ANSWERS", {})
    for cell in notebook.cells:
        if notebook_cells.role(cell) != "solution":
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if cell.cell_type == "markdown":  # a written answer, graded by hand
            cell.source = written.get(grade_id, cell.source)
            continue
        if grade_id in answers:
            chosen = [m for m in catalogue[grade_id] if m.name == answers[grade_id]]
            if not chosen:
                raise KeyError(f"no mistake {answers[grade_id]!r} for {grade_id} in the catalogue")
            cell.source = chosen[0].source.rstrip("\n")
        else:
            cell.source = notebook_cells.without_solution_markers(references[grade_id])
    return notebook


def write_class(assignment, submissions_dir, students):
    """Write SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb for each ghost student."""
    for student_id, answers in students.items():
        folder = Path(submissions_dir) / student_id / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(ghost_notebook(assignment, answers), str(folder / f"{assignment}.ipynb"))
