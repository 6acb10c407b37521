"""Does the a01 notebook run for real, validate as nbgrader sees it, and reach its accuracy?"""
import re
import shutil

import nbformat
import pytest

from notebook_runs import FULL, GRADING, run_in_kernel, source_run, stderr_of, text_of

ASSIGNMENT = "a01_santa_logreg"


@pytest.mark.full_mode
def test_reference_reaches_75_percent_on_the_validation_images_in_full_mode(course_root, data_cache):
    notebook = source_run(course_root, ASSIGNMENT, FULL)
    printed = text_of(notebook)
    assert "test images:     (132, 64, 64, 3)" in printed
    accuracies = [float(a) for a in re.findall(r"test accuracy:\s+([\d.]+) %", printed)]
    # The first model() call on the images is the 2,000-iteration run of section 9.
    training_run = printed.split("cost after iteration 1950")[1]
    final = float(re.search(r"test accuracy:\s+([\d.]+) %", training_run).group(1))
    print(f"full-mode test accuracy: {final} % (all runs: {accuracies})")
    assert final >= 75.0
    assert stderr_of(notebook) == []


def test_graded_run_of_the_source_writes_nothing_to_stderr(course_root, data_cache):
    notebook = source_run(course_root, ASSIGNMENT, GRADING)
    printed = text_of(notebook)
    assert f"Grading mode ({GRADING})" in printed
    assert "training images: (120, 64, 64, 3)" in printed
    assert stderr_of(notebook) == []


@pytest.mark.parametrize("place", ["source", "release", "student home without the style sheet"])
def test_first_cells_find_the_helpers_wherever_the_notebook_is_opened(course_root, tmp_path, monkeypatch, place):
    if place in ("source", "release"):
        folder = course_root / place / ASSIGNMENT
    else:
        folder = tmp_path / "home" / "student" / ASSIGNMENT
        shutil.copytree(course_root / "release" / ASSIGNMENT, folder)
        (folder / "custom.css").unlink()
        monkeypatch.chdir(tmp_path)
    notebook = nbformat.read(str(folder / f"{ASSIGNMENT}.ipynb"), as_version=4)
    notebook.cells = notebook.cells[:3] + [nbformat.v4.new_code_cell(
        "print('helpers at', coursekit.__file__)\nprint('tests at', tests.__file__)")]
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    run_in_kernel(notebook, folder, 120)
    printed = text_of(notebook)
    assert f"helpers at {folder / 'coursekit' / '__init__.py'}" in printed
    assert f"tests at {folder / 'problem_unittests.py'}" in printed
    styled = any("<style>" in o.get("data", {}).get("text/html", "") for o in notebook.cells[1].outputs)
    assert styled == (place != "student home without the style sheet")
