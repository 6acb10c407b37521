"""Visible tests for the course's graded functions.

Each test takes the function under test as its argument, so the same test runs on the reference
solution, on a catalogue of typical mistakes and on your code::

    import problem_unittests as tests
    tests.test_propagate(propagate)

A test passes silently and prints one line; a failing test raises ``AssertionError`` with a
message that names the function, the check, what was expected and what came back. When your
notebook is graded, hidden tests check the same functions on inputs you have not seen, with the
``check_*`` helpers below.
"""
import copy
import warnings

import numpy as np

# Tolerances of every numeric comparison below (relative, absolute), as numpy.allclose uses them.
RTOL = 1e-5
ATOL = 1e-8


# --------------------------------------------------------------------------------------------
# Checks shared by the visible and the hidden tests
# --------------------------------------------------------------------------------------------

def fail(function, message):
    """Stop the test with a message that starts with the function's name."""
    raise AssertionError(f"{function}: {message}")


def call_quietly(impl, *args, **kwargs):
    """Call ``impl`` with numpy's floating-point warnings silenced.

    A warning printed inside a test cell would cost the whole cell its points, even when the
    answer is right; the values themselves are checked instead.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return impl(*args, **kwargs)


def snapshot(*arrays):
    """Deep copies of the inputs, to check afterwards that a function did not change them."""
    return [copy.deepcopy(a) for a in arrays]


def check_unchanged(function, names, before, after):
    """Fail if a function modified one of its inputs in place."""
    for name, old, new in zip(names, before, after):
        if not np.array_equal(np.asarray(old), np.asarray(new)):
            fail(function, f"the input {name} was modified in place. Build new arrays "
                           f"(w = w - ...) instead of changing the caller's (w -= ...).")


def check_array(function, what, got, shape):
    """``got`` must be a numpy array of floating or integer numbers with the given shape."""
    if not isinstance(got, np.ndarray):
        fail(function, f"{what} should be a numpy array of shape {shape}, "
                       f"got {type(got).__name__}.")
    if got.shape != tuple(shape):
        fail(function, f"expected {what} of shape {tuple(shape)}, got {got.shape}.")
    if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
        fail(function, f"{what} should hold numbers, got dtype {got.dtype}.")
    if np.issubdtype(got.dtype, np.floating) and not np.all(np.isfinite(got)):
        fail(function, f"{what} contains NaN or infinite values.")


def check_float_array(function, what, got, shape):
    """Like :func:`check_array`, and the values must be floating-point numbers."""
    check_array(function, what, got, shape)
    if not np.issubdtype(got.dtype, np.floating):
        fail(function, f"{what} should hold floating-point numbers, got dtype {got.dtype}. "
                       f"Gradient descent needs fractional values.")


def check_scalar(function, what, got):
    """``got`` must be one real number (a Python float or a numpy scalar), not an array."""
    if isinstance(got, (bool, np.bool_)) or np.ndim(got) != 0:
        shape = np.shape(got)
        fail(function, f"{what} should be a single number, got {type(got).__name__}"
                       f"{' of shape ' + str(shape) if shape else ''}. "
                       f"Use float(...) or np.sum/np.mean over all elements.")
    try:
        value = float(got)
    except (TypeError, ValueError):
        fail(function, f"{what} should be a single number, got {type(got).__name__}.")
    if not np.isfinite(value):
        fail(function, f"{what} is {value}, expected a finite number.")
    return value


def _hint(got, expected, hints):
    """The first hint whose transformed expected value matches what came back, else ''."""
    for transform, message in hints:
        try:
            candidate = np.asarray(transform(np.asarray(expected, dtype=float)), dtype=float)
            if candidate.shape == np.shape(got) and np.allclose(got, candidate, rtol=RTOL, atol=ATOL):
                return " " + message
        except (ValueError, TypeError, ZeroDivisionError):
            continue
    return ""


def check_close(function, what, got, expected, hints=()):
    """Values must match to the module's tolerances; ``hints`` explain known wrong answers.

    ``hints`` is a sequence of ``(transform, message)``: when ``got`` equals ``transform(expected)``
    the message is added, e.g. ``(lambda e: e * m, "Did you average over the m examples?")``.
    """
    got_arr = np.asarray(got, dtype=float)
    expected_arr = np.asarray(expected, dtype=float)
    if got_arr.shape != expected_arr.shape:
        fail(function, f"expected {what} of shape {expected_arr.shape}, got {got_arr.shape}.")
    if np.allclose(got_arr, expected_arr, rtol=RTOL, atol=ATOL):
        return
    if expected_arr.ndim == 0:
        fail(function, f"{what} differs from the expected value: got {float(got_arr):.6g} "
                       f"(abs difference {abs(float(got_arr - expected_arr)):.2e})."
                       + _hint(got_arr, expected_arr, hints))
    difference = np.max(np.abs(got_arr - expected_arr))
    wrong = int(np.sum(~np.isclose(got_arr, expected_arr, rtol=RTOL, atol=ATOL)))
    fail(function, f"{what}: {wrong} of {expected_arr.size} values differ from the expected "
                   f"ones (max abs difference {difference:.2e})."
                   + _hint(got_arr, expected_arr, hints))


def check_binary(function, what, got):
    """Every value must be 0 or 1 (predicted labels, not probabilities)."""
    values = np.unique(np.asarray(got, dtype=float))
    if not np.all(np.isin(values, [0.0, 1.0])):
        fail(function, f"{what} should contain only 0 and 1, got values such as "
                       f"{values[~np.isin(values, [0.0, 1.0])][:3].round(3).tolist()}. "
                       f"Turn probabilities into labels with the 0.5 threshold.")


def passed(function, check="visible tests"):
    print(f"{function}: {check} passed.")


# --------------------------------------------------------------------------------------------
# a01_santa_logreg: logistic regression as a one-neuron network
# --------------------------------------------------------------------------------------------

def santa_propagate_hints(m):
    """Known wrong gradients of propagate, as (transform of the right one, message)."""
    return (
        (lambda e: e * m, "Did you average over the m examples (divide by m)?"),
        (lambda e: -e, "Check the sign: the gradient points from y to y_hat."),
        (lambda e: e / m, "It looks divided by m twice."),
    )


def check_init_w(init_w, n):
    """init_w(n) must return a fresh (n, 1) column of float zeros."""
    w = call_quietly(init_w, n)
    check_float_array("init_w", f"init_w({n})", w, (n, 1))
    if np.any(w != 0):
        fail("init_w", f"init_w({n}) should contain only zeros, got {np.count_nonzero(w)} "
                       f"non-zero values (largest in size {np.max(np.abs(w)):.3g}).")


def test_init_w(init_w):
    for n in (1, 3, 64 * 64 * 3):
        check_init_w(init_w, n)
    passed("init_w")


def check_propagate(propagate, w, b, x, y, expected):
    """Compare propagate(w, b, x, y) with the expected (dw, db, cost)."""
    expected_dw, expected_db, expected_cost = expected
    m = x.shape[1]
    before = snapshot(w, b, x, y)
    result = call_quietly(propagate, w, b, x, y)
    check_unchanged("propagate", ("w", "b", "x", "y"), before, (w, b, x, y))
    if not isinstance(result, tuple) or len(result) != 3:
        fail("propagate", f"should return a tuple (dw, db, cost), got {type(result).__name__}"
                          f"{' of length ' + str(len(result)) if isinstance(result, (tuple, list)) else ''}.")
    dw, db, cost = result
    check_float_array("propagate", "dw", dw, w.shape)
    db = check_scalar("propagate", "db", db)
    cost = check_scalar("propagate", "cost", cost)
    check_close("propagate", "cost", cost, expected_cost, hints=(
        (lambda e: -e, "The cost J is positive: check the minus sign in front of the sum."),
        (lambda e: e * m, "Did you average over the m examples (divide by m)?"),
    ))
    check_close("propagate", "dw", dw, expected_dw, hints=santa_propagate_hints(m))
    check_close("propagate", "db", db, expected_db, hints=santa_propagate_hints(m))


def test_propagate(propagate):
    w = np.array([[0.5], [-1.0], [0.25]])
    b = 0.1
    x = np.array([[1.0, -2.0, 0.5, 3.0], [0.5, 1.5, -1.0, 2.0], [-1.0, 0.0, 2.0, 1.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0]])
    expected = (np.array([[-0.47100030571684753], [-0.520735667902349], [0.43206355149545284]]),
                -0.03188997280066776, 0.9061964146968811)
    check_propagate(propagate, w, b, x, y, expected)
    passed("propagate")


def check_optimization(optimization, w, b, x, y, num_iterations, learning_rate, expected):
    """Compare optimization(...) with the expected (w, b, costs)."""
    expected_w, expected_b, expected_costs = expected
    before = snapshot(w, b, x, y)
    result = call_quietly(optimization, w, b, x, y, num_iterations, learning_rate, print_cost=False)
    check_unchanged("optimization", ("w", "b", "x", "y"), before, (w, b, x, y))
    if not isinstance(result, tuple) or len(result) != 3:
        fail("optimization", f"should return a tuple (w, b, costs), got {type(result).__name__}.")
    new_w, new_b, costs = result
    check_float_array("optimization", "the returned w", new_w, w.shape)
    new_b = check_scalar("optimization", "the returned b", new_b)
    if not isinstance(costs, (list, tuple, np.ndarray)) or np.ndim(costs) != 1:
        fail("optimization", f"costs should be a list of numbers, got {type(costs).__name__}.")
    if len(costs) != len(expected_costs):
        fail("optimization", f"after {num_iterations} iterations, expected {len(expected_costs)} "
                             f"recorded costs (one every 50 iterations, starting at iteration 0), "
                             f"got {len(costs)}.")
    costs = np.asarray(costs, dtype=float)
    if len(costs) > 1 and costs[-1] > costs[0] and expected_costs[-1] < expected_costs[0]:
        fail("optimization", f"the cost grows from {costs[0]:.4g} to {costs[-1]:.4g} instead of "
                             f"falling. Did you step up the gradient (+) instead of down (-)?")
    check_close("optimization", "the recorded costs", costs, expected_costs)
    check_close("optimization", "the returned w", new_w, expected_w)
    check_close("optimization", "the returned b", new_b, expected_b,
                hints=((lambda e: b, "b did not change: did you update it?"),))


def test_optimization(optimization):
    x = np.array([[1.0, -2.0, 0.5, 3.0], [0.5, 1.5, -1.0, 2.0], [-1.0, 0.0, 2.0, 1.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0]])
    expected = (np.array([[1.5366680850182648], [0.47368502709983584], [-1.2105441653627713]]),
                -0.31555112051295925, [0.6931471805599453, 0.11514102743540118, 0.05920269971347365])
    check_optimization(optimization, np.zeros((3, 1)), 0.0, x, y, 101, 0.1, expected)
    passed("optimization")


def check_prediction(prediction, w, b, x, expected):
    """Compare prediction(w, b, x) with the expected labels, a (1, m) row of 0 and 1."""
    before = snapshot(w, b, x)
    y_pred = call_quietly(prediction, w, b, x)
    check_unchanged("prediction", ("w", "b", "x"), before, (w, b, x))
    check_array("prediction", "the predictions", y_pred, (1, x.shape[1]))
    check_binary("prediction", "the predictions", y_pred)
    got = np.asarray(y_pred, dtype=float)
    if np.array_equal(got, 1 - np.asarray(expected)):
        fail("prediction", "every label is the opposite of the expected one: "
                           "y_hat above 0.5 means label 1.")
    check_close("prediction", "the predicted labels", got, expected)


def test_prediction(prediction):
    w = np.array([[0.5], [-1.0], [0.25]])
    b = 0.1
    x = np.array([[1.0, -2.0, 0.5, 3.0], [0.5, 1.5, -1.0, 2.0], [-1.0, 0.0, 2.0, 1.0]])
    check_prediction(prediction, w, b, x, np.array([[0.0, 0.0, 1.0, 0.0]]))
    passed("prediction")


MODEL_KEYS = ("costs", "y_pred_test", "y_pred_train", "w", "b", "learning_rate", "num_iterations")


def check_model(model, x_train, y_train, x_test, y_test, num_iterations, learning_rate, expected):
    """Compare model(...) with the expected dict (a subset of keys: w, b, costs, predictions)."""
    before = snapshot(x_train, y_train, x_test, y_test)
    result = call_quietly(model, x_train, y_train, x_test, y_test,
                          num_iterations=num_iterations, learning_rate=learning_rate, print_cost=False)
    check_unchanged("model", ("x_train", "y_train", "x_test", "y_test"),
                    before, (x_train, y_train, x_test, y_test))
    if not isinstance(result, dict):
        fail("model", f"should return a dict, got {type(result).__name__}.")
    missing = [key for key in MODEL_KEYS if key not in result]
    if missing:
        fail("model", f"the returned dict has no key {', '.join(map(repr, missing))}.")
    if result["num_iterations"] != num_iterations or result["learning_rate"] != learning_rate:
        fail("model", f"the dict should record the num_iterations={num_iterations} and "
                      f"learning_rate={learning_rate} it was called with, got "
                      f"{result['num_iterations']!r} and {result['learning_rate']!r}.")
    check_float_array("model", "w", result["w"], (x_train.shape[0], 1))
    check_scalar("model", "b", result["b"])
    check_array("model", "y_pred_train", result["y_pred_train"], y_train.shape)
    check_array("model", "y_pred_test", result["y_pred_test"], y_test.shape)
    if len(result["costs"]) != len(expected["costs"]):
        fail("model", f"expected {len(expected['costs'])} recorded costs for "
                      f"num_iterations={num_iterations}, got {len(result['costs'])}. "
                      f"Pass num_iterations on to optimization.")
    for key in ("costs", "w", "b", "y_pred_train", "y_pred_test"):
        check_close("model", key, np.asarray(result[key], dtype=float), expected[key])


def santa_model_case():
    """A small, fixed, nearly separable problem: 4 features, 16 training and 6 test examples."""
    grid = np.arange(4 * 22, dtype=float).reshape(4, 22)
    x = np.round(np.sin(1.7 * grid + 0.3) * 1.5, 2)
    y = (x[0] + 0.5 * x[1] - 0.25 * x[3] > 0).astype(float).reshape(1, -1)
    return x[:, :16], y[:, :16], x[:, 16:], y[:, 16:]


def test_model(model):
    x_train, y_train, x_test, y_test = santa_model_case()
    expected = {
        "w": np.array([[1.982079647302927], [1.3049023759784484],
                       [0.5132235227817626], [-0.3224984113384372]]),
        "b": 0.4779216894894592,
        "costs": [0.6931471805599453, 0.21063108705596764, 0.1499051385592351,
                  0.11882270498963995],
        "y_pred_train": np.array([[1., 1., 0., 0., 1., 1., 0., 0., 1., 1., 0., 1., 1., 0., 0., 1.]]),
        "y_pred_test": np.array([[1., 0., 0., 1., 1., 0.]]),
    }
    check_model(model, x_train, y_train, x_test, y_test, 200, 0.1, expected)
    passed("model")
