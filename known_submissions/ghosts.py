"""Ghost students: notebooks answered from an assignment's reference solutions and catalogued
mistakes (``assignments/<id>/mistakes.py``), for the demo, the tests and the benchmarks."""
import functools
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat

from autograder import course, notebook_cells


@functools.lru_cache(maxsize=None)
def _mistakes_module(path):
    name = f"mistakes_of_{Path(path).parent.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def mistakes_of(assignment, root=course.COURSE_ROOT):
    """The assignment's catalogue module: ``MISTAKES`` ({graded function: [Mistake, ...]}) and,
    where it has written answers, ``WRITTEN_ANSWERS`` ({answer cell: text})."""
    return _mistakes_module(str(course.load(assignment, root).room / "mistakes.py"))


def all_mistakes(assignment, root=course.COURSE_ROOT):
    return [m for mistakes in mistakes_of(assignment, root).MISTAKES.values() for m in mistakes]


def demo_class(assignment, root=course.COURSE_ROOT):
    """The demo class of the manifest: student id -> None (blank) or {graded function: mistake}."""
    return course.load(assignment, root).demo_class


def mixed_class(assignment, size, prefix="ghost-", root=course.COURSE_ROOT):
    """{student id: answers} of ``size`` ghosts at most: the reference, a blank notebook, then one
    catalogued mistake each, taken from each graded function in turn (for benchmarks)."""
    students = {f"{prefix}reference": {}, f"{prefix}blank": None}
    catalogue = mistakes_of(assignment, root).MISTAKES
    for index in range(max(len(m) for m in catalogue.values())):
        for function, mistakes in catalogue.items():
            if len(students) < size and index < len(mistakes):
                students[f"{prefix}{function}-{mistakes[index].name}".replace("_", "-")] = \
                    {function: mistakes[index].name}
    return dict(list(students.items())[:size])


def ghost_notebook(assignment, answers, root=course.COURSE_ROOT):
    """The release notebook answered as a ghost student would.

    ``answers`` is None for a blank submission (the release as handed out), else a dict
    {graded function: mistake name}; functions not named get the reference solution, and written
    answers graded by hand get the catalogue's ``WRITTEN_ANSWERS``.
    """
    notebook = notebook_cells.read(assignment, folder="release", root=root)
    if answers is None:
        return notebook
    references = notebook_cells.cells_by_role(notebook_cells.read(assignment, root=root), "solution")
    catalogue = mistakes_of(assignment, root)
    written = getattr(catalogue, "WRITTEN_ANSWERS", {})
    for cell in notebook.cells:
        if notebook_cells.role(cell) != "solution":
            continue
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if cell.cell_type == "markdown":  # a written answer, graded by hand
            cell.source = written.get(grade_id, cell.source)
            continue
        if grade_id in answers:
            chosen = [m for m in catalogue.MISTAKES[grade_id] if m.name == answers[grade_id]]
            if not chosen:
                raise KeyError(f"no mistake {answers[grade_id]!r} for {grade_id} in the catalogue")
            cell.source = chosen[0].source.rstrip("\n")
        else:
            cell.source = notebook_cells.without_solution_markers(references[grade_id])
    return notebook


def write_class(assignment, submissions_dir, students, root=course.COURSE_ROOT):
    """Write SUBMISSIONS/<student>/<assignment>/<assignment>.ipynb for each ghost student."""
    for student_id, answers in students.items():
        folder = Path(submissions_dir) / student_id / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(ghost_notebook(assignment, answers, root), str(folder / f"{assignment}.ipynb"))


def remove_merged(students, root=course.COURSE_ROOT):
    """Remove what grading merged into the course's ``autograded/`` and ``feedback/`` folders for
    the ghost ``students`` (their ids), leaving those folders as they were before."""
    for student in students:
        for kind in ("autograded", "feedback"):
            shutil.rmtree(Path(root) / kind / student, ignore_errors=True)
