"""Does the a03 notebook run for real, validate as nbgrader sees it, reach its accuracies, and keep
a full-data run within a lesson?"""
import re

import nbformat
import numpy as np
import pytest

from conftest import ROOT
from notebook_runs import FULL, graded_run, source_run, stderr_of, text_of

ASSIGNMENT = "a03_cnn_mnist_cifar"
NOTEBOOK = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LESSON_MINUTES = 15
# What a full-data run does besides training (loading, the Adadelta trial, evaluations on 10,000
# test pictures and photos, the figures), as the notebook states it.
OTHER_WORK_MINUTES = 2


def figures(printed, network):
    """(epochs, seconds, test accuracy in %) that the notebook printed for ``network``."""
    found = re.search(rf"{network}: (\d+) epochs? in (\d+) s, test accuracy ([\d.]+) %", printed)
    assert found, f"no result printed for {network}"
    return int(found.group(1)), int(found.group(2)), float(found.group(3))


def largest_differences(printed):
    """The differences from Keras that the notebook printed, as numbers."""
    return [float(value) for value in re.findall(r"largest difference[^:]*: ([-+.\de]+)", printed)]


def figures_shown_twice(notebook):
    """Cells whose result (the value of their last line) is a figure that was also shown."""
    return [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for output in cell.outputs if output.output_type == "execute_result"
            and ("image/png" in output.get("data", {}) or "<Figure" in output.get("data", {}).get("text/plain", ""))]


@pytest.mark.full_mode
def test_reference_reaches_the_stated_accuracies_in_full_mode(course_root, data_cache):
    notebook = source_run(course_root, ASSIGNMENT, FULL)
    printed = text_of(notebook)
    results = {network: figures(printed, network) for network in ("net_1", "net_2", "cifar_net")}
    print("full mode (epochs, seconds, test accuracy %):", results)
    # The course's subsets: 20 epochs for the MNIST networks and 30 for cifar_net fit in the time.
    assert [epochs for epochs, _, _ in results.values()] == [20, 20, 30]
    assert results["net_1"][2] >= 98.0
    assert results["net_2"][2] >= 97.5
    assert results["cifar_net"][2] >= 45.0
    assert "MNIST training pictures found: 5,000: the course's subset" in printed
    assert "CIFAR-10 training photos found: 2,000: the course's subset" in printed
    assert "learning rate of the 'adadelta' string: 0.001" in printed
    assert "same as keras.utils.to_categorical: True" in printed
    # conv_forward and pool_forward agree with Keras's layers, on the examples and on a digit.
    differences = largest_differences(printed)
    assert len(differences) == 4 and max(differences) < 1e-5, differences
    assert figures_shown_twice(notebook) == []
    assert stderr_of(notebook) == []


def test_graded_run_is_short_and_writes_nothing_to_stderr(course_root, data_cache):
    printed = graded_run(course_root, ASSIGNMENT, 7)
    assert "training: (600, 28, 28)" in printed
    assert "net_1: 1 epoch in" in printed and "cifar_net: 1 epoch in" in printed


def epochs_cell():
    """The source of the cell that turns the measured speeds into epochs."""
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    found = [cell.source for cell in notebook.cells if cell.cell_type == "code" and "def epochs_for" in cell.source]
    assert len(found) == 1
    return found[0]


def planned(n_mnist):
    """The namespace of the epochs cell run for ``n_mnist`` MNIST training pictures, full mode."""
    namespace = {"np": np, "budget": lambda full, grading: full, "mnist_x_train": np.zeros((n_mnist, 1))}
    exec(compile(epochs_cell(), "<epochs cell>", "exec"), namespace)
    return namespace


def test_the_full_public_sets_train_within_a_lesson_at_the_measured_speeds():
    """On the full public sets (60,000 MNIST and 50,000 CIFAR-10 training pictures, a tenth of each
    kept for validation), the epochs the notebook derives fit in 15 minutes with the rest."""
    namespace = planned(60_000)
    speed, epochs_for = namespace["SECONDS_PER_1000"], namespace["epochs_for"]
    mnist_epochs = namespace["mnist_epochs"]
    cifar_epochs = epochs_for("CIFAR-10", ("cifar_net",), 45_000, most=30)
    assert (mnist_epochs, cifar_epochs) == (2, 2)
    seconds = (mnist_epochs * 54 * (speed["net_1"] + speed["net_2"]) + cifar_epochs * 45 * speed["cifar_net"])
    assert seconds / 60 + OTHER_WORK_MINUTES <= LESSON_MINUTES


def test_the_course_subsets_get_more_epochs_and_never_fewer_than_one():
    namespace = planned(5_000)
    assert namespace["mnist_epochs"] == 20
    assert namespace["epochs_for"]("CIFAR-10", ("cifar_net",), 1_800, most=30) == 30
    assert namespace["epochs_for"]("CIFAR-10", ("cifar_net",), 10_000_000, most=30) == 1
