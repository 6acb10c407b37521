"""Do the notebook helpers choose the grading budget, find the style sheet and count as documented?"""
import numpy as np
import pytest

from coursekit import budget, grading_mode, in_grading_mode
from coursekit.notebook import find_css


@pytest.mark.parametrize("value, mode", [("autograde", "autograde"), ("validate", "validate"),
                                         (" Autograde ", "autograde"), ("", None), ("yes", None)])
def test_grading_mode_follows_nbgrader_execution(monkeypatch, value, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", value)
    assert grading_mode() == mode
    assert in_grading_mode() == (mode is not None)
    assert budget(full=2000, grading=100) == (100 if mode else 2000)


def test_without_nbgrader_students_get_the_full_budget(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert budget(full=None, grading=120) is None


def test_style_sheet_is_found_beside_the_notebook_first_then_in_admin(tmp_path):
    course = tmp_path / "course"
    (course / "admin").mkdir(parents=True)
    (course / "admin" / "custom.css").write_text("h1 {}")
    notebook_folder = course / "autograded" / "student" / "a01"
    notebook_folder.mkdir(parents=True)
    assert find_css(notebook_folder) == course / "admin" / "custom.css"
    (notebook_folder / "custom.css").write_text("h2 {}")
    assert find_css(notebook_folder) == notebook_folder / "custom.css"


def test_no_style_sheet_anywhere_is_not_an_error(tmp_path):
    assert find_css(tmp_path) is None


def test_confusion_matrix_counts_true_classes_in_rows_and_predictions_in_columns():
    from coursekit.plotting import confusion_matrix

    counts = confusion_matrix(np.array([[0], [1], [1], [2], [2], [2]]), np.array([0, 1, 2, 2, 0, 2]), 4)
    assert counts.tolist() == [[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
