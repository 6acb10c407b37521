"""Ghost students whose notebooks break the grading rather than the maths.

Each fault takes the reference ghost notebook of an assignment and changes it the way a student,
a crash or a file system can; ``FAULTS`` maps a ghost student id to (fault, expected status).
They prove that one broken submission costs only its own student.
"""
import copy

import nbformat
from nbformat.corpus.words import generate_corpus_id

from .ghosts import ghost_notebook


def _index(notebook, grade_id):
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


def _first_test(notebook):
    return next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade"))


def _last_test(notebook):
    return max(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade"))


def kernel_dies_before_last_test(notebook):
    notebook.cells.insert(_last_test(notebook), nbformat.v4.new_code_cell("import os\nos._exit(1)"))


def warns_on_stderr(notebook):
    """A correct first function that prints a warning on stderr each time it is called."""
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution"))
    name = cell.metadata["nbgrader"]["grade_id"]
    cell.source += (
        "\n\nimport functools, sys\n\n"
        f"@functools.wraps({name})\n"
        f"def {name}(*args, _correct={name}, **kwargs):\n"
        "    sys.stderr.write('RuntimeWarning: overflow encountered in exp\\n')\n"
        "    return _correct(*args, **kwargs)\n")


def duplicated_test_cell(notebook):
    index = _first_test(notebook)
    twin = copy.deepcopy(notebook.cells[index])
    twin["id"] = generate_corpus_id()
    notebook.cells.insert(index + 1, twin)


def split_test_cell(notebook):
    index = _first_test(notebook)
    second = copy.deepcopy(notebook.cells[index])
    second["id"] = generate_corpus_id()
    second.metadata["nbgrader"]["grade_id"] += "_part2"
    second.source = "print('the second half of a split cell')"
    notebook.cells.insert(index + 1, second)


def metadata_stripped(notebook):
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)


def test_cell_deleted(notebook):
    del notebook.cells[_first_test(notebook)]


def test_cell_replaced(notebook):
    notebook.cells[_first_test(notebook)].source = "print('All tests passed')"


def sleeps_forever(notebook):
    notebook.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))
    notebook.cells.insert(2, nbformat.v4.new_code_cell("import time\ntime.sleep(3600)"))


# ghost id -> (fault, status); scores are checked by the tests that use them
FAULTS = {
    "ghost-kernel-dies": (kernel_dies_before_last_test, "graded"),
    "ghost-warns-on-stderr": (warns_on_stderr, "graded"),
    "ghost-duplicated-test-cell": (duplicated_test_cell, "invalid"),
    "ghost-split-test-cell": (split_test_cell, "invalid"),
    "ghost-metadata-stripped": (metadata_stripped, "invalid"),
    "ghost-test-cell-deleted": (test_cell_deleted, "graded"),
    "ghost-test-cell-replaced": (test_cell_replaced, "graded"),
}


def faulty_notebook(assignment, fault):
    notebook = ghost_notebook(assignment, {})
    fault(notebook)
    return notebook


def write_faulty(assignment, submissions_dir, faults):
    """Write SUBMISSIONS/<ghost>/<assignment>/<assignment>.ipynb for each (ghost id -> fault)."""
    for student_id, fault in faults.items():
        folder = submissions_dir / student_id / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(faulty_notebook(assignment, fault), str(folder / f"{assignment}.ipynb"))
