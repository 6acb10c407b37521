"""Does the a03 notebook run for real, validate as nbgrader sees it, and reach its accuracies?"""
import re

from notebook_runs import execute, graded_run, stderr_of, text_of

ASSIGNMENT = "a03_cnn_mnist_cifar"


def figures(printed, network):
    """(epochs, seconds, test accuracy in %) that the notebook printed for ``network``."""
    found = re.search(rf"{network}: (\d+) epochs in (\d+) s, test accuracy ([\d.]+) %", printed)
    assert found, f"no result printed for {network}"
    return int(found.group(1)), int(found.group(2)), float(found.group(3))


def test_reference_reaches_the_accuracies_of_the_issue_in_full_mode(course_root, data_cache, monkeypatch):
    notebook = execute(course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                       course_root / "source" / ASSIGNMENT, monkeypatch=monkeypatch, timeout=900)
    printed = text_of(notebook)
    results = {network: figures(printed, network) for network in ("net_1", "net_2", "cifar_net")}
    print("full mode (epochs, seconds, test accuracy %):", results)
    assert results["net_1"][2] >= 97.5
    assert results["cifar_net"][2] >= 45.0
    assert "learning rate of the 'adadelta' string: 0.001" in printed
    assert "same as keras.utils.to_categorical: True" in printed
    assert stderr_of(notebook) == []


def test_graded_run_is_short_and_writes_nothing_to_stderr(course_root, data_cache, monkeypatch):
    printed = graded_run(course_root, ASSIGNMENT, monkeypatch, 5)
    assert "training: (600, 28, 28)" in printed
