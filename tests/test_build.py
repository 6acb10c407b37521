"""Is everything generated and committed up to date, clean, and free of answers?"""
import nbformat
import pytest

import build
import notebook_hygiene
from conftest import ASSIGNMENTS

GRADED_FUNCTIONS = {
    "a01_santa_logreg": ["init_w", "propagate", "optimization", "prediction", "model"],
    "a02_cat_dnn": ["sigmoid", "relu", "sigmoid_backward", "relu_backward", "initialize_parameters_deep",
                    "linear_forward", "linear_activation_forward", "L_model_forward", "compute_cost",
                    "linear_backward", "linear_activation_backward", "L_model_backward",
                    "update_parameters", "L_layer_model", "predict"],
    "a03_cnn_mnist_cifar": ["normalise_images", "one_hot", "net_1", "net_2", "cifar_net"],
    "a04_knn_mlp_transfer": ["compute_distances", "KNearestNeighbor", "cross_validation_accuracies",
                             "softmax_cross_entropy", "MLP", "transfer_model"],
}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_vendored_copies_are_identical_to_their_originals(assignment):
    assert build.stale_vendored_copies(assignment) == []


def test_a_vendored_copy_edited_by_hand_is_detected(course_root, tmp_path, monkeypatch):
    copy = course_root / "source" / ASSIGNMENTS[0] / "problem_unittests.py"
    original = copy.read_text()
    try:
        copy.write_text(original + "\n# edited by hand\n")
        assert "source/a01_santa_logreg/problem_unittests.py" in build.stale_vendored_copies(ASSIGNMENTS[0])
    finally:
        copy.write_text(original)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_nbgrader_generates_from_source(assignment):
    assert build.stale_release_files(assignment) == []


def committed_notebooks(course_root):
    return sorted(course_root.glob("source/*/*.ipynb")) + sorted(course_root.glob("release/*/*.ipynb"))


def test_committed_notebooks_have_no_outputs_counts_or_answers_and_unique_ids(course_root):
    notebooks = committed_notebooks(course_root)
    assert len(notebooks) == 2 * len(ASSIGNMENTS)
    problems = [line for path in notebooks
                for line in notebook_hygiene.problems(path, released="release" in path.parts)]
    assert problems == []


def test_hygiene_check_finds_outputs_markers_and_repeated_ids(tmp_path):
    cell = nbformat.v4.new_code_cell("x = 1  ### BEGIN SOLUTION", execution_count=3,
                                     outputs=[nbformat.v4.new_output("stream", text="1")])
    cell.metadata["nbgrader"] = {"grade_id": "same"}
    twin = nbformat.v4.new_code_cell("y = 2")
    twin.metadata["nbgrader"] = {"grade_id": "same"}
    path = tmp_path / "release" / "bad.ipynb"
    path.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, twin]), str(path))
    found = "\n".join(notebook_hygiene.problems(path, released=True))
    assert "has outputs" in found and "execution count" in found
    assert "BEGIN SOLUTION" in found and "'same' is used 2 times" in found


# Written answers graded by hand: markdown cells that are both answer and grade cells.
WRITTEN_ANSWERS = {
    "a04_knn_mlp_transfer": ["answer_validation", "answer_cnn_vs_mlp", "answer_hyperparameters", "answer_transfer"],
}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_defines_the_graded_functions_of_the_design(course_root, assignment):
    notebook = nbformat.read(str(course_root / "source" / assignment / f"{assignment}.ipynb"), 4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    solutions = [c.metadata["nbgrader"]["grade_id"] for c in code if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c.metadata["nbgrader"]["grade_id"] for c in code if c.metadata.get("nbgrader", {}).get("grade")]
    assert solutions == GRADED_FUNCTIONS[assignment]
    assert tests == [f"test_{name}" for name in GRADED_FUNCTIONS[assignment]]
    for cell in code:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert "BEGIN HIDDEN TESTS" in cell.source, f"{cell.metadata['nbgrader']['grade_id']} has no hidden tests"
    written = [c for c in notebook.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert [c.metadata["nbgrader"]["grade_id"] for c in written] == WRITTEN_ANSWERS.get(assignment, [])
    for cell in written:
        meta = cell.metadata["nbgrader"]
        assert meta["solution"] and meta["points"] > 0
        # The model answer and the rubric sit in the solution region, which the release replaces.
        assert cell.source.startswith("### BEGIN SOLUTION") and "**Rubric" in cell.source
