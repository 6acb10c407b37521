"""Hidden checks of a01_santa_logreg: reference answers and the cases students never see.

Only the grader reads this file (and the instructor's ``source/`` copy, which nbgrader never
releases). The source notebook's test cells call ``hidden_checks.test_<function>(impl)`` inside
their hidden region; the build calls :func:`expected_outputs` to store the values that the
visible tests compare with.
"""
import numpy as np

import problem_unittests as visible
from check_helpers import CheckFailed, fail, passed, with_hint


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def reference_propagate(w, b, x, y):
    """(dw, db, cost) of logistic regression."""
    y_hat = sigmoid(w.T @ x + b)
    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    return x @ (y_hat - y).T / x.shape[1], float(np.mean(y_hat - y)), float(cost)


def descent_on_the_bowl(w, b, x, y, num_iterations, learning_rate):
    """What optimization returns with propagate replaced by ``visible.QuadraticBowl``:
    (w, b, the cost every 50 iterations), in closed form."""
    target, centre = np.mean(x, axis=1, keepdims=True), float(np.mean(y))
    shrink = 1.0 - learning_rate
    costs = [0.5 * shrink ** (2 * i) * (np.sum((w - target) ** 2) + (b - centre) ** 2)
             for i in range(0, num_iterations, 50)]
    factor = shrink ** num_iterations
    return target + factor * (w - target), centre + factor * (b - centre), costs


def reference_prediction(w, b, x):
    return (sigmoid(w.T @ x + b) > 0.5).astype(float)


def expected_outputs():
    """The expected values of the visible tests' examples, stored in expected_outputs.json."""
    return {
        "propagate": [reference_propagate(*case) for case in visible.propagate_cases()],
        "optimization": [descent_on_the_bowl(*case) for case in visible.optimization_cases()],
        "prediction": [reference_prediction(*case) for case in visible.prediction_cases()],
    }


def test_init_w(init_w):
    for n in (2, 7, 500):
        visible.check_init_w(init_w, n)
    if init_w(4) is init_w(4):
        fail("init_w", "two calls returned the same array: create a new one each time.")
    passed("init_w", "hidden tests")


def test_propagate(propagate):
    rng = np.random.default_rng(1225)
    for n, m in ((5, 7), (12, 1), (30, 50)):
        w, b = rng.normal(0, 0.3, size=(n, 1)), float(rng.normal())
        x, y = rng.normal(size=(n, m)), (rng.random((1, m)) < 0.5).astype(float)
        visible.check_propagate(propagate, w, b, x, y, reference_propagate(w, b, x, y))
    # Saturated: y_hat within about 1e-3 of 0 and of 1, where clipping it (more than a hair) changes
    # the cost and the gradients.
    w, b = np.ones((9, 1)), 0.5
    x, y = rng.normal(size=(9, 50)), (rng.random((1, 50)) < 0.5).astype(float)
    try:
        visible.check_propagate(propagate, w, b, x, y, reference_propagate(w, b, x, y))
    except CheckFailed as error:
        raise with_hint(error, "Here y_hat comes within about 1e-3 of 0 and of 1: clipping y_hat (by more "
                               "than a hair, such as 1e-12) or adding a constant inside the log changes the "
                               "cost and the gradients.") from None
    passed("propagate", "hidden tests")


def test_optimization(optimization):
    rng = np.random.default_rng(2512)
    for iterations, rate in ((1, 0.5), (50, 0.2), (51, 0.2), (130, 0.05), (260, 0.003)):
        w, b = rng.normal(0, 0.2, size=(6, 1)), float(rng.normal(0, 0.5))
        x, y = rng.normal(size=(6, 20)), (rng.random((1, 20)) < 0.5).astype(float)
        visible.check_optimization(optimization, w, b, x, y, iterations, rate,
                                   descent_on_the_bowl(w, b, x, y, iterations, rate))
    passed("optimization", "hidden tests")


def test_prediction(prediction):
    x = np.array([[0.02, -0.02, 4.0, -4.0], [1.0, 1.0, 1.0, 1.0]])
    visible.check_prediction(prediction, np.array([[0.5], [-0.3]]), 0.3, x, np.array([[1.0, 0.0, 1.0, 0.0]]))
    rng = np.random.default_rng(2412)
    w, x = rng.normal(size=(9, 1)), rng.normal(size=(9, 40))
    visible.check_prediction(prediction, w, -0.2, x, reference_prediction(w, -0.2, x))
    # z = w^T x + b exactly 0 (y_hat exactly 0.5, label 0) for the first three examples, in
    # numbers that binary floating point holds exactly; then the start of training, w = 0, b = 0.
    w = np.array([[0.5], [0.25], [-1.0]])
    x = np.array([[1.0, 0.0, 0.5, 2.0, 0.0, -1.0], [0.0, 2.0, 1.0, 0.0, -2.0, 4.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.5]])
    visible.check_prediction(prediction, w, -0.5, x, reference_prediction(w, -0.5, x))
    x = rng.normal(size=(4, 5))
    visible.check_prediction(prediction, np.zeros((4, 1)), 0.0, x, reference_prediction(np.zeros((4, 1)), 0.0, x))
    passed("prediction", "hidden tests")


def test_model(model):
    rng = np.random.default_rng(2112)
    x = rng.normal(size=(6, 41))
    y = (x[:1] - x[2:3] > 0).astype(float)
    visible.check_model(model, x[:, :30], y[:, :30], x[:, 30:], y[:, 30:], 151, 0.05, print_cost=True)
    visible.check_model(model, x[:, :7], y[:, :7], x[:, 7:], y[:, 7:], 3, 0.9)
    visible.check_model(model, x[:, :7], y[:, :7], x[:, 7:], y[:, 7:], None, None, None)  # the defaults
    passed("model", "hidden tests")
