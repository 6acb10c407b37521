"""Does the a02 notebook run for real, validate as nbgrader sees it, and reach its accuracies?"""
import re

import pytest

from notebook_runs import FULL, graded_run, source_run, stderr_of, text_of

ASSIGNMENT = "a02_cat_dnn"


def accuracy(printed, network, split):
    found = re.search(rf"{network} network, {split} set:\s+accuracy: ([\d.]+) %", printed)
    assert found, f"no {network} {split} accuracy printed"
    return float(found.group(1))


@pytest.fixture(scope="module")
def full_run(course_root, data_cache):
    return source_run(course_root, ASSIGNMENT, FULL)


@pytest.mark.full_mode
def test_reference_reaches_the_accuracies_of_the_issue_in_full_mode(full_run):
    printed = text_of(full_run)
    figures = {(network, split): accuracy(printed, network, split)
               for network in ("2-layer", "4-layer") for split in ("training", "test")}
    print("full-mode accuracies:", figures)
    assert figures[("4-layer", "training")] >= 98.0
    assert figures[("4-layer", "test")] >= 80.0
    assert figures[("2-layer", "test")] >= 72.0
    assert "cost after iteration 2400" in printed
    assert stderr_of(full_run) == []


@pytest.mark.full_mode
def test_small_start_stalls_and_the_gradient_check_passes_in_full_mode(full_run):
    printed = text_of(full_run)
    assert "the gradients look right" in printed
    stalled = float(re.search(r"0.01 start, cost at iteration 1400: ([\d.]+)", printed).group(1))
    base_rate = float(re.search(r"for every picture: ([\d.]+)", printed).group(1))
    assert abs(stalled - base_rate) < 0.01, (stalled, base_rate)


def test_graded_run_of_the_source_is_quick_and_writes_nothing_to_stderr(course_root, data_cache):
    graded_run(course_root, ASSIGNMENT, 15)
