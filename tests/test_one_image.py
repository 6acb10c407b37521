"""Does every figure of the notebooks show once, not twice?

The source notebook of each assignment (the release notebook with the reference solutions, as a
student who answered them hands it in) runs in a real kernel in grading mode, as nbgrader runs a
student's notebook: the session's one grading-mode run of it (``notebook_runs.source_run``), which
other tests read too. Each code cell must show exactly as many images as it draws figures: one
per call of a drawing helper of ``coursekit.plotting`` (``show_*``, ``plot_*``) or of
``plt.show()``. A helper that returned its figure after showing it would show it a second time
when the cell ends with the call.
"""
import re

import pytest

from conftest import ASSIGNMENTS
from notebook_runs import GRADING, source_run

DRAWS = re.compile(r"\bplotting\.(?:show|plot)_\w+\(|\bplt\.show\(\)")


def figures_drawn(source):
    """How many figures a cell's code draws (comment lines left out)."""
    return sum(len(DRAWS.findall(line)) for line in source.splitlines() if not line.lstrip().startswith("#"))


def images_shown(cell):
    return sum(1 for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_cell_shows_one_image_per_figure_it_draws(assignment, course_root, data_cache):
    notebook = source_run(course_root, assignment, GRADING)
    errors = [(i, o.get("ename")) for i, c in enumerate(notebook.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    counts = {i: (figures_drawn(c.source), images_shown(c)) for i, c in enumerate(notebook.cells)
              if c.cell_type == "code"}
    assert any(drawn for drawn, _ in counts.values()), "no figure drawn: nothing checked"
    wrong = {i: f"draws {drawn}, shows {shown}" for i, (drawn, shown) in counts.items() if drawn != shown}
    assert wrong == {}
