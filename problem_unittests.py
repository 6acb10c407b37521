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
import inspect
import traceback
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
    answer is right; the values themselves are checked instead. An error raised by ``impl``
    (a ``ValueError`` from mismatched shapes, say) becomes a test failure that names it and the
    line of ``impl`` where it happened.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return impl(*args, **kwargs)
            except AssertionError:
                raise
            except NotImplementedError:
                fail(getattr(impl, "__name__", "the function"),
                     "is not written yet: replace `raise NotImplementedError()` with your code.")
            except Exception as error:  # noqa: BLE001 - any error of the code under test
                fail(getattr(impl, "__name__", "the function"), _describe_error(error))


def _describe_error(error):
    """"raised ValueError: ... (line 4: `Z = A @ W + b`)" for an error of the code under test."""
    where = getattr(error, "course_where", None)  # set when the error was raised in another process
    frames = [] if where is not None else [f for f in traceback.extract_tb(error.__traceback__)
                                           if f.filename != __file__]
    where = where or ""
    if frames:
        frame = frames[-1]
        where = f" (line {frame.lineno}" + (f": `{frame.line.strip()}`" if frame.line else "") + ")"
    return f"raised {type(error).__name__}: {error}{where}. Check the shapes and names it uses."


def snapshot(*arrays):
    """Deep copies of the inputs, to check afterwards that a function did not change them."""
    return [copy.deepcopy(a) for a in arrays]


def _same(old, new):
    """Equal values, looking inside dicts, lists and tuples (caches, parameter dicts)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and old.keys() == new.keys() and all(
            _same(old[k], new[k]) for k in old)
    if isinstance(old, (list, tuple)):
        return isinstance(new, (list, tuple)) and len(old) == len(new) and all(
            _same(a, b) for a, b in zip(old, new))
    try:
        return bool(np.array_equal(np.asarray(old), np.asarray(new)))
    except (TypeError, ValueError):
        return old == new


def check_unchanged(function, names, before, after):
    """Fail if a function modified one of its inputs in place."""
    for name, old, new in zip(names, before, after):
        if not _same(old, new):
            fail(function, f"the input {name} was modified in place. Build new arrays "
                           f"(w = w - ..., np.where(...)) instead of changing the caller's "
                           f"(w -= ..., Z[...] = 0).")


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


class QuadraticBowl:
    """A stand-in for propagate while optimization is tested, so a bug there does not count twice.

    Its cost is J = (|w - t|^2 + (b - c)^2) / 2 with t the row means of x and c the mean of y,
    so dw = w - t and db = b - c, and gradient descent has a closed form to compare with.
    """

    def __init__(self):
        self.calls = 0

    def __call__(self, w, b, x, y):
        self.calls += 1
        target = np.mean(x, axis=1, keepdims=True)
        dw, db = w - target, float(b - np.mean(y))
        return dw, db, float(0.5 * (np.sum(dw ** 2) + db ** 2))

    @staticmethod
    def descent(w, b, x, y, num_iterations, learning_rate):
        """What gradient descent on the bowl returns: (w, b, costs every 50 iterations)."""
        target, centre = np.mean(x, axis=1, keepdims=True), float(np.mean(y))
        shrink = 1.0 - learning_rate
        costs = [0.5 * shrink ** (2 * i) * (np.sum((w - target) ** 2) + (b - centre) ** 2)
                 for i in range(0, num_iterations, 50)]
        factor = shrink ** num_iterations
        return target + factor * (w - target), centre + factor * (b - centre), costs


class stand_ins:
    """Context manager: replace names the function under test looks up (e.g. ``propagate``)."""

    def __init__(self, function, **replacements):
        # A function that lives in another process (the grader's view of a sandboxed kernel)
        # installs the replacements there itself.
        self.remote = getattr(type(function), "course_stand_ins", None)
        self.function = function
        self.namespace = {} if self.remote else getattr(function, "__globals__", {})
        self.replacements = replacements
        self.saved = {}
        self.restore = None

    def __enter__(self):
        if self.remote:
            self.restore = self.remote(self.function, self.replacements)
            return self
        self.saved = {name: self.namespace[name] for name in self.replacements if name in self.namespace}
        self.namespace.update(self.replacements)
        return self

    def __exit__(self, *exc_info):
        if self.restore:
            self.restore()
            return False
        for name in self.replacements:
            if name in self.saved:
                self.namespace[name] = self.saved[name]
            else:
                self.namespace.pop(name, None)
        return False


def check_optimization(optimization, w, b, x, y, num_iterations, learning_rate):
    """Run optimization with propagate replaced by :class:`QuadraticBowl` and check the descent."""
    expected_w, expected_b, expected_costs = QuadraticBowl.descent(w, b, x, y, num_iterations, learning_rate)
    bowl = QuadraticBowl()
    before = snapshot(w, b, x, y)
    with stand_ins(optimization, propagate=bowl):
        result = call_quietly(optimization, w, b, x, y, num_iterations, learning_rate, print_cost=False)
    check_unchanged("optimization", ("w", "b", "x", "y"), before, (w, b, x, y))
    if bowl.calls == 0:
        fail("optimization", "never called propagate(w, b, x, y): get dw, db and the cost from it "
                             "at every iteration.")
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
    if len(costs) > 1 and costs[-1] > costs[0]:
        fail("optimization", f"the cost grows from {costs[0]:.4g} to {costs[-1]:.4g} instead of "
                             f"falling. Did you step up the gradient (+) instead of down (-)?")
    if bowl.calls != num_iterations:
        fail("optimization", f"should call propagate once per iteration: {num_iterations} times "
                             f"for num_iterations={num_iterations}, called it {bowl.calls} times.")
    check_close("optimization", "the recorded costs", costs, expected_costs)
    check_close("optimization", "the returned w", new_w, expected_w)
    check_close("optimization", "the returned b", new_b, expected_b,
                hints=((lambda e: b, "b did not change: did you update it?"),))


def test_optimization(optimization):
    x = np.array([[1.0, -2.0, 0.5, 3.0], [0.5, 1.5, -1.0, 2.0], [-1.0, 0.0, 2.0, 1.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0]])
    check_optimization(optimization, np.zeros((3, 1)), 0.0, x, y, 101, 0.01)
    check_optimization(optimization, np.array([[0.2], [-0.1], [0.4]]), 0.3, x, y, 1, 0.1)
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


class ModelStandIns:
    """Stand-ins for init_w, optimization and prediction while model is tested.

    They record how model calls them and return recognisable values, so the test checks how
    model puts the pieces together, whatever state your other functions are in.
    """

    def __init__(self, n):
        self.init_calls, self.optimization_calls, self.prediction_calls = [], [], []
        self.start_w = np.zeros((n, 1))
        self.final_w = np.linspace(-1.0, 1.0, n).reshape(n, 1)
        self.final_b = 0.25
        self.costs = [0.69, 0.5, 0.4]

    def init_w(self, n):
        self.init_calls.append(n)
        return self.start_w

    def optimization(self, w, b, x, y, num_iterations, learning_rate, print_cost=False):
        self.optimization_calls.append(dict(w=w, b=b, x=x, y=y, num_iterations=num_iterations,
                                            learning_rate=learning_rate))
        return self.final_w, self.final_b, list(self.costs)

    @staticmethod
    def labels(x):
        return (x[:1] > 0).astype(float)

    def prediction(self, w, b, x):
        self.prediction_calls.append((w, b, x))
        return self.labels(x)


def check_model(model, x_train, y_train, x_test, y_test, num_iterations, learning_rate):
    """Check how model wires init_w, optimization and prediction together, and what it returns."""
    fakes = ModelStandIns(x_train.shape[0])
    before = snapshot(x_train, y_train, x_test, y_test)
    with stand_ins(model, init_w=fakes.init_w, optimization=fakes.optimization,
                   prediction=fakes.prediction):
        result = call_quietly(model, x_train, y_train, x_test, y_test,
                              num_iterations=num_iterations, learning_rate=learning_rate, print_cost=False)
    check_unchanged("model", ("x_train", "y_train", "x_test", "y_test"),
                    before, (x_train, y_train, x_test, y_test))
    n = x_train.shape[0]
    if any(calls != n for calls in fakes.init_calls):
        fail("model", f"should call init_w(n) with n={n}, the number of features (rows of x_train); "
                      f"called it with {fakes.init_calls}.")
    if len(fakes.optimization_calls) != 1:
        fail("model", f"should call optimization once, called it {len(fakes.optimization_calls)} times.")
    call = fakes.optimization_calls[0]
    start_w = np.asarray(call["w"])
    if start_w.shape != (n, 1) or np.any(start_w != 0) or np.ndim(call["b"]) != 0 or call["b"] != 0:
        fail("model", "should start optimization from w = init_w(n) (zeros) and b = 0.")
    if call["x"] is not x_train or call["y"] is not y_train:
        fail("model", "should train on x_train and y_train (pass them to optimization), "
                      "not on the test set.")
    for name, value in (("num_iterations", num_iterations), ("learning_rate", learning_rate)):
        if call[name] != value:
            fail("model", f"should pass {name}={value} on to optimization, passed {call[name]!r}.")
    if not isinstance(result, dict):
        fail("model", f"should return a dict, got {type(result).__name__}.")
    missing = [key for key in MODEL_KEYS if key not in result]
    if missing:
        fail("model", f"the returned dict has no key {', '.join(map(repr, missing))}.")
    if result["num_iterations"] != num_iterations or result["learning_rate"] != learning_rate:
        fail("model", f"the dict should record the num_iterations={num_iterations} and "
                      f"learning_rate={learning_rate} it was called with, got "
                      f"{result['num_iterations']!r} and {result['learning_rate']!r}.")
    if not np.array_equal(result["w"], fakes.final_w) or result["b"] != fakes.final_b:
        fail("model", "the dict's w and b should be the ones optimization returned.")
    if list(np.ravel(result["costs"])) != fakes.costs:
        fail("model", "the dict's costs should be the list optimization returned.")
    for key, x in (("y_pred_train", x_train), ("y_pred_test", x_test)):
        check_array("model", key, result[key], (1, x.shape[1]))
        check_close("model", key, result[key], fakes.labels(x))
    if not any(c[2] is x_test for c in fakes.prediction_calls) or any(
            not np.array_equal(c[0], fakes.final_w) or c[1] != fakes.final_b for c in fakes.prediction_calls):
        fail("model", "should predict with prediction(w, b, x_test) using the trained w and b.")


def santa_model_case():
    """A small, fixed, nearly separable problem: 4 features, 16 training and 6 test examples."""
    grid = np.arange(4 * 22, dtype=float).reshape(4, 22)
    x = np.round(np.sin(1.7 * grid + 0.3) * 1.5, 2)
    y = (x[0] + 0.5 * x[1] - 0.25 * x[3] > 0).astype(float).reshape(1, -1)
    return x[:, :16], y[:, :16], x[:, 16:], y[:, 16:]


def test_model(model):
    x_train, y_train, x_test, y_test = santa_model_case()
    check_model(model, x_train, y_train, x_test, y_test, 200, 0.1)
    passed("model")


# --------------------------------------------------------------------------------------------
# a02_cat_dnn: an L-layer network from scratch
# --------------------------------------------------------------------------------------------

def fixed_array(shape, phase=0.0, scale=1.0):
    """A fixed, irregular test array of the given shape (no random generator involved)."""
    count = int(np.prod(shape))
    return np.round(np.sin(np.arange(count, dtype=float) * 1.37 + phase) * scale, 3).reshape(shape)


def check_returns(function, result, names):
    """``result`` must be a tuple (or list) with one value per name in ``names``."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = type(result).__name__
        if isinstance(result, (tuple, list)):
            got += f" of length {len(result)}"
        fail(function, f"should return a tuple ({', '.join(names)}), got {got}.")
    return result


def check_activation(function, activation, Z, expected_A, hints=()):
    """An activation must return (A, Z): A of Z's shape, and Z itself as the cache."""
    before = snapshot(Z)
    A, cache = check_returns(function, call_quietly(activation, Z), ("A", "cache"))
    check_unchanged(function, ("Z",), before, (Z,))
    check_float_array(function, "A", A, Z.shape)
    check_close(function, "A", A, expected_A, hints=hints)
    if not (isinstance(cache, np.ndarray) and cache.shape == Z.shape and np.array_equal(cache, Z)):
        fail(function, "the cache (second value returned) should be Z, the input, for the "
                       "backward pass.")


SIGMOID_HINTS = ((lambda e: 1 - e, "Check the sign of the exponent: sigmoid(z) = 1 / (1 + exp(-z))."),)


def test_sigmoid(sigmoid):
    Z = np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 10.0]])
    expected = np.array([[0.11920292202211755, 0.5, 0.9525741268224334],
                         [0.7310585786300049, 0.3775406687981454, 0.9999546021312976]])
    check_activation("sigmoid", sigmoid, Z, expected, SIGMOID_HINTS)
    passed("sigmoid")


def test_relu(relu):
    Z = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 10.0]])
    check_activation("relu", relu, Z, np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 10.0]]),
                     hints=((lambda e: np.where(e > 0, e, 0.01 * Z), "This is a leaky ReLU: use 0 for z < 0."),))
    passed("relu")


def _sigmoid_pair(Z):
    """A correct sigmoid (the formula of the notebook), as a stand-in while sigmoid_backward is tested."""
    A = np.exp(-np.logaddexp(0.0, -Z))
    return A, Z


def check_activation_backward(function, backward, dA, Z, expected_dZ, hints=()):
    """``backward(dA, Z)`` must return dZ, of dA's shape, and leave dA and Z unchanged."""
    before = snapshot(dA, Z)
    with stand_ins(backward, sigmoid=_sigmoid_pair):
        dZ = call_quietly(backward, dA, Z)
    check_unchanged(function, ("dA", "cache"), before, (dA, Z))
    if isinstance(dZ, tuple):
        fail(function, f"should return dZ alone, one array, got a tuple of length {len(dZ)}.")
    check_float_array(function, "dZ", dZ, dA.shape)
    check_close(function, "dZ", dZ, expected_dZ, hints=hints)


def test_sigmoid_backward(sigmoid_backward):
    dA = np.array([[0.5, -1.0, 2.0], [1.0, 0.25, -0.75]])
    Z = np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 10.0]])
    expected = np.array([[0.052496792701753246, -0.25, 0.090353319461824205],
                         [0.19661193324148185, 0.058750928050398624, -3.4046855801930745e-05]])
    check_activation_backward("sigmoid_backward", sigmoid_backward, dA, Z, expected, hints=(
        (lambda e: -e, "Check the sign."),
        (lambda e: e / dA, "Multiply the derivative of the sigmoid by dA (the chain rule)."),
    ))
    passed("sigmoid_backward")


def test_relu_backward(relu_backward):
    dA = np.array([[0.5, -1.0, 2.0, 0.3], [1.0, 0.25, -0.75, -2.0]])
    Z = np.array([[-2.0, 0.0, 3.0, 0.1], [1.0, -0.5, 10.0, -1e-3]])
    expected = np.array([[0.0, 0.0, 2.0, 0.3], [1.0, 0.0, -0.75, 0.0]])
    check_activation_backward("relu_backward", relu_backward, dA, Z, expected, hints=(
        (lambda e: np.where(Z >= 0, dA, 0.0), "At z = 0 the ReLU's derivative is taken as 0: "
                                              "keep dA only where z > 0."),
        (lambda e: (Z > 0).astype(float), "Multiply the derivative of the ReLU by dA (the chain rule)."),
        (lambda e: np.where(dA > 0, dA, 0.0), "Where the gradient flows depends on z (the cache), not on dA."),
    ))
    passed("relu_backward")


def check_initialize_parameters_deep(initialize, layer_dims):
    """Shapes, zero biases, weights random with the spread 1 / sqrt(n[l-1])."""
    function = "initialize_parameters_deep"
    parameters = call_quietly(initialize, list(layer_dims))
    if not isinstance(parameters, dict):
        fail(function, f"should return a dict of parameters, got {type(parameters).__name__}.")
    L = len(layer_dims) - 1
    expected_keys = [f"{kind}{l}" for l in range(1, L + 1) for kind in "Wb"]
    missing = [k for k in expected_keys if k not in parameters]
    extra = [k for k in parameters if k not in expected_keys]
    if missing or extra:
        fail(function, f"for layer_dims={list(layer_dims)} (L={L} layers) expected the keys W1, b1, "
                       f"..., W{L}, b{L}; missing {missing or 'none'}, unexpected {extra or 'none'}.")
    for l in range(1, L + 1):
        n, n_prev = layer_dims[l], layer_dims[l - 1]
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        check_float_array(function, f"W{l}", W, (n, n_prev))
        check_float_array(function, f"b{l}", b, (n, 1))
        if np.any(b != 0):
            fail(function, f"b{l} should start at zero, got non-zero values.")
        if W.size > 1 and np.allclose(W, W.flat[0]):
            fail(function, f"every value of W{l} is the same: the neurons of a layer would stay "
                           f"identical. Draw the weights at random.")
        if W.size >= 2000:  # enough values to measure their spread to a few per cent
            spread, target = float(np.std(W)), 1 / np.sqrt(n_prev)
            # A centred distribution puts the mean within 5 standard errors of 0.
            if abs(float(np.mean(W))) > 5 * spread / np.sqrt(W.size):
                fail(function, f"the weights of W{l} are not centred on 0 (mean {np.mean(W):.3g}). "
                               f"Use a standard normal distribution (np.random.randn).")
            if not 0.85 * target < spread < 1.15 * target:
                fail(function, f"the weights of W{l} (n[l-1] = {n_prev}) have a standard deviation "
                               f"of {spread:.3g}: they are not scaled by 1 / sqrt(n[l-1]).")
    return parameters


def test_initialize_parameters_deep(initialize_parameters_deep):
    first = check_initialize_parameters_deep(initialize_parameters_deep, [500, 40, 8, 1])
    second = check_initialize_parameters_deep(initialize_parameters_deep, [500, 40, 8, 1])
    if np.array_equal(first["W1"], second["W1"]):
        fail("initialize_parameters_deep", "two calls gave the same W1: draw new random numbers "
                                           "each time (and do not reset the seed inside).")
    check_initialize_parameters_deep(initialize_parameters_deep, [3, 1])
    passed("initialize_parameters_deep")


def check_linear_forward(linear_forward, A, W, b, expected_Z):
    """linear_forward(A, W, b) must return (Z, (A, W, b))."""
    before = snapshot(A, W, b)
    Z, cache = check_returns("linear_forward", call_quietly(linear_forward, A, W, b), ("Z", "cache"))
    check_unchanged("linear_forward", ("A", "W", "b"), before, (A, W, b))
    check_float_array("linear_forward", "Z", Z, (W.shape[0], A.shape[1]))
    check_close("linear_forward", "Z", Z, expected_Z, hints=(
        (lambda e: e - b, "Z is missing the bias b."),
        (lambda e: e - 2 * b, "Add the bias b, do not subtract it."),
    ))
    if not (isinstance(cache, tuple) and len(cache) == 3
            and all(c is x for c, x in zip(cache, (A, W, b)))):
        fail("linear_forward", "the cache should be the tuple (A, W, b) of the inputs, in that "
                               "order, for the backward pass.")


def test_linear_forward(linear_forward):
    A = fixed_array((3, 2), 0.1)
    W = fixed_array((1, 3), 0.7)
    b = np.array([[-0.5]])
    check_linear_forward(linear_forward, A, W, b, np.array([[0.015384, -0.81004]]))
    passed("linear_forward")


class Recorder:
    """Stand-ins that record how they are called and return recognisable values.

    A function built on smaller ones (``linear_activation_forward`` on ``linear_forward`` and
    the activations, say) is tested with the smaller ones replaced by these, so a mistake in
    one of yours is not counted again, and the test sees exactly how the pieces are wired.
    """

    def __init__(self):
        self.calls = []
        self.counter = 0

    def value(self, shape):
        """A fresh, unmistakable array of the given shape."""
        self.counter += 1
        return fixed_array(shape, phase=0.1 * self.counter, scale=1.0 + 0.01 * self.counter)

    def named(self, name, result):
        """A stand-in called ``name`` computing ``result``; its parameters carry the real names,
        so calls by keyword work too. Each call is recorded with its arguments in order."""
        signature = inspect.signature(result)

        def stand_in(*args, **kwargs):
            values = tuple(signature.bind(*args, **kwargs).arguments.values())
            produced = result(*values)
            self.calls.append((name, values, {}, produced))
            return produced
        stand_in.__name__ = name
        return stand_in

    def called(self, name):
        return [call for call in self.calls if call[0] == name]


def forward_recorder():
    """Stand-ins for linear_forward, relu and sigmoid."""
    rec = Recorder()
    linear = rec.named("linear_forward",
                       lambda A, W, b: (rec.value((W.shape[0], A.shape[1])), ("linear cache", rec.counter)))
    activation = {name: rec.named(name, lambda Z: (rec.value(Z.shape), ("activation cache", rec.counter)))
                  for name in ("relu", "sigmoid")}
    return rec, dict(linear_forward=linear, **activation)


def check_linear_activation_forward(function_impl, A_prev, W, b, activation):
    """How linear_activation_forward wires linear_forward and the activation together."""
    function = "linear_activation_forward"
    rec, fakes = forward_recorder()
    before = snapshot(A_prev, W, b)
    with stand_ins(function_impl, **fakes):
        result = call_quietly(function_impl, A_prev, W, b, activation)
    check_unchanged(function, ("A_prev", "W", "b"), before, (A_prev, W, b))
    A, cache = check_returns(function, result, ("A", "cache"))
    linear_calls = rec.called("linear_forward")
    if len(linear_calls) != 1:
        fail(function, f"should call linear_forward(A_prev, W, b) once, called it {len(linear_calls)} times.")
    args = linear_calls[0][1]
    if len(args) != 3 or not all(x is y for x, y in zip(args, (A_prev, W, b))):
        fail(function, "should call linear_forward(A_prev, W, b) with its own A_prev, W and b.")
    Z, linear_cache = linear_calls[0][3]
    other = "sigmoid" if activation == "relu" else "relu"
    used = rec.called(activation)
    if rec.called(other) or len(used) != 1:
        fail(function, f"with activation={activation!r} it should call {activation}(Z) once "
                       f"(and not {other}); called {activation} {len(used)} and {other} "
                       f"{len(rec.called(other))} times.")
    if used[0][1][0] is not Z:
        fail(function, f"should apply {activation} to Z, the output of linear_forward.")
    activation_A, activation_cache = used[0][3]
    if A is not activation_A:
        fail(function, f"A should be the first value {activation}(Z) returns.")
    if not isinstance(cache, tuple) or len(cache) != 2:
        fail(function, "the cache should be a tuple (linear_cache, activation_cache).")
    if cache[0] is not linear_cache or cache[1] is not activation_cache:
        swapped = cache[0] is activation_cache and cache[1] is linear_cache
        fail(function, "the cache should be (linear_cache, activation_cache): the cache returned by "
                       "linear_forward, then the one returned by the activation"
                       + (" (yours has them swapped)." if swapped else "."))


def test_linear_activation_forward(linear_activation_forward):
    A_prev, W, b = fixed_array((3, 2), 0.2), fixed_array((4, 3), 0.9), fixed_array((4, 1), 1.3)
    for activation in ("relu", "sigmoid"):
        check_linear_activation_forward(linear_activation_forward, A_prev, W, b, activation)
    passed("linear_activation_forward")


def layered_parameters(layer_dims, phase=0.0):
    """Fixed parameters {"W1", "b1", ...} for the given layer sizes."""
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = fixed_array((layer_dims[l], layer_dims[l - 1]), phase + l, 1 / np.sqrt(layer_dims[l - 1]))
        parameters[f"b{l}"] = fixed_array((layer_dims[l], 1), phase - l, 0.1)
    return parameters


def check_L_model_forward(L_model_forward, X, parameters):
    """How L_model_forward chains linear_activation_forward through the layers."""
    function = "L_model_forward"
    rec = Recorder()
    fake = rec.named("linear_activation_forward",
                     lambda A_prev, W, b, activation: (rec.value((W.shape[0], A_prev.shape[1])),
                                                       ("layer cache", rec.counter)))
    before = snapshot(X, parameters)
    with stand_ins(L_model_forward, linear_activation_forward=fake):
        result = call_quietly(L_model_forward, X, parameters)
    check_unchanged(function, ("X", "parameters"), before, (X, parameters))
    AL, caches = check_returns(function, result, ("AL", "caches"))
    L = len(parameters) // 2
    calls = rec.called("linear_activation_forward")
    if len(calls) != L:
        fail(function, f"with {L} layers it should call linear_activation_forward {L} times, "
                       f"called it {len(calls)} times.")
    A = X
    for l, (_, args, kwargs, produced) in enumerate(calls, start=1):
        values = list(args) + [kwargs[k] for k in ("W", "b", "activation") if k in kwargs]
        if len(values) != 4:
            fail(function, "should call linear_activation_forward(A_prev, W, b, activation).")
        A_prev, W, b, activation = values
        if A_prev is not A:
            fail(function, f"layer {l} should take the A of layer {l - 1}" +
                 (" (X for layer 1)." if l == 1 else ", not X nor another layer's output."))
        if W is not parameters[f"W{l}"] or b is not parameters[f"b{l}"]:
            fail(function, f"layer {l} should use W{l} and b{l}.")
        wanted = "relu" if l < L else "sigmoid"
        if activation != wanted:
            fail(function, f"layer {l} of {L} should use {wanted!r}, used {activation!r}: "
                           f"ReLU for the hidden layers, sigmoid for the output layer only.")
        A = produced[0]
    if AL is not A:
        fail(function, f"AL should be the output of the last layer (layer {L}).")
    if not isinstance(caches, list) or len(caches) != L or any(
            c is not call[3][1] for c, call in zip(caches, calls)):
        fail(function, f"caches should be a list of the {L} caches returned by "
                       f"linear_activation_forward, layer 1 first.")


def test_L_model_forward(L_model_forward):
    X = fixed_array((5, 4), 0.3)
    for dims in ([5, 4, 3, 1], [5, 1]):
        check_L_model_forward(L_model_forward, X, layered_parameters(dims))
    passed("L_model_forward")


def check_compute_cost(compute_cost, AL, Y, expected):
    before = snapshot(AL, Y)
    cost = check_scalar("compute_cost", "the cost", call_quietly(compute_cost, AL, Y))
    check_unchanged("compute_cost", ("AL", "Y"), before, (AL, Y))
    m = Y.shape[1]
    check_close("compute_cost", "the cost", cost, expected, hints=(
        (lambda e: -e, "The cost is positive: check the minus sign in front of the sum."),
        (lambda e: e * m, "Did you average over the m examples (divide by m)?"),
        (lambda e: e / np.log(10), "Use the natural logarithm, np.log."),
    ))
    return cost


def test_compute_cost(compute_cost):
    AL = np.array([[0.8, 0.9, 0.4, 0.1, 0.65]])
    Y = np.array([[1.0, 1.0, 0.0, 0.0, 1.0]])
    check_compute_cost(compute_cost, AL, Y, 0.2750946244976615)
    sure = np.array([[1.0, 0.0, 1.0]])
    try:
        confident = check_scalar("compute_cost", "the cost", call_quietly(compute_cost, sure, np.array([[1.0, 0.0, 1.0]])))
        wrong = check_scalar("compute_cost", "the cost", call_quietly(compute_cost, sure, np.array([[0.0, 1.0, 1.0]])))
    except AssertionError as error:
        fail("compute_cost", f"when AL contains exact 0s and 1s: {str(error).split(': ', 1)[1]} "
                             f"np.log(0) is -inf: keep AL away from 0 and 1 before the log (np.clip).")
    if not (0 <= confident < 1e-6):
        fail("compute_cost", f"with AL exactly equal to Y the cost should be about 0, got {confident:.3g}.")
    if not wrong > 3:
        fail("compute_cost", f"with AL = 1 where Y = 0 the cost should be large (above 3), got {wrong:.3g}: "
                             f"clip AL only a tiny distance (such as 1e-12) away from 0 and 1.")
    passed("compute_cost")


LINEAR_BACKWARD_NAMES = ("dA_prev", "dW", "db")


def check_linear_backward(linear_backward, dZ, cache, expected):
    """linear_backward(dZ, (A_prev, W, b)) must return (dA_prev, dW, db)."""
    function = "linear_backward"
    A_prev, W, b = cache
    m = A_prev.shape[1]
    before = snapshot(dZ, cache)
    result = check_returns(function, call_quietly(linear_backward, dZ, cache), LINEAR_BACKWARD_NAMES)
    check_unchanged(function, ("dZ", "cache"), before, (dZ, cache))
    hints = {
        "dA_prev": ((lambda e: e / m, "dA_prev is not averaged: only dW and db carry 1/m."),),
        "dW": ((lambda e: e * m, "Did you average over the m examples (divide by m)?"),),
        "db": ((lambda e: e * m, "Did you average over the m examples (divide by m)?"),),
    }
    for name, got, want, shape in zip(LINEAR_BACKWARD_NAMES, result, expected, (A_prev.shape, W.shape, b.shape)):
        check_float_array(function, name, got, shape)
        check_close(function, name, got, want, hints=hints[name])


def test_linear_backward(linear_backward):
    dZ = fixed_array((2, 4), 0.4)
    cache = (fixed_array((3, 4), 1.1), fixed_array((2, 3), 2.3), fixed_array((2, 1), 0.5))
    expected = (np.array([[0.240802, 0.834778, 0.092338, -0.798616],
                          [-0.58688, 0.326611, 0.717829, -0.040472],
                          [-0.474615, -0.705027, 0.193497, 0.782804]]),
                np.array([[0.45407325, 0.5059545, 0.24869775],
                          [0.04254375, 0.3228675, 0.405701]]),
                np.array([[0.09775], [0.154]]))
    check_linear_backward(linear_backward, dZ, cache, expected)
    passed("linear_backward")


def check_linear_activation_backward(function_impl, dA, cache, activation):
    """How linear_activation_backward wires the activation's derivative and linear_backward."""
    function = "linear_activation_backward"
    rec = Recorder()
    fakes = {name: rec.named(name, lambda dA, cache: rec.value(dA.shape))
             for name in ("relu_backward", "sigmoid_backward")}
    fakes["linear_backward"] = rec.named(
        "linear_backward",
        lambda dZ, cache: (rec.value(cache[0].shape), rec.value(cache[1].shape), rec.value(cache[2].shape)))
    before = snapshot(dA, cache)
    with stand_ins(function_impl, **fakes):
        result = call_quietly(function_impl, dA, cache, activation)
    check_unchanged(function, ("dA", "cache"), before, (dA, cache))
    result = check_returns(function, result, LINEAR_BACKWARD_NAMES)
    linear_cache, activation_cache = cache
    derivative = f"{activation}_backward"
    other = "sigmoid_backward" if activation == "relu" else "relu_backward"
    used = rec.called(derivative)
    if rec.called(other) or len(used) != 1:
        fail(function, f"with activation={activation!r} it should call {derivative}(dA, activation_cache) "
                       f"once (and not {other}); called {derivative} {len(used)} and {other} "
                       f"{len(rec.called(other))} times.")
    args = used[0][1]
    if len(args) != 2 or args[0] is not dA or args[1] is not activation_cache:
        fail(function, f"should call {derivative}(dA, activation_cache), with the second part of the "
                       f"layer's cache.")
    dZ = used[0][3]
    linear_calls = rec.called("linear_backward")
    if len(linear_calls) != 1 or len(linear_calls[0][1]) != 2:
        fail(function, "should call linear_backward(dZ, linear_cache) once.")
    if linear_calls[0][1][0] is not dZ:
        fail(function, f"should pass dZ, what {derivative} returned, to linear_backward.")
    if linear_calls[0][1][1] is not linear_cache:
        fail(function, "should pass linear_cache, the first part of the layer's cache, to linear_backward.")
    if any(got is not want for got, want in zip(result, linear_calls[0][3])):
        fail(function, "should return (dA_prev, dW, db) as linear_backward returns them.")


def test_linear_activation_backward(linear_activation_backward):
    cache = ((fixed_array((3, 2), 0.1), fixed_array((4, 3), 0.2), fixed_array((4, 1), 0.3)),
             fixed_array((4, 2), 0.4))
    for activation in ("relu", "sigmoid"):
        check_linear_activation_backward(linear_activation_backward, fixed_array((4, 2), 0.5), cache, activation)
    passed("linear_activation_backward")


def layer_caches(layer_dims, m, phase=0.0):
    """Fixed caches of a forward pass: [((A_prev, W, b), Z), ...] for the given layer sizes."""
    caches = []
    for l in range(1, len(layer_dims)):
        linear_cache = (fixed_array((layer_dims[l - 1], m), phase + 3 * l),
                        fixed_array((layer_dims[l], layer_dims[l - 1]), phase + 3 * l + 1),
                        fixed_array((layer_dims[l], 1), phase + 3 * l + 2))
        caches.append((linear_cache, fixed_array((layer_dims[l], m), phase - l, 2.0)))
    return caches


def check_L_model_backward(L_model_backward, AL, Y, caches):
    """How L_model_backward starts from dAL and chains linear_activation_backward back to layer 1."""
    function = "L_model_backward"
    rec = Recorder()
    fake = rec.named("linear_activation_backward",
                     lambda dA, cache, activation: (rec.value(cache[0][0].shape), rec.value(cache[0][1].shape),
                                                    rec.value(cache[0][2].shape)))
    before = snapshot(AL, Y, caches)
    with stand_ins(L_model_backward, linear_activation_backward=fake):
        grads = call_quietly(L_model_backward, AL, Y, caches)
    check_unchanged(function, ("AL", "Y", "caches"), before, (AL, Y, caches))
    if not isinstance(grads, dict):
        fail(function, f"should return a dict of gradients, got {type(grads).__name__}.")
    L = len(caches)
    calls = rec.called("linear_activation_backward")
    if len(calls) != L:
        fail(function, f"with {L} layers it should call linear_activation_backward {L} times, "
                       f"called it {len(calls)} times.")
    wanted = {f"dA{l - 1}" for l in range(1, L + 1)} | {f"d{kind}{l}" for l in range(1, L + 1) for kind in "Wb"}
    if set(grads) != wanted:
        fail(function, f"for {L} layers expected the keys dA0..dA{L - 1}, dW1..dW{L} and db1..db{L}; "
                       f"missing {sorted(wanted - set(grads)) or 'none'}, unexpected "
                       f"{sorted(set(grads) - wanted) or 'none'}.")
    dAL = -(Y / AL - (1 - Y) / (1 - AL))
    for step, (_, args, kwargs, produced) in enumerate(calls):
        l = L - step
        values = list(args) + [kwargs[k] for k in ("cache", "activation") if k in kwargs]
        if len(values) != 3:
            fail(function, "should call linear_activation_backward(dA, cache, activation).")
        dA, cache, activation = values
        if cache is not caches[l - 1]:
            fail(function, f"call {step + 1} should use the cache of layer {l}, caches[{l - 1}]: "
                           f"go backwards from layer {L} to layer 1.")
        want = "sigmoid" if l == L else "relu"
        if activation != want:
            fail(function, f"layer {l} of {L} should go back through {want!r}, used {activation!r}.")
        if l == L:
            check_float_array(function, "the dA passed to the output layer (dAL)", np.asarray(dA), AL.shape)
            check_close(function, "dAL, the derivative of the cost with respect to AL", dA, dAL,
                        hints=((lambda e: -e, "Check the sign of dAL."),))
        elif dA is not grads.get(f"dA{l}"):
            fail(function, f"layer {l} should go back from dA{l}, the dA_prev returned by layer {l + 1}.")
        for name, value in zip((f"dA{l - 1}", f"dW{l}", f"db{l}"), produced):
            if grads.get(name) is not value:
                fail(function, f"grads[{name!r}] should be what linear_activation_backward returned "
                               f"for layer {l}.")


def test_L_model_backward(L_model_backward):
    caches = layer_caches([4, 3, 2, 1], 5)
    AL = np.array([[0.8, 0.3, 0.55, 0.1, 0.95]])
    Y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    check_L_model_backward(L_model_backward, AL, Y, caches)
    passed("L_model_backward")


def check_update_parameters(update_parameters, parameters, grads, learning_rate):
    function = "update_parameters"
    before = snapshot(parameters, grads)
    updated = call_quietly(update_parameters, parameters, grads, learning_rate)
    check_unchanged(function, ("parameters", "grads"), before, (parameters, grads))
    if not isinstance(updated, dict):
        fail(function, f"should return a dict of parameters, got {type(updated).__name__}.")
    if set(updated) != set(parameters):
        fail(function, f"should return the same keys as parameters: missing "
                       f"{sorted(set(parameters) - set(updated)) or 'none'}, unexpected "
                       f"{sorted(set(updated) - set(parameters)) or 'none'}.")
    for name, value in parameters.items():
        step = grads["d" + name]
        check_float_array(function, f"the updated {name}", updated[name], value.shape)
        check_close(function, f"the updated {name}", updated[name], value - learning_rate * step, hints=(
            (lambda e: value, f"{name} did not change: update every layer's W and b."),
            (lambda e: 2 * value - e, "Step against the gradient (-), not along it (+)."),
            (lambda e: value - step, "Multiply the gradient by the learning rate."),
        ))


def test_update_parameters(update_parameters):
    parameters = layered_parameters([3, 2, 1])
    grads = {"d" + name: fixed_array(value.shape, 5.0 + i) for i, (name, value) in enumerate(parameters.items())}
    check_update_parameters(update_parameters, parameters, grads, 0.1)
    passed("update_parameters")


class TrainingStandIns:
    """Stand-ins for the five pieces L_layer_model puts together.

    The "parameters" they pass around carry a step counter in W1, so the test can tell which
    iteration's parameters each piece received.
    """

    def __init__(self, m):
        self.m = m
        self.calls = []
        self.costs_computed = 0

    @staticmethod
    def parameters_at(step):
        return {"W1": np.array([[float(step)]]), "b1": np.array([[0.0]])}

    @staticmethod
    def step_of(parameters):
        return int(round(float(np.asarray(parameters["W1"]).ravel()[0])))

    @staticmethod
    def cost_at(step):
        return 1.0 / (step + 1.0)

    def initialize_parameters_deep(self, layer_dims):
        self.calls.append(("initialize_parameters_deep", list(layer_dims)))
        return self.parameters_at(0)

    def L_model_forward(self, X, parameters):
        step = self.step_of(parameters)
        self.calls.append(("L_model_forward", X, step))
        return np.full((1, self.m), 0.5), ("caches", step)

    def compute_cost(self, AL, Y):
        step = self.costs_computed
        self.costs_computed += 1
        self.calls.append(("compute_cost", AL, Y))
        return self.cost_at(step)

    def L_model_backward(self, AL, Y, caches):
        self.calls.append(("L_model_backward", caches))
        return {"dW1": np.array([[-1.0]]), "db1": np.array([[0.0]]), "dA0": np.zeros((1, self.m))}

    def update_parameters(self, parameters, grads, learning_rate):
        step = self.step_of(parameters)
        self.calls.append(("update_parameters", step, learning_rate))
        return self.parameters_at(step + 1)

    def replacements(self):
        return {name: getattr(self, name) for name in ("initialize_parameters_deep", "L_model_forward",
                                                         "compute_cost", "L_model_backward", "update_parameters")}

    def named(self, name):
        return [c for c in self.calls if c[0] == name]


def check_L_layer_model(L_layer_model, X, Y, layers_dims, learning_rate, num_iterations):
    function = "L_layer_model"
    fakes = TrainingStandIns(X.shape[1])
    before = snapshot(X, Y, layers_dims)
    with stand_ins(L_layer_model, **fakes.replacements()):
        result = call_quietly(L_layer_model, X, Y, layers_dims, learning_rate=learning_rate,
                              num_iterations=num_iterations, print_cost=False)
    check_unchanged(function, ("X", "Y", "layers_dims"), before, (X, Y, layers_dims))
    parameters, costs = check_returns(function, result, ("parameters", "costs"))
    inits = fakes.named("initialize_parameters_deep")
    if len(inits) != 1 or inits[0][1] != list(layers_dims):
        fail(function, f"should call initialize_parameters_deep(layers_dims) once, before the loop; "
                       f"called it {len(inits)} times.")
    for name in ("L_model_forward", "compute_cost", "L_model_backward", "update_parameters"):
        count = len(fakes.named(name))
        if count != num_iterations:
            fail(function, f"should call {name} once per iteration: {num_iterations} times for "
                           f"num_iterations={num_iterations}, called it {count} times.")
    for step, call in enumerate(fakes.named("L_model_forward")):
        if call[1] is not X:
            fail(function, "should run the forward pass on X, the training examples.")
        if call[2] != step:
            fail(function, f"iteration {step} should start from the parameters update_parameters "
                           f"returned at iteration {step - 1}" if step else
                           "the first iteration should start from the initial parameters.")
    if any(call[2] is not Y for call in fakes.named("compute_cost")):
        fail(function, "should compute the cost against Y, the labels.")
    if any(call[2] != learning_rate for call in fakes.named("update_parameters")):
        fail(function, f"should pass learning_rate={learning_rate} on to update_parameters.")
    if any(call[1] != ("caches", step) for step, call in enumerate(fakes.named("L_model_backward"))):
        fail(function, "L_model_backward should get the caches of the same iteration's forward pass.")
    if not isinstance(parameters, dict) or TrainingStandIns.step_of(parameters) != num_iterations:
        fail(function, "should return the parameters of the last update, after the loop.")
    expected_costs = [fakes.cost_at(i) for i in range(0, num_iterations, 100)]
    if not isinstance(costs, (list, tuple, np.ndarray)) or np.ndim(costs) != 1:
        fail(function, f"costs should be a list of numbers, got {type(costs).__name__}.")
    if len(costs) != len(expected_costs):
        fail(function, f"after {num_iterations} iterations, expected {len(expected_costs)} recorded "
                       f"costs (one every 100 iterations, starting at iteration 0), got {len(costs)}.")
    check_close(function, "the recorded costs", np.asarray(costs, dtype=float), expected_costs)


def test_L_layer_model(L_layer_model):
    X, Y = fixed_array((4, 6), 0.6), np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    check_L_layer_model(L_layer_model, X, Y, [4, 3, 1], 0.05, 250)
    check_L_layer_model(L_layer_model, X, Y, [4, 1], 0.3, 1)
    passed("L_layer_model")


def check_predict(predict, X, y, parameters, probabilities):
    """predict with L_model_forward replaced by a stand-in that returns ``probabilities``."""
    function = "predict"
    calls = []

    def forward(X_, parameters_):
        calls.append((X_, parameters_))
        return probabilities.copy(), ["caches"]

    forward.__name__ = "L_model_forward"
    before = snapshot(X, y, parameters)
    with stand_ins(predict, L_model_forward=forward):
        p = call_quietly(predict, X, y, parameters)
    check_unchanged(function, ("X", "y", "parameters"), before, (X, y, parameters))
    if not calls or calls[0][0] is not X or calls[0][1] is not parameters:
        fail(function, "should run L_model_forward(X, parameters) to get the probabilities.")
    check_array(function, "the predictions", p, (1, X.shape[1]))
    check_binary(function, "the predictions", p)
    expected = (probabilities > 0.5).astype(float)
    got = np.asarray(p, dtype=float)
    clear = probabilities != 0.5
    if np.any(clear) and np.array_equal(got[clear], 1 - expected[clear]):
        fail(function, "every label is the opposite of the expected one: a probability above 0.5 "
                       "means label 1.")
    check_close(function, "the predicted labels", got, expected, hints=(
        (lambda e: (probabilities >= 0.5).astype(float), "A probability of exactly 0.5 is not above 0.5: label 0."),
    ))


def test_predict(predict):
    X = fixed_array((3, 6), 0.8)
    y = np.array([[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]])
    probabilities = np.array([[0.9, 0.2, 0.5, 0.51, 0.49, 0.05]])
    check_predict(predict, X, y, layered_parameters([3, 1]), probabilities)
    passed("predict")


# --------------------------------------------------------------------------------------------
# a03_cnn_mnist_cifar: convolutional networks in Keras
# --------------------------------------------------------------------------------------------

def check_normalise_images(normalise_images, images):
    """images / 255 as float32, of the same shape, the input left as it was."""
    function = "normalise_images"
    before = snapshot(images)
    got = call_quietly(normalise_images, images)
    check_unchanged(function, ("images",), before, (images,))
    check_array(function, "the result", got, images.shape)
    if got.dtype != np.float32:
        fail(function, f"the result should hold float32 numbers (what Keras computes with), got "
                       f"{got.dtype}.")
    expected = images.astype(np.float32) / np.float32(255)
    low, high = float(images.min()), float(images.max())
    check_close(function, "the scaled pixels", got, expected, hints=(
        (lambda e: (images - low) / (high - low), "This is min-max scaling: it depends on the batch. "
                                                   "Divide by 255, the largest possible pixel value."),
        (lambda e: e * 255 / 256, "Divide by 255, the largest value of a uint8 pixel, not 256."),
        (lambda e: np.floor(e), "Integer division (//) rounds every pixel down to 0 or 1."),
        (lambda e: e * 255, "The pixels were not scaled: divide by 255."),
    ))


def test_normalise_images(normalise_images):
    rng = np.random.default_rng(30)
    batch = rng.integers(7, 241, size=(4, 5, 6, 1), dtype=np.uint8)
    check_normalise_images(normalise_images, batch)
    check_normalise_images(normalise_images, np.array([[0, 128], [255, 17]], dtype=np.uint8))
    passed("normalise_images")


def check_one_hot(one_hot, vector, number_classes):
    """one_hot(vector, number_classes): an (N, number_classes) matrix of 0 and 1, one 1 per row."""
    function = "one_hot"
    before = snapshot(vector)
    got = call_quietly(one_hot, vector, number_classes)
    check_unchanged(function, ("vector",), before, (vector,))
    labels = np.ravel(vector).astype(int)
    shape = (labels.size, number_classes)
    if isinstance(got, np.ndarray) and got.shape == shape[::-1] and shape[0] != shape[1]:
        fail(function, f"expected shape {shape}, one row per label, got {got.shape}: the result is "
                       f"transposed.")
    if isinstance(got, np.ndarray) and got.ndim == 3:
        fail(function, f"expected shape {shape}, got {got.shape}: labels shaped (N, 1), like "
                       f"CIFAR-10's, must be flattened first (np.ravel).")
    check_array(function, "the encoding", got, shape)
    check_binary(function, "the encoding", got)
    expected = np.zeros(shape)
    for row, label in enumerate(labels):
        expected[row, label] = 1
    rows_right = np.all(np.asarray(got, dtype=float) == expected, axis=1)
    if not np.all(rows_right):
        first = int(np.flatnonzero(~rows_right)[0])
        fail(function, f"{int(np.sum(~rows_right))} of {labels.size} rows are wrong, the first "
                       f"for label {labels[first]} (row {first}): its 1 should be in column "
                       f"{labels[first]}, the label itself.")


def test_one_hot(one_hot):
    check_one_hot(one_hot, np.array([3, 0, 3, 1, 7, 0]), 9)
    check_one_hot(one_hot, np.array([[2], [0], [2], [1]], dtype=np.uint8), 4)
    passed("one_hot")


IGNORED_LAYERS = ("InputLayer", "Dropout", "SpatialDropout2D", "RandomFlip", "RandomTranslation",
                  "RandomRotation", "RandomZoom", "RandomContrast")
LAYER_SETTINGS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "activation")


def layer_settings(layer):
    """(class name, {setting: value}) of a Keras layer, for the settings that define the network."""
    config = layer.get_config()
    settings = {}
    for key in LAYER_SETTINGS:
        if key in config:
            value = config[key]
            settings[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    return type(layer).__name__, settings


def check_keras_model(function, model, sample_shape, nb_classes, expected_layers):
    """A Keras model built with the functional API, with ``expected_layers`` as
    ``[(class name, {setting: value}), ...]``, and input and output shapes that fit."""
    if not (hasattr(model, "layers") and hasattr(model, "output_shape")):
        fail(function, f"should return a Keras model (keras.Model(inputs, outputs)), got "
                       f"{type(model).__name__}.")
    if type(model).__name__ == "Sequential":
        fail(function, "should be built with the functional API: keras.Input, then each layer called "
                       "on the previous output, then keras.Model(inputs, outputs). You used "
                       "keras.Sequential.")
    if tuple(model.input_shape) != (None, *sample_shape):
        fail(function, f"with sample_shape={sample_shape} the model's input should have shape "
                       f"(None, {', '.join(map(str, sample_shape))}), got {model.input_shape}. "
                       f"Use sample_shape, not a fixed shape.")
    layers = [layer_settings(layer) for layer in model.layers if type(layer).__name__ not in IGNORED_LAYERS]
    kinds = [kind for kind, _ in layers]
    wanted = [kind for kind, _ in expected_layers]
    if kinds != wanted:
        fail(function, f"the layers (apart from Dropout and data augmentation) should be "
                       f"{', '.join(wanted)}; got {', '.join(kinds) or 'none'}.")
    for number, ((kind, got), (_, settings)) in enumerate(zip(layers, expected_layers), start=1):
        for key, value in settings.items():
            if got.get(key) != value:
                fail(function, f"layer {number} ({kind}) should have {key} {value!r}, got "
                               f"{got.get(key)!r}.")
    if tuple(model.output_shape) != (None, nb_classes):
        fail(function, f"with nb_classes={nb_classes} the output should have shape (None, "
                       f"{nb_classes}), got {model.output_shape}. Use nb_classes, not a fixed number.")


def conv(filters, strides=1, padding="valid"):
    return ("Conv2D", {"filters": filters, "kernel_size": (3, 3), "strides": (strides, strides),
                       "padding": padding, "activation": "relu"})


def dense(units, activation="relu"):
    return ("Dense", {"units": units, "activation": activation})


def net_1_layers(nb_classes):
    return [conv(32), conv(64), ("MaxPooling2D", {"pool_size": (2, 2)}), ("Flatten", {}),
            dense(128), dense(nb_classes, "softmax")]


def net_2_layers(nb_classes):
    return [conv(32), conv(64, strides=2), ("Flatten", {}), dense(128), dense(nb_classes, "softmax")]


def cifar_net_layers(nb_classes):
    pool = ("MaxPooling2D", {"pool_size": (2, 2)})
    return [conv(32, padding="same"), conv(32, padding="same"), pool,
            conv(64, padding="same"), conv(64, padding="same"), pool,
            ("Flatten", {}), dense(128), dense(nb_classes, "softmax")]


MODEL_LAYERS = {"net_1": net_1_layers, "net_2": net_2_layers, "cifar_net": cifar_net_layers}


def check_builder(function, builder, sample_shape, nb_classes):
    model = call_quietly(builder, sample_shape, nb_classes)
    check_keras_model(function, model, sample_shape, nb_classes, MODEL_LAYERS[function](nb_classes))
    return model


def test_net_1(net_1):
    check_builder("net_1", net_1, (28, 28, 1), 10)
    check_builder("net_1", net_1, (20, 24, 3), 4)
    passed("net_1")


def test_net_2(net_2):
    check_builder("net_2", net_2, (28, 28, 1), 10)
    check_builder("net_2", net_2, (21, 17, 2), 6)
    passed("net_2")


def test_cifar_net(cifar_net):
    check_builder("cifar_net", cifar_net, (32, 32, 3), 10)
    check_builder("cifar_net", cifar_net, (24, 28, 1), 5)
    passed("cifar_net")


# --------------------------------------------------------------------------------------------
# a04_knn_mlp_transfer: nearest neighbours, a multi-layer perceptron, transfer learning
# --------------------------------------------------------------------------------------------

def call_as(function, impl, *args, **kwargs):
    """:func:`call_quietly` for a class or a method, with failures named after ``function``."""
    def named(*a, **k):
        return impl(*a, **k)
    named.__name__ = function
    return call_quietly(named, *args, **kwargs)


def method_of(function, cls, name, signature):
    """The method ``name`` of the student's class ``cls``; fails if the class lacks it."""
    method = getattr(cls, name, None)
    if not callable(method):
        fail(function, f"the class should have a method {name}{signature}.")
    return method


def reference_distances(X_test, X_train, metric="l2"):
    """The distance matrix by plain broadcasting (fine for the small arrays of the tests)."""
    differences = np.asarray(X_test, dtype=float)[:, np.newaxis, :] - np.asarray(X_train, dtype=float)[np.newaxis, :, :]
    if metric == "l1":
        return np.sum(np.abs(differences), axis=2)
    return np.sqrt(np.sum(differences ** 2, axis=2))


def check_compute_distances(compute_distances, X_test, X_train, metric):
    """compute_distances(X_test, X_train, metric): the (num_test, num_train) matrix of distances."""
    function = "compute_distances"
    before = snapshot(X_test, X_train)
    got = call_quietly(compute_distances, X_test, X_train, metric)
    check_unchanged(function, ("X_test", "X_train"), before, (X_test, X_train))
    shape = (X_test.shape[0], X_train.shape[0])
    if isinstance(got, np.ndarray) and got.shape == shape[::-1] and shape[0] != shape[1]:
        fail(function, f"expected shape {shape}, one row per test row, got {got.shape}: the distances "
                       f"are transposed.")
    if metric == "l2" and isinstance(got, np.ndarray) and got.shape == shape and np.any(np.isnan(got)):
        fail(function, "some L2 distances are NaN: rounding made a squared distance slightly negative "
                       "before the square root. Clip it at 0 with np.maximum(..., 0).")
    check_array(function, f"the {metric} distances", got, shape)
    expected = reference_distances(X_test, X_train, metric)
    scale = max(1.0, float(np.max(np.abs(X_test))), float(np.max(np.abs(X_train)))) * np.sqrt(X_test.shape[1])
    tolerance = dict(rtol=1e-6, atol=1e-6 * scale)
    if np.allclose(got, expected, **tolerance):
        return
    other = "l2" if metric == "l1" else "l1"
    hints = [
        (expected ** 2, "These are squared distances: take the square root."),
        (reference_distances(X_test, X_train, other),
         f"These are the {other.upper()} distances, but metric={metric!r} asks for {metric.upper()}."),
        (expected / X_test.shape[1], "Sum over the values of each row; do not average them."),
        (expected / np.sqrt(X_test.shape[1]), "Sum the squared differences; do not average them."),
        (np.sum(X_test, axis=1)[:, np.newaxis] - np.sum(X_train, axis=1)[np.newaxis, :],
         "Take the absolute value of each difference before summing."),
    ]
    hint = next((" " + text for candidate, text in hints if np.allclose(got, candidate, **tolerance)), "")
    wrong = int(np.sum(~np.isclose(got, expected, **tolerance)))
    i, j = np.unravel_index(np.argmax(np.abs(got - expected)), shape)
    fail(function, f"{wrong} of {got.size} {metric.upper()} distances differ from the expected ones, for "
                   f"example dists[{i}, {j}] = {got[i, j]:.6g}, expected {expected[i, j]:.6g}.{hint}")


def check_distance_metric_is_checked(compute_distances):
    """Any metric other than "l1" and "l2" is a ValueError, not a silent fall-back."""
    rows = np.arange(6.0).reshape(2, 3)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            compute_distances(rows, rows, "cosine")
    except ValueError:
        return
    except Exception as error:  # noqa: BLE001 - any other error of the code under test
        fail("compute_distances", f"with metric='cosine' it should raise ValueError, raised "
                                  f"{type(error).__name__} instead.")
    fail("compute_distances", "with metric='cosine' it should raise ValueError (only 'l1' and 'l2' are "
                              "known), but it returned a result.")


def test_compute_distances(compute_distances):
    X_train = fixed_array((5, 4), 0.3, 2.0)
    X_test = fixed_array((3, 4), 1.1, 2.0)
    for metric in ("l2", "l1"):
        check_compute_distances(compute_distances, X_test, X_train, metric)
    check_distance_metric_is_checked(compute_distances)
    passed("compute_distances")


def reference_knn_predict(X_train, y_train, X, k, metric, tie="smallest", order=1):
    """Majority vote of the k nearest training rows; variants give the known wrong answers."""
    dists = reference_distances(X, X_train, metric)
    nearest = np.argsort(order * dists, axis=1, kind="stable")[:, :k]
    votes = np.asarray(y_train)[nearest]
    size = int(np.max(y_train)) + 1
    if tie == "smallest":
        return np.array([np.bincount(row, minlength=size).argmax() for row in votes])
    if tie == "largest":
        return np.array([size - 1 - np.bincount(row, minlength=size)[::-1].argmax() for row in votes])
    if tie == "first":
        return np.array([max(row.tolist(), key=row.tolist().count) for row in votes])
    if tie == "max_label":
        return np.max(votes, axis=1)
    if tie == "argmax":
        return np.argmax(votes, axis=1)
    return np.rint(np.mean(votes, axis=1)).astype(int)  # "mean"


def check_knn(KNearestNeighbor, X_train, y_train, X, k, metric):
    """train(X_train, y_train), then predict(X, k, metric): the majority label of the k nearest rows."""
    function = "KNearestNeighbor"
    train = method_of(function, KNearestNeighbor, "train", "(X, y)")
    predict = method_of(function, KNearestNeighbor, "predict", "(X, k=1, metric='l2')")
    before = snapshot(X_train, y_train, X)
    classifier = call_as(function, KNearestNeighbor)
    call_as(function, train.__get__(classifier), X_train, y_train)
    with stand_ins(predict, compute_distances=reference_distances):
        got = call_as(function, getattr(classifier, "predict"), X, k=k, metric=metric)
    check_unchanged(function, ("X_train", "y_train", "X"), before, (X_train, y_train, X))
    shape = (X.shape[0],)
    if isinstance(got, np.ndarray) and got.shape == (X.shape[0], k) and k > 1:
        fail(function, f"predict should return one label per row, shape {shape}, got {got.shape}: the "
                       f"labels of the {k} neighbours must be turned into one by a vote.")
    check_array(function, f"predict(X, k={k}, metric={metric!r})", got, shape)
    expected = reference_knn_predict(X_train, y_train, X, k, metric)
    if np.array_equal(got, expected):
        return
    hints = [
        (reference_knn_predict(X_train, y_train, X, k, metric, tie="first"), "On a tie of the vote the smallest label should win, not the label of the nearest neighbour (np.bincount(votes).argmax())."),
        (reference_knn_predict(X_train, y_train, X, 1, metric), f"These are the labels of the single nearest row: use all k = {k} neighbours."),
        (reference_knn_predict(X_train, y_train, X, k, metric, order=-1), "These are the labels of the farthest rows: sort the distances in increasing order."),
        (reference_knn_predict(X_train, y_train, X, k, "l2" if metric == "l1" else "l1"), f"These predictions use the wrong distance: pass metric={metric!r} on to compute_distances."),
        (reference_knn_predict(X_train, y_train, X, k, metric, tie="largest"), "On a tie of the vote the smallest label should win (np.bincount(votes).argmax())."),
        (reference_knn_predict(X_train, y_train, X, k, metric, tie="argmax"), "np.argmax of the neighbours' labels gives the position of the largest label, not a vote: count each label (np.bincount) and take the most frequent."),
        (reference_knn_predict(X_train, y_train, X, k, metric, tie="max_label"), "The largest label among the neighbours is not a vote: count each label (np.bincount) and take the most frequent."),
        (reference_knn_predict(X_train, y_train, X, k, metric, tie="mean"), "The mean of the labels is not a vote: labels are categories, count them (np.bincount)."),
    ]
    hint = next((" " + text for candidate, text in hints if np.array_equal(got, candidate)), "")
    wrong = np.flatnonzero(got != expected)
    fail(function, f"predict(X, k={k}, metric={metric!r}) got {len(wrong)} of {len(expected)} labels wrong, "
                   f"the first for row {wrong[0]}: predicted {got[wrong[0]]}.{hint}")


def test_KNearestNeighbor(KNearestNeighbor):
    X_train = fixed_array((12, 2), 0.2, 3.0)
    y_train = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 3, 1, 2])
    X = fixed_array((6, 2), 2.9, 3.0)
    for k, metric in ((1, "l2"), (3, "l2"), (2, "l1"), (5, "l1")):
        check_knn(KNearestNeighbor, X_train, y_train, X, k, metric)
    passed("KNearestNeighbor")


class _ReferenceKNN:
    """A correct classifier, standing in for the student's while cross-validation is tested."""

    def train(self, X, y):
        self.X, self.y = np.asarray(X), np.asarray(y).reshape(-1)

    def predict(self, X, k=1, metric="l2"):
        return reference_knn_predict(self.X, self.y, X, k, metric)


def reference_fold_accuracies(X, y, k_choices, num_folds, metric, split="right"):
    """{k: [accuracy per fold]} as cross_validation_accuracies should compute it, or a known wrong way."""
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(np.ravel(y), num_folds)
    accuracies = {k: [] for k in k_choices}
    for i in range(num_folds):
        rest_X = np.concatenate(X_folds[:i] + X_folds[i + 1:])
        rest_y = np.concatenate(y_folds[:i] + y_folds[i + 1:])
        train, check = ((rest_X, rest_y), (X_folds[i], y_folds[i]))
        if split == "leak":
            train = (X, np.ravel(y))
        elif split == "swapped":
            train, check = check, train
        for k in k_choices:
            predicted = reference_knn_predict(*train, check[0], k, metric)
            accuracies[k].append(float(np.mean(predicted == check[1])))
    return accuracies


def check_cross_validation(cross_validation_accuracies, X, y, k_choices, num_folds, metric):
    """{k: [num_folds validation accuracies]} with folds np.array_split cuts in order."""
    function = "cross_validation_accuracies"
    before = snapshot(X, y)
    with stand_ins(cross_validation_accuracies, KNearestNeighbor=_ReferenceKNN):
        got = call_quietly(cross_validation_accuracies, X, y, k_choices, num_folds=num_folds, metric=metric)
    check_unchanged(function, ("X", "y"), before, (X, y))
    if not isinstance(got, dict) or sorted(got) != sorted(k_choices):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        fail(function, f"should return a dict with one entry per k of k_choices {list(k_choices)}, got {keys}.")
    expected = reference_fold_accuracies(X, y, k_choices, num_folds, metric)
    for k in k_choices:
        values = got[k]
        if np.ndim(values) == 0:
            fail(function, f"for k={k} expected a list of {num_folds} accuracies, one per fold, got one "
                           f"number: keep each fold's accuracy (the plot shows their spread).")
        if np.shape(values) != (num_folds,):
            fail(function, f"for k={k} expected {num_folds} accuracies (num_folds={num_folds}), one per fold, "
                           f"got {np.shape(values)[0] if np.ndim(values) == 1 else np.shape(values)}.")
        values = np.asarray(values, dtype=float)
        if np.any(values > 1) or np.any(values < 0):
            fail(function, f"for k={k} the accuracies should be fractions between 0 and 1 "
                           f"(np.mean(predicted == y_fold)), got {values.round(3).tolist()}.")
    if all(np.allclose(got[k], expected[k], rtol=0, atol=1e-9) for k in k_choices):
        return
    hints = (("leak", "The validation fold must be left out of the training data: train on the other "
                      "folds only, or the fold is scored on rows the classifier has memorised."),
             ("swapped", "Train on the other folds and score on fold i, not the reverse."))
    hint = next((" " + text for split, text in hints
                 if all(np.allclose(got[k], reference_fold_accuracies(X, y, k_choices, num_folds, metric, split)[k],
                                    rtol=0, atol=1e-9) for k in k_choices)), "")
    k = next(k for k in k_choices if not np.allclose(got[k], expected[k], rtol=0, atol=1e-9))
    fold = int(np.flatnonzero(~np.isclose(got[k], expected[k], rtol=0, atol=1e-9))[0])
    fail(function, f"for k={k} the accuracy of fold {fold} is {float(got[k][fold]):.3f}, expected another "
                   f"value. Cut X and y in order with np.array_split, train on the other folds, score on "
                   f"fold i, and use nothing but X and y.{hint}")


def test_cross_validation_accuracies(cross_validation_accuracies):
    X = fixed_array((13, 2), 0.4, 2.0)
    y = np.array([0, 1, 1, 0, 2, 1, 0, 2, 2, 1, 0, 1, 2])
    check_cross_validation(cross_validation_accuracies, X, y, [1, 3], 5, "l2")
    check_cross_validation(cross_validation_accuracies, X, y, [2], 3, "l1")
    passed("cross_validation_accuracies")


def reference_softmax_cross_entropy(scores, y):
    """(mean cross-entropy, dL/dscores), computed stably."""
    scores = np.asarray(scores, dtype=float)
    m = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(m), y] -= 1
    return float(-np.mean(log_probs[np.arange(m), y])), dscores / m


def check_softmax_cross_entropy(softmax_cross_entropy, scores, y):
    """(loss, dscores): the mean softmax cross-entropy and its gradient, without overflow."""
    function = "softmax_cross_entropy"
    before = snapshot(scores, y)
    result = call_quietly(softmax_cross_entropy, scores, y)
    check_unchanged(function, ("scores", "y"), before, (scores, y))
    loss, dscores = check_returns(function, result, ("loss", "dscores"))
    finite = np.all(np.isfinite(np.asarray(loss, dtype=float))) and np.all(np.isfinite(np.asarray(dscores, dtype=float)))
    if not finite and np.max(np.abs(scores)) > 700:
        fail(function, f"with scores around {float(np.mean(scores)):.0f} the result is not finite: np.exp "
                       f"overflowed or underflowed. Subtract each row's largest score before np.exp.")
    loss = check_scalar(function, "the loss", loss)
    check_float_array(function, "dscores", dscores, scores.shape)
    expected_loss, expected_dscores = reference_softmax_cross_entropy(scores, y)
    m = scores.shape[0]
    exp_columns = np.exp(scores - np.max(scores, axis=0, keepdims=True))
    by_column = exp_columns / np.sum(exp_columns, axis=0, keepdims=True)
    check_close(function, "the loss", loss, expected_loss, hints=(
        (lambda e: e * m, "Average the loss over the m rows (np.mean), do not sum it."),
        (lambda e: -e, "Check the sign: the loss is minus the log-probability of the true class."),
        (lambda e: -np.mean(np.log(by_column[np.arange(m), y])),
         "The softmax normalises each row (axis=1), over the classes of one example."),
    ))
    one_hot = np.zeros_like(expected_dscores)
    one_hot[np.arange(m), y] = 1
    check_close(function, "dscores", dscores, expected_dscores, hints=(
        (lambda e: e * m, "The gradient of the mean loss has the factor 1/m: divide by m."),
        (lambda e: e + one_hot / m, "Subtract 1 at each row's true class: (P - one_hot) / m."),
        (lambda e: (e + one_hot / m) * m, "The gradient is (P - one_hot) / m."),
        (lambda e: -e, "Check the sign: the gradient is P minus the one-hot labels."),
    ))


def test_softmax_cross_entropy(softmax_cross_entropy):
    scores = fixed_array((4, 3), 0.6, 2.0)
    check_softmax_cross_entropy(softmax_cross_entropy, scores, np.array([2, 0, 1, 1]))
    check_softmax_cross_entropy(softmax_cross_entropy, 1000.0 + scores, np.array([0, 0, 2, 1]))
    passed("softmax_cross_entropy")


MLP_PARAMETERS = ("W1", "b1", "W2", "b2")


def mlp_parameters(n_features, n_hidden, n_classes):
    """Fixed parameters of an MLP; about half of the hidden units are active on the tests' inputs."""
    return {"W1": fixed_array((n_features, n_hidden), 0.3, 0.8), "b1": fixed_array((n_hidden,), 1.9, 0.2),
            "W2": fixed_array((n_hidden, n_classes), 2.6, 0.9), "b2": fixed_array((n_classes,), 0.8, 0.3)}


def reference_mlp_loss(params, X, y, l2, penalty=1.0, bias_penalty=0.0, mask=True):
    """(J, gradients) of the one-hidden-layer network; the keywords give known wrong variants."""
    W1, b1, W2, b2 = (params[name] for name in MLP_PARAMETERS)
    Z1 = X @ W1 + b1
    H = np.maximum(0, Z1)
    data_loss, dS = reference_softmax_cross_entropy(H @ W2 + b2, y)
    loss = data_loss + 0.5 * l2 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dZ1 = (dS @ W2.T) * ((Z1 > 0) if mask else 1)
    return loss, {"dW1": X.T @ dZ1 + penalty * l2 * W1, "db1": np.sum(dZ1, axis=0) + bias_penalty * l2 * b1,
                  "dW2": H.T @ dS + penalty * l2 * W2, "db2": np.sum(dS, axis=0) + bias_penalty * l2 * b2}


def new_mlp(MLP, **settings):
    instance = call_as("MLP", MLP, **settings)
    for name in ("init_parameters", "loss_and_gradients", "fit", "predict"):
        method_of("MLP", MLP, name, "(...)")
    return instance


def check_mlp_loss_and_gradients(MLP, X, y, n_hidden, n_classes, l2):
    """loss_and_gradients(X, y) with fixed parameters: the loss J and the four gradients."""
    function = "MLP"
    mlp = new_mlp(MLP, n_hidden=n_hidden, l2=l2)
    params = mlp_parameters(X.shape[1], n_hidden, n_classes)
    mlp.params = {name: value.copy() for name, value in params.items()}
    before = snapshot(X, y)
    with stand_ins(MLP.loss_and_gradients, softmax_cross_entropy=reference_softmax_cross_entropy):
        result = call_as(function, mlp.loss_and_gradients, X, y)
    check_unchanged(function, ("X", "y"), before, (X, y))
    check_unchanged(function, ("self.params",), [params], [mlp.params])
    loss, gradients = check_returns(function, result, ("loss", "gradients"))
    loss = check_scalar(function, "the loss of loss_and_gradients", loss)
    expected_loss, expected = reference_mlp_loss(params, X, y, l2)
    if not isinstance(gradients, dict) or sorted(gradients) != sorted("d" + n for n in MLP_PARAMETERS):
        keys = sorted(gradients) if isinstance(gradients, dict) else type(gradients).__name__
        fail(function, f"loss_and_gradients should return the gradients as a dict with keys dW1, db1, dW2, "
                       f"db2, got {keys}.")
    penalty = 0.5 * l2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    check_close(function, "the loss of loss_and_gradients", loss, expected_loss, hints=(
        (lambda e: e - penalty, "The L2 penalty (lambda / 2) (sum W1^2 + sum W2^2) is missing from the loss."),
        (lambda e: e + penalty, "The L2 penalty is lambda / 2 times the sum of the squared weights."),
    ) if l2 else ())
    for name in ("dW2", "db2", "dW1", "db1"):
        shape = params[name[1:]].shape
        got = gradients[name]
        if name.startswith("db") and np.shape(got) == (X.shape[0], *shape):
            fail(function, f"{name} should have the shape of {name[1:]}, {shape}: sum over the rows of the batch.")
        check_float_array(function, name, got, shape)
        variants = (
            (reference_mlp_loss(params, X, y, l2, penalty=0.0)[1], f"{name} lacks the penalty's gradient lambda * {name[1:]}."),
            (reference_mlp_loss(params, X, y, l2, penalty=2.0)[1], f"The penalty (lambda / 2) sum {name[1:]}^2 has the gradient lambda * {name[1:]}."),
            (reference_mlp_loss(params, X, y, l2, bias_penalty=1.0)[1], "Biases are not penalised: db has no lambda term."),
            (reference_mlp_loss(params, X, y, l2, mask=False)[1], "dZ1 needs the derivative of the ReLU: multiply by (Z1 > 0)."),
        )
        check_close(function, f"{name} of loss_and_gradients", got, expected[name], hints=[
            (lambda e, v=variant[name]: v, text) for variant, text in variants if not np.allclose(variant[name], expected[name])])


def check_mlp_predict(MLP, X, n_hidden, n_classes):
    """predict(X) with fixed parameters: the index of the largest score of each row."""
    function = "MLP"
    mlp = new_mlp(MLP, n_hidden=n_hidden)
    params = mlp_parameters(X.shape[1], n_hidden, n_classes)
    mlp.params = {name: value.copy() for name, value in params.items()}
    got = call_as(function, mlp.predict, X)
    scores = np.maximum(0, X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    if isinstance(got, np.ndarray) and got.shape == scores.shape:
        fail(function, f"predict should return one class per row, shape ({X.shape[0]},), got {got.shape}: "
                       f"take the index of the largest score (np.argmax(..., axis=1)).")
    check_array(function, "predict(X)", got, (X.shape[0],))
    expected = np.argmax(scores, axis=1)
    if not np.array_equal(got, expected):
        wrong = np.flatnonzero(got != expected)
        fail(function, f"predict(X) got {len(wrong)} of {len(expected)} classes wrong, the first for row "
                     f"{wrong[0]}: predicted {got[wrong[0]]}. Use the forward pass with self.params and take "
                     f"the class of the largest score.")


def check_mlp_fit(MLP, X, y, epochs, minibatch_size):
    """fit(X, y): seeded minibatch gradient descent, checked step by step.

    The network's loss_and_gradients is replaced by a correct one that records each minibatch,
    so a mistake there is not counted again here.
    """
    function = "MLP"
    settings = dict(n_hidden=5, l2=0.01, epochs=epochs, eta=0.2, minibatch_size=minibatch_size, seed=11)
    mlp = new_mlp(MLP, **settings)
    batches, losses = [], []

    def recorded(X_batch, y_batch):
        batches.append((np.array(X_batch, copy=True), np.array(y_batch, copy=True)))
        loss, gradients = reference_mlp_loss(mlp.params, np.asarray(X_batch), np.asarray(y_batch), settings["l2"])
        losses.append(loss)
        return loss, gradients

    mlp.loss_and_gradients = recorded
    before = snapshot(X, y)
    result = call_as(function, mlp.fit, X, y)
    check_unchanged(function, ("X", "y"), before, (X, y))
    if result is not mlp:
        fail(function, "fit should return self, the trained network.")
    m = X.shape[0]
    steps = -(-m // minibatch_size)
    if len(batches) != epochs * steps:
        fail(function, f"with {m} rows, minibatch_size={minibatch_size} and epochs={epochs}, fit should take "
                       f"{epochs * steps} steps ({steps} minibatches an epoch, the last may be smaller), each with "
                       f"self.loss_and_gradients on one minibatch; it called it {len(batches)} times.")
    row_of = {row.tobytes(): i for i, row in enumerate(np.asarray(X, dtype=float))}
    order_rng = new_mlp(MLP, **settings).init_parameters(X.shape[1], int(np.max(y)) + 1)
    orders = [order_rng.permutation(m) for _ in range(epochs)]
    for epoch, order in enumerate(orders):
        for step in range(steps):
            X_batch, y_batch = batches[epoch * steps + step]
            rows = [row_of.get(np.asarray(row, dtype=float).tobytes(), -1) for row in X_batch]
            wanted = order[step * minibatch_size:(step + 1) * minibatch_size]
            if rows != wanted.tolist() or not np.array_equal(np.ravel(y_batch), y[wanted]):
                fail(function, f"epoch {epoch}, minibatch {step} holds other rows than expected. Each epoch "
                               f"draws order = rng.permutation(m), with rng the generator that "
                               f"init_parameters returns, and takes the minibatches X[order[start:start + "
                               f"minibatch_size]] in turn, with the matching labels.")
    start = new_mlp(MLP, **settings)
    start.init_parameters(X.shape[1], int(np.max(y)) + 1)

    def replay(step_size):
        params, history = dict(start.params), []
        for order in orders:
            epoch_losses = []
            for first in range(0, m, minibatch_size):
                wanted = order[first:first + minibatch_size]
                loss, gradients = reference_mlp_loss(params, X[wanted], y[wanted], settings["l2"])
                params = {name: params[name] - step_size * gradients["d" + name] for name in MLP_PARAMETERS}
                epoch_losses.append(loss)
            history.append(float(np.mean(epoch_losses)))
        return params, history

    expected, expected_history = replay(settings["eta"])
    ascent, _ = replay(-settings["eta"])
    unscaled, _ = replay(1.0)
    if not isinstance(mlp.params, dict) or sorted(mlp.params) != sorted(MLP_PARAMETERS):
        fail(function, "after fit, self.params should still hold W1, b1, W2 and b2.")
    for name in MLP_PARAMETERS:
        check_float_array(function, f"{name} after fit", mlp.params[name], expected[name].shape)
        check_close(function, f"{name} after fit", mlp.params[name], expected[name], hints=(
            (lambda e, n=name: ascent[n], "Step against the gradient: parameter - self.eta * gradient."),
            (lambda e, n=name: unscaled[n], "Scale each step by the learning rate self.eta."),
        ))
    history = getattr(mlp, "loss_history", None)
    if np.shape(history) != (epochs,):
        fail(function, f"self.loss_history should hold one number per epoch ({epochs}), got "
                       f"{np.shape(history)[0] if np.ndim(history) == 1 else type(history).__name__}.")
    check_close(function, "self.loss_history", np.asarray(history, dtype=float), expected_history, hints=(
        (lambda e: [losses[(i + 1) * steps - 1] for i in range(epochs)],
         "Record the mean loss of the epoch's minibatches, not the last one."),
    ))


def test_MLP(MLP):
    X = fixed_array((6, 3), 0.2, 1.5)
    y = np.array([0, 2, 1, 2, 0, 1])
    check_mlp_loss_and_gradients(MLP, X, y, n_hidden=4, n_classes=3, l2=0.1)
    check_mlp_predict(MLP, X, n_hidden=4, n_classes=3)
    check_mlp_fit(MLP, X, y, epochs=3, minibatch_size=4)
    passed("MLP")


def small_trained_model(seed=0):
    """A small Keras model with fixed weights standing for a trained one; its layers are named
    "conv", "flat", "hidden" and "old_output"."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(6, 6, 1))
    x = layers.Conv2D(3, (3, 3), activation="relu", name="conv")(inputs)
    x = layers.Flatten(name="flat")(x)
    x = layers.Dense(5, activation="relu", name="hidden")(x)
    outputs = layers.Dense(4, activation="softmax", name="old_output")(x)
    model = keras.Model(inputs, outputs, name="trained")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def check_transfer_model(transfer_model, trained, cut, nb_classes):
    """trained's layers up to ``cut``, frozen, with their weights, then a new Dense softmax layer."""
    import keras

    function = "transfer_model"
    weights = [w.copy() for w in trained.get_weights()]
    model = call_quietly(transfer_model, trained, cut, nb_classes)
    if not (hasattr(model, "layers") and hasattr(model, "output_shape")):
        fail(function, f"should return a Keras model (keras.Model(inputs, outputs)), got {type(model).__name__}.")
    if not all(np.array_equal(a, b) for a, b in zip(weights, trained.get_weights())):
        fail(function, "changed the weights of the trained model: reuse them as they are.")
    if tuple(model.output_shape) != (None, nb_classes):
        fail(function, f"with nb_classes={nb_classes} the output should have shape (None, {nb_classes}), got "
                       f"{model.output_shape}.")
    head = model.layers[-1]
    config = head.get_config()
    if type(head).__name__ != "Dense" or config.get("activation") != "softmax":
        fail(function, f"the last layer should be a new Dense layer with the softmax activation, got "
                       f"{type(head).__name__} with activation {config.get('activation')!r}.")
    trainable = model.trainable_weights
    if not trainable:
        fail(function, "nothing is trainable: the new output layer must stay trainable; freeze only the reused layers.")
    if len(trainable) != 2 or any(w is not v for w, v in zip(trainable, head.trainable_weights)):
        fail(function, f"the reused layers should be frozen (trainable = False): {len(trainable)} weight "
                       f"arrays are trainable, expected 2 (the new layer's kernel and bias).")
    features = keras.Model(trained.input, trained.get_layer(cut).output)
    width = int(np.prod(features.output_shape[1:]))
    kernel, bias = head.get_weights()
    if kernel.shape[0] != width:
        fail(function, f"the new layer should take the output of layer {cut!r} ({width} numbers per picture); "
                       f"it takes {kernel.shape[0]}. The old output layer must not stay in the model.")
    x = fixed_array((3, *trained.input_shape[1:]), 0.4).astype(np.float32)
    with warnings.catch_warnings():
        # Keras warns when a model built on a list of inputs is called with one array
        warnings.simplefilter("ignore")
        reused = np.asarray(keras.ops.convert_to_numpy(features(x, training=False)), dtype=float).reshape(3, -1)
        got = np.asarray(keras.ops.convert_to_numpy(call_as(function, model, x, training=False)), dtype=float)
    scores = reused @ kernel + bias
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        fail(function, f"the model should compute what `trained` computes up to layer {cut!r}, with its "
                       f"trained weights, then the new layer. A cloned or rebuilt network starts from fresh "
                       f"weights.")


def test_transfer_model(transfer_model):
    check_transfer_model(transfer_model, small_trained_model(seed=1), "flat", 3)
    check_transfer_model(transfer_model, small_trained_model(seed=2), "hidden", 4)
    passed("transfer_model")
