"""Does nbgrader itself see each source notebook pass and each release notebook fail every test?"""
import pytest

from autograder.worker.nbgrader_cli import run_nbgrader
from conftest import ASSIGNMENTS
from notebook_runs import validation_of


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_passes_nbgrader_validate(course_root, data_cache, assignment):
    printed = validation_of(course_root, assignment)  # the session's grading-mode run of the source
    assert "Success! Your notebook passes all the tests." in printed, printed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_cell_of_the_release_fails_on_the_stubs(course_root, data_cache, assignment):
    result = run_nbgrader("validate", "--invert", f"release/{assignment}/{assignment}.ipynb", timeout=900)
    assert "Success! The notebook does not pass any tests." in result.stdout, result.stdout + result.stderr
