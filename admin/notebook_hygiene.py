"""Keep committed notebooks reviewable: no outputs, no execution counts, unique grade ids.

    python admin/notebook_hygiene.py strip NOTEBOOK...   # clean notebooks in place
    python admin/notebook_hygiene.py check NOTEBOOK...   # report problems, exit 1 if any
"""
import sys
from collections import Counter
from pathlib import Path

import nbformat

SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def strip_notebook(path):
    """Remove outputs, execution counts and run-time cell metadata, keeping nbgrader's."""
    notebook = nbformat.read(str(path), as_version=4)
    for cell in notebook.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, str(path))


def problems(path, released=False):
    """What is wrong with a committed notebook, as readable lines (empty when it is clean)."""
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # a corrupt notebook is reported, not raised
        return [f"{path}: cannot be read as a notebook ({error})"]
    found = []
    ids = Counter()
    for index, cell in enumerate(notebook.cells):
        where = f"{path}: cell {index}"
        if cell.cell_type == "code" and cell.outputs:
            found.append(f"{where} has outputs")
        if cell.cell_type == "code" and cell.execution_count is not None:
            found.append(f"{where} has an execution count")
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            ids[grade_id] += 1
        if released:
            for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
                if marker in cell.source:
                    found.append(f"{where} contains '{marker}' in a released notebook")
    found += [f"{path}: grade_id {name!r} is used {count} times" for name, count in ids.items() if count > 1]
    return found


def main(argv):
    if len(argv) < 2 or argv[0] not in ("strip", "check"):
        print(__doc__)
        return 2
    command, paths = argv[0], [Path(p) for p in argv[1:]]
    if command == "strip":
        for path in paths:
            strip_notebook(path)
        return 0
    found = [line for path in paths for line in problems(path, released="release" in path.parts)]
    print("\n".join(found) if found else f"{len(paths)} notebook(s) clean.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
