"""Figures recorded once from the reference and shown again in graded kernels (``coursekit/figures.py``).

A kernel that shows a recorded figure must publish exactly the output that drawing it would
have published; a figure that differs in anything (a value, a Matplotlib setting) or that shares
``plt.show()`` with another open figure is drawn; a corrupt entry is not used; and the recorded
folder tells a kernel nothing about a figure it does not draw itself. Each run is a real kernel
with the inline backend, as a graded notebook has.
"""
import ast

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from coursekit import figures, replay
from tests.notebook_runs import run_in_kernel
from tests.recorded_classes import grade_afresh

SETUP = """import sys
sys.path.insert(0, {root!r})
import matplotlib.pyplot as plt
import numpy as np
from coursekit import figures, plotting
%matplotlib inline
rng = np.random.default_rng(0)
pictures = rng.integers(0, 256, size=(8, 16, 16, 3), dtype=np.uint8)"""
RECORDED = [  # each shows one figure the recording also shows
    "plotting.show_images(pictures, titles=[f'picture {i}' for i in range(8)])",
    "plotting.plot_costs({'2 layers': [0.69, 0.41, 0.2], '4 layers': [0.77, 0.5, 0.31]}, every=100)",
    "plotting.plot_history({'loss': [1.0, 0.6], 'val_loss': [1.1, 0.8], 'accuracy': [0.5, 0.8]})",
]
CONFUSION = "plotting.plot_confusion([0, 1, 2, 2, 1], [0, 2, 2, 1, 1], ['cat', 'dog', 'bird'])"
ANOTHER_OPEN = "plt.figure()\nplt.plot([1, 2, 3])\nplotting.plot_costs([0.69, 0.41, 0.2], every=100)"
DIFFERENT = [  # only in the graded notebooks: the same helpers, drawing something else
    "plotting.plot_costs({'2 layers': [0.69, 0.41, 0.2000001], '4 layers': [0.77, 0.5, 0.31]}, every=100)",
    "with plt.rc_context({'lines.linewidth': 3.0}):\n"
    "    plotting.plot_costs({'2 layers': [0.69, 0.41, 0.2], '4 layers': [0.77, 0.5, 0.31]}, every=100)",
]
COUNTS = "from coursekit import figures\nprint('figures:', figures.shown)"


def run(course_root, cells):
    notebook = nbformat.v4.new_notebook(
        cells=[new_code_cell(SETUP.format(root=str(course_root))), *map(new_code_cell, cells), new_code_cell(COUNTS)])
    run_in_kernel(notebook, course_root, timeout=120)
    return notebook


def shown(cell):
    return [o for o in cell.outputs if o.output_type == "display_data"]


def counts(notebook):
    text = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    return ast.literal_eval(text.split("figures:", 1)[1].strip())


@pytest.fixture(scope="module")
def runs(course_root, tmp_path_factory):
    store = tmp_path_factory.mktemp("figures") / "recorded"
    graded_cells = [*RECORDED, ANOTHER_OPEN, *DIFFERENT, CONFUSION]
    with pytest.MonkeyPatch.context() as env:
        for name in (replay.FOLDER_VARIABLE, replay.RECORD_VARIABLE):
            env.delenv(name, raising=False)
        drawn = run(course_root, graded_cells)
        env.setenv(replay.RECORD_VARIABLE, str(store))
        recorded = run(course_root, [*RECORDED, ANOTHER_OPEN, CONFUSION])
        env.delenv(replay.RECORD_VARIABLE)
        env.setenv(replay.FOLDER_VARIABLE, str(store))
        replayed = run(course_root, graded_cells)
        corrupt = tmp_path_factory.mktemp("figures") / "corrupt"
        corrupt.mkdir()
        for entry in store.iterdir():
            data = bytearray(entry.read_bytes())
            data[len(data) // 2] ^= 0x01
            (corrupt / entry.name).write_bytes(bytes(data))
        env.setenv(replay.FOLDER_VARIABLE, str(corrupt))
        ignored = run(course_root, RECORDED)
    return dict(store=store, drawn=drawn, recorded=recorded, replayed=replayed, ignored=ignored)


def test_a_recorded_figure_is_shown_with_the_output_drawing_it_gives(runs):
    for index in range(1, len(RECORDED) + 1):
        drawn = shown(runs["drawn"].cells[index])
        assert len(drawn) == 1 and "image/png" in drawn[0]["data"], RECORDED[index - 1]
        assert shown(runs["recorded"].cells[index]) == drawn
        assert shown(runs["replayed"].cells[index]) == drawn, RECORDED[index - 1]
    assert counts(runs["recorded"]) == {"replayed": 0, "drawn": len(RECORDED) + 1, "recorded": len(RECORDED)}
    assert len(shown(runs["recorded"].cells[len(RECORDED) + 2])) == 1  # the confusion matrix, drawn, not kept
    assert len(list(runs["store"].iterdir())) == len(RECORDED)
    assert all(entry.name.endswith(figures.SUFFIX) for entry in runs["store"].iterdir())


def test_a_figure_that_differs_in_anything_or_shares_its_show_is_drawn(runs):
    first = len(RECORDED) + 1
    for index in range(first, first + 1 + len(DIFFERENT)):
        assert shown(runs["replayed"].cells[index]) == shown(runs["drawn"].cells[index])
    assert len(shown(runs["replayed"].cells[first])) == 2  # the open figure, then the helper's
    # the line width changes the picture: the recorded one would have been wrong
    assert shown(runs["drawn"].cells[first + 2]) != shown(runs["drawn"].cells[2])
    assert counts(runs["replayed"]) == {"replayed": len(RECORDED), "drawn": 1 + len(DIFFERENT), "recorded": 0}


def test_a_confusion_matrix_is_never_recorded(runs):
    """A kernel can ask whether an entry exists for a figure it describes: a few counts of
    predictions could be guessed one guess at a time, so their figure is always drawn."""
    recorded, replayed = runs["recorded"].cells[len(RECORDED) + 2], runs["replayed"].cells[-2]
    assert CONFUSION in recorded.source and CONFUSION in replayed.source
    assert shown(replayed) == shown(recorded) == shown(runs["drawn"].cells[-2])
    assert len(shown(recorded)) == 1 and len(list(runs["store"].iterdir())) == len(RECORDED)


def test_a_corrupt_entry_is_not_used(runs):
    for index in range(1, len(RECORDED) + 1):
        assert shown(runs["ignored"].cells[index]) == shown(runs["drawn"].cells[index])
    assert counts(runs["ignored"]) == {"replayed": 0, "drawn": len(RECORDED), "recorded": 0}


def test_the_recorded_folder_tells_nothing_without_the_figure(runs):
    for entry in runs["store"].iterdir():
        data = entry.read_bytes()
        assert b"PNG" not in data and b"iVBORw0KGgo" not in data and b"image/png" not in data, entry.name


def test_without_a_folder_nothing_is_looked_up(monkeypatch):
    monkeypatch.delenv(replay.FOLDER_VARIABLE, raising=False)
    monkeypatch.delenv(replay.RECORD_VARIABLE, raising=False)
    figure = figures.Figure("plot_costs", [[], "title"])
    assert figure.material is None and not figure.replayed()


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
def test_the_harness_records_beside_the_class_and_replayed_figures_are_the_drawn_ones(tmp_path, course_root,
                                                                                     data_cache):
    """On a machine without a recording, with two workers: the first records the reference while
    the second grades, its kernels drawing every figure; the kernels started once the recording
    is kept show the recorded figures. Every graded notebook shows the same figures, byte for
    byte, whichever way they came, and every score is the reference's."""
    assignment = "a02_cat_dnn"
    students = [f"figures-{n}" for n in range(1, 5)]
    graded, recordings = grade_afresh(tmp_path, course_root, assignment, dict.fromkeys(students, {}), COUNTS, jobs=2)
    graded = [graded[student] for student in students]
    (recording,) = recordings
    assert sorted(entry.suffix for entry in recording.iterdir()) == [figures.SUFFIX] * 6  # no Keras in a02
    rows = (tmp_path / "out" / "grades.csv").read_text()
    assert all(f"{student},{assignment},30" in rows for student in students), rows
    seen = [counts(notebook) for notebook in graded]
    assert seen[0] == {"replayed": 0, "drawn": 6, "recorded": 0}  # graded while the reference was recorded
    assert {"replayed": 6, "drawn": 0, "recorded": 0} in seen[1:], seen
    pictures = [[o for cell in notebook.cells if cell.cell_type == "code" for o in shown(cell) if "image/png" in o.data]
                for notebook in graded]
    assert len(pictures[0]) == 6 and all(p == pictures[0] for p in pictures[1:])
