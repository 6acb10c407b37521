"""Does every figure of the notebooks show once, not twice?

The release notebook of each assignment, answered with the reference solutions (a ghost student
handing in the references), runs in a real kernel in grading mode, as a student's notebook would
run, only quicker. Each code cell must show exactly as many images as it draws figures: one per
call of a drawing helper of ``coursekit.plotting`` (``show_*``, ``plot_*``) or of ``plt.show()``.
A helper that returned its figure after showing it would show it a second time when the cell
ends with the call.
"""
import re
import shutil
import time

import pytest
from nbclient import NotebookClient

from conftest import ASSIGNMENTS
from known_submissions.ghosts import ghost_notebook

DRAWS = re.compile(r"\bplotting\.(?:show|plot)_\w+\(|\bplt\.show\(\)")


def figures_drawn(source):
    """How many figures a cell's code draws (comment lines left out)."""
    return sum(len(DRAWS.findall(line)) for line in source.splitlines() if not line.lstrip().startswith("#"))


def images_shown(cell):
    return sum(1 for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_cell_shows_one_image_per_figure_it_draws(assignment, course_root, data_cache, tmp_path, monkeypatch):
    folder = tmp_path / assignment
    shutil.copytree(course_root / "release" / assignment, folder)
    notebook = ghost_notebook(assignment, {})
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    started = time.monotonic()
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    print(f"{assignment}: {time.monotonic() - started:.1f} s")
    errors = [(i, o.get("ename")) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    counts = {i: (figures_drawn(c.source), images_shown(c)) for i, c in enumerate(notebook.cells)
              if c.cell_type == "code"}
    assert any(drawn for drawn, _ in counts.values()), "no figure drawn: nothing checked"
    wrong = {i: f"draws {drawn}, shows {shown}" for i, (drawn, shown) in counts.items() if drawn != shown}
    assert wrong == {}
