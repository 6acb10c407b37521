"""Does the gradient check tell a right backward pass from a wrong one?"""
import contextlib
import io

import numpy as np
import pytest

from autograder import notebook_cells
from known_submissions.ghosts import mistakes_of
from coursekit import gradcheck


@pytest.fixture(scope="module")
def reference():
    with contextlib.redirect_stdout(io.StringIO()):
        return notebook_cells.reference_namespace("a02_cat_dnn")


def small_network(seed=0, dims=(4, 5, 3, 1), m=6):
    rng = np.random.default_rng(seed)
    parameters = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = rng.normal(size=(dims[l], dims[l - 1]))
        parameters[f"b{l}"] = rng.normal(0, 0.5, size=(dims[l], 1))
    X, Y = rng.normal(size=(dims[0], m)), (rng.random((1, m)) < 0.5).astype(float)
    return parameters, X, Y


def check(namespace, parameters, X, Y):
    def cost_of(p):
        return namespace["compute_cost"](namespace["L_model_forward"](X, p)[0], Y)

    AL, caches = namespace["L_model_forward"](X, parameters)
    return gradcheck.gradient_check(cost_of, parameters, namespace["L_model_backward"](AL, Y, caches))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_correct_backward_pass_gives_less_than_2e_7(reference, seed):
    parameters, X, Y = small_network(seed)
    before = {k: v.copy() for k, v in parameters.items()}
    difference = check(reference, parameters, X, Y)
    assert difference < 2e-7
    assert gradcheck.verdict(difference) == "the gradients look right"
    assert all(np.array_equal(before[k], parameters[k]) for k in parameters)


@pytest.mark.parametrize("function, name", [("linear_backward", "dW_not_averaged"),
                                            ("linear_backward", "db_not_averaged"),
                                            ("relu_backward", "mask_from_dA"),
                                            ("sigmoid_backward", "only_s"),
                                            ("L_model_backward", "relu_at_output")])
def test_a_planted_bug_gives_more_than_1e_3(reference, function, name):
    namespace = dict(reference)
    mistake = next(m for m in mistakes_of("a02_cat_dnn").MISTAKES[function] if m.name == name)
    exec(compile(mistake.source, f"<mistake {name}>", "exec"), namespace)
    # Re-bind the reference functions to the namespace holding the bug.
    for source in notebook_cells.cells_by_role(notebook_cells.read("a02_cat_dnn"), "solution").values():
        if f"def {function}(" not in source:
            exec(compile(source, "<reference>", "exec"), namespace)
    parameters, X, Y = small_network(0)
    difference = check(namespace, parameters, X, Y)
    assert difference > 1e-3, difference
    assert gradcheck.verdict(difference).startswith("the gradients are wrong")


def test_a_missing_or_misshapen_gradient_is_a_clear_error():
    parameters = {"W1": np.ones((2, 3)), "b1": np.zeros((2, 1))}
    with pytest.raises(KeyError, match="no db1"):
        gradcheck.gradient_check(lambda p: 0.0, parameters, {"dW1": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"dW1 has shape \(3, 2\), but W1 has shape \(2, 3\)"):
        gradcheck.gradient_check(lambda p: 0.0, parameters, {"dW1": np.ones((3, 2)), "db1": np.zeros((2, 1))})


def test_numerical_gradients_of_a_quadratic_are_exact_enough():
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    parameters = {"W1": np.zeros((2, 2))}
    approx = gradcheck.numerical_gradients(lambda p: 0.5 * np.sum((p["W1"] - target) ** 2), parameters)
    np.testing.assert_allclose(approx["dW1"], -target, rtol=1e-6)
    assert gradcheck.verdict(1e-5).startswith("suspicious")
