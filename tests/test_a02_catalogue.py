"""Do a02's test cells pass the reference and catch every catalogued mistake, with a useful message?

The test cells are read from the source notebook (visible tests and hidden tests together) and
run in a namespace holding the reference solutions, with one function swapped for a mistake.
"""
import contextlib
import io
import linecache
import warnings

import pytest

from autograder import notebook_cells
from autograder.ghosts.a02_cat_dnn import MISTAKES

ASSIGNMENT = "a02_cat_dnn"
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


def test_every_graded_function_has_at_least_four_catalogued_mistakes():
    assert sorted(MISTAKES) == sorted(name[len("test_"):] for name in TEST_CELLS)
    for function, mistakes in MISTAKES.items():
        assert len(mistakes) >= 4, f"{function}: only {len(mistakes)} mistakes catalogued"
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
    for secret in ("0.05249", "0.01538", "0.45407", "0.24080", "0.09775", "0.3226"):
        assert secret not in message, message


def test_a_correct_answer_that_overflows_leaves_no_warning(reference):
    namespace = dict(reference)
    # exp overflows for large negative Z (the hidden test uses -800): correct values, but numpy warns.
    exec("def sigmoid(Z):\n    return 1 / (1 + np.exp(-Z)), Z\n", namespace)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        printed = run_test_cell("sigmoid", namespace)
    assert "sigmoid: hidden tests passed." in printed
    assert stderr.getvalue() == ""


def test_a_function_that_is_not_written_yet_says_so(reference):
    namespace = dict(reference)
    exec("def linear_backward(dZ, cache):\n    raise NotImplementedError()\n", namespace)
    with pytest.raises(AssertionError, match="linear_backward: is not written yet"):
        run_test_cell("linear_backward", namespace)


def test_an_error_inside_the_students_code_names_the_line(reference):
    namespace = dict(reference)
    source = "def linear_forward(A, W, b):\n    Z = A @ W + b\n    return Z, (A, W, b)\n"
    # IPython keeps every cell's source in linecache, so that tracebacks can quote it; so do we.
    linecache.cache["<student cell>"] = (len(source), None, source.splitlines(True), "<student cell>")
    exec(compile(source, "<student cell>", "exec"), namespace)
    with pytest.raises(AssertionError) as failure:
        run_test_cell("linear_forward", namespace)
    assert "raised ValueError" in str(failure.value)
    assert "`Z = A @ W + b`" in str(failure.value)
