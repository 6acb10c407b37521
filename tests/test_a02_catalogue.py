"""a02's test cells on answers beyond the catalogue (tests/test_catalogues.py runs the catalogue)."""
import contextlib
import io
import linecache

import pytest

from catalogue_runs import reference, run_test_cell, with_source

ASSIGNMENT = "a02_cat_dnn"


def test_a_correct_answer_that_overflows_leaves_no_warning():
    # exp overflows for large negative Z (the hidden test uses -800): correct values, but numpy warns.
    namespace = with_source(reference(ASSIGNMENT), "def sigmoid(Z):\n    return 1 / (1 + np.exp(-Z)), Z\n")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        printed = run_test_cell(ASSIGNMENT, "sigmoid", namespace)
    assert "sigmoid: hidden tests passed." in printed
    assert stderr.getvalue() == ""


def test_a_function_that_is_not_written_yet_says_so():
    namespace = with_source(reference(ASSIGNMENT), "def linear_backward(dZ, cache):\n    raise NotImplementedError()\n")
    with pytest.raises(AssertionError, match="linear_backward: is not written yet"):
        run_test_cell(ASSIGNMENT, "linear_backward", namespace)


def test_an_error_inside_the_students_code_names_the_line():
    source = "def linear_forward(A, W, b):\n    Z = A @ W + b\n    return Z, (A, W, b)\n"
    # IPython keeps every cell's source in linecache, so that tracebacks can quote it; so do we.
    linecache.cache["<student cell>"] = (len(source), None, source.splitlines(True), "<student cell>")
    namespace = with_source(reference(ASSIGNMENT), source)
    with pytest.raises(AssertionError) as failure:
        run_test_cell(ASSIGNMENT, "linear_forward", namespace)
    assert "raised ValueError" in str(failure.value)
    assert "`Z = A @ W + b`" in str(failure.value)


def test_keyword_calls_to_the_pieces_are_understood():
    namespace = with_source(reference(ASSIGNMENT),
                            "def linear_activation_forward(A_prev, W, b, activation):\n"
                            "    Z, linear_cache = linear_forward(A=A_prev, W=W, b=b)\n"
                            "    A, activation_cache = relu(Z=Z) if activation == 'relu' else sigmoid(Z=Z)\n"
                            "    return A, (linear_cache, activation_cache)\n")
    assert "hidden tests passed" in run_test_cell(ASSIGNMENT, "linear_activation_forward", namespace)
