"""Do a01's test cells pass the reference and catch every catalogued mistake, with a useful message?

The test cells are read from the source notebook (visible tests and hidden tests together) and
run in a namespace holding the reference solutions, with one function swapped for a mistake.
"""
import contextlib
import io
import warnings

import pytest

from autograder import notebook_cells
from autograder.ghosts.a01_santa_logreg import MISTAKES

ASSIGNMENT = "a01_santa_logreg"
TEST_CELLS = notebook_cells.cells_by_role(notebook_cells.read(ASSIGNMENT), "test")
ALL_MISTAKES = [m for mistakes in MISTAKES.values() for m in mistakes]


@pytest.fixture(scope="module")
def reference():
    with contextlib.redirect_stdout(io.StringIO()):
        return notebook_cells.reference_namespace(ASSIGNMENT)


def run_test_cell(function, namespace):
    """Run test_<function>'s cell; returns what it printed. Warnings become errors."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook_cells.run_cell(TEST_CELLS[f"test_{function}"], namespace, f"<test_{function}>")
    return printed.getvalue()


def test_every_graded_function_has_at_least_five_catalogued_mistakes():
    assert sorted(MISTAKES) == sorted(name[len("test_"):] for name in TEST_CELLS)
    for function, mistakes in MISTAKES.items():
        assert len(mistakes) >= 5, f"{function}: only {len(mistakes)} mistakes catalogued"
        assert len({m.name for m in mistakes}) == len(mistakes)


@pytest.mark.parametrize("function", sorted(MISTAKES))
def test_reference_passes_visible_and_hidden_tests(reference, function):
    printed = run_test_cell(function, dict(reference))
    assert f"{function}: visible tests passed." in printed
    assert f"{function}: hidden tests passed." in printed


@pytest.mark.parametrize("mistake", ALL_MISTAKES, ids=lambda m: f"{m.function}-{m.name}")
def test_catalogued_mistake_fails_with_a_message_naming_what_differs(reference, mistake):
    namespace = dict(reference)
    exec(compile(mistake.source, f"<mistake {mistake.name}>", "exec"), namespace)
    with pytest.raises(AssertionError) as failure:
        run_test_cell(mistake.function, namespace)
    message = str(failure.value)
    assert message.startswith(f"{mistake.function}: "), message
    assert mistake.expect in message, message


@pytest.mark.parametrize("mistake", ALL_MISTAKES, ids=lambda m: f"{m.function}-{m.name}")
def test_failure_messages_do_not_reveal_expected_arrays(reference, mistake):
    namespace = dict(reference)
    exec(compile(mistake.source, f"<mistake {mistake.name}>", "exec"), namespace)
    with pytest.raises(AssertionError) as failure:
        run_test_cell(mistake.function, namespace)
    message = str(failure.value)
    # Expected values of the visible cases, which must not be printed back.
    for secret in ("-0.4710", "0.4320", "1.5366", "0.4736", "1.9820", "0.4779"):
        assert secret not in message, message


def test_a_visible_test_leaves_no_warning_for_a_correct_answer_that_overflows(reference):
    namespace = dict(reference)
    # exp overflows for large negative z: correct values, but numpy warns.
    exec("def propagate(w, b, x, y):\n"
         "    m = x.shape[1]\n"
         "    y_hat = 1 / (1 + np.exp(-(w.T @ x + b)))\n"
         "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
         "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n", namespace)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        run_test_cell("propagate", namespace)
    assert stderr.getvalue() == ""
