"""Visible tests of "Santa or not Santa": logistic regression as a one-neuron network.

Each test takes the function under test as its argument, so the same test runs on the reference
solution, on a catalogue of typical mistakes and on your code::

    import problem_unittests as tests
    tests.test_propagate(propagate)

A test that passes prints one line; a failing test raises ``AssertionError`` with a message that
names the function, the check, what was expected and what came back. The expected values of
these examples are stored in ``expected_outputs.json``. When your notebook is graded, hidden
tests check the same functions on inputs you have not seen.
"""
import numpy as np

from check_helpers import (call_quietly, check_array, check_binary, check_close, check_float_array,
                           check_scalar, check_unchanged, entry_name, fail, load_expected, passed,
                           replayed_in_kernel, snapshot, stand_ins, times)

EXPECTED = load_expected(__file__)

X = np.array([[1.0, -2.0, 0.5, 3.0], [0.5, 1.5, -1.0, 2.0], [-1.0, 0.0, 2.0, 1.0]])
Y = np.array([[1.0, 0.0, 0.0, 1.0]])
W = np.array([[0.5], [-1.0], [0.25]])
B = 0.1


# --------------------------------------------------------------------------------------------
# init_w(n): a column of n float zeros
# --------------------------------------------------------------------------------------------

def check_init_w(init_w, n):
    """init_w(n) must return a fresh (n, 1) column of float zeros."""
    w = call_quietly(init_w, n)
    check_float_array("init_w", f"init_w({n})", w, (n, 1))
    if np.any(w != 0):
        count = np.count_nonzero(w)
        fail("init_w", f"init_w({n}) should contain only zeros, got {count} non-zero "
                       f"{'value' if count == 1 else 'values'} (largest in size {np.max(np.abs(w)):.3g}).")


def test_init_w(init_w):
    for n in (1, 3, 64 * 64 * 3):
        check_init_w(init_w, n)
    passed("init_w")


# --------------------------------------------------------------------------------------------
# propagate(w, b, x, y) -> (dw, db, cost)
# --------------------------------------------------------------------------------------------

def propagate_hints(m):
    """Known wrong gradients of propagate, as (transform of the right one, message)."""
    return (
        (lambda e: e * m, "Did you average over the m examples (divide by m)?"),
        (lambda e: -e, "Check the sign: the gradients use y_hat - y (as in dw = x (y_hat - y)^T / m), "
                       "not y - y_hat."),
        (lambda e: e / m, "It looks divided by m twice."),
    )


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
    check_close("propagate", "dw", dw, expected_dw, hints=propagate_hints(m))
    check_close("propagate", "db", db, expected_db, hints=propagate_hints(m))


def propagate_cases():
    """(w, b, x, y) of the visible examples."""
    return [(W, B, X, Y)]


def test_propagate(propagate):
    for case, expected in zip(propagate_cases(), EXPECTED["propagate"]):
        check_propagate(propagate, *case, expected)
    passed("propagate")


# --------------------------------------------------------------------------------------------
# optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False) -> (w, b, costs)
# --------------------------------------------------------------------------------------------

@replayed_in_kernel
class QuadraticBowl:
    """A stand-in for propagate while optimization is tested, so a bug there does not count twice.

    Its cost is J = (|w - t|^2 + (b - c)^2) / 2 with t the row means of x and c the mean of y,
    so dw = w - t and db = b - c: a bowl whose bottom gradient descent walks towards.
    """

    def __init__(self):
        self.calls = 0

    def __call__(self, w, b, x, y):
        self.calls += 1
        target = np.mean(x, axis=1, keepdims=True)
        dw, db = w - target, float(b - np.mean(y))
        return dw, db, float(0.5 * (np.sum(dw ** 2) + db ** 2))


def check_optimization(optimization, w, b, x, y, num_iterations, learning_rate, expected):
    """Run optimization with propagate replaced by :class:`QuadraticBowl` and compare its
    (w, b, costs) with ``expected``, what gradient descent on the bowl gives."""
    expected_w, expected_b, expected_costs = expected
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
        fail("optimization", f"should call propagate once per iteration: {times(num_iterations)} "
                             f"for num_iterations={num_iterations}, called it {times(bowl.calls)}.")
    check_close("optimization", "the recorded costs", costs, expected_costs)
    check_close("optimization", "the returned w", new_w, expected_w)
    check_close("optimization", "the returned b", new_b, expected_b,
                hints=((lambda e: b, "b did not change: did you update it?"),))


def optimization_cases():
    """(w, b, x, y, num_iterations, learning_rate) of the visible examples."""
    return [(np.zeros((3, 1)), 0.0, X, Y, 101, 0.01),
            (np.array([[0.2], [-0.1], [0.4]]), 0.3, X, Y, 1, 0.1)]


def test_optimization(optimization):
    for case, expected in zip(optimization_cases(), EXPECTED["optimization"]):
        check_optimization(optimization, *case, expected)
    passed("optimization")


# --------------------------------------------------------------------------------------------
# prediction(w, b, x): labels 0 or 1, shape (1, m)
# --------------------------------------------------------------------------------------------

def check_labels(function, what, got, expected, hints=(), rule=""):
    """Predicted labels (0 and 1) must equal the expected ones. A failure names one wrong label
    and the one it should be (the two are 0 and 1: "off by 1" would say no more), then the first
    of ``hints``, ``(labels, message)``, whose labels are what came back, else ``rule``."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    wrong = got != expected
    if not np.any(wrong):
        return
    count, index = int(np.sum(wrong)), tuple(np.argwhere(wrong)[0])
    label = int(got[index])
    advice = next((message for labels, message in hints if np.array_equal(got, labels)), rule)
    fail(function, f"{what}: {count} of {got.size} {'differs' if count == 1 else 'differ'} from the "
                   f"expected ones; at {entry_name(index)} you predicted {label} where {1 - label} was "
                   f"expected. {advice}")


def check_prediction(prediction, w, b, x, expected):
    """Compare prediction(w, b, x) with the expected labels, a (1, m) row of 0 and 1."""
    before = snapshot(w, b, x)
    y_pred = call_quietly(prediction, w, b, x)
    check_unchanged("prediction", ("w", "b", "x"), before, (w, b, x))
    check_array("prediction", "the predictions", y_pred, (1, x.shape[1]))
    check_binary("prediction", "the predictions", y_pred)
    got = np.asarray(y_pred, dtype=float)
    expected = np.asarray(expected, dtype=float)
    # Where z = w^T x + b is exactly 0, y_hat is exactly 0.5: not above 0.5, so label 0.
    z = np.asarray(w).T @ x + b
    tie = z == 0
    clear = ~tie
    if np.any(clear) and np.array_equal(got[clear], 1 - expected[clear]):
        fail("prediction", "every label is the opposite of the expected one: "
                           "y_hat above 0.5 means label 1.")
    check_labels("prediction", "the predicted labels", got, expected, hints=(
        (np.where(tie, 1.0, expected), "A y_hat of exactly 0.5 (z = 0) is not above 0.5: label 0."),
        (np.ones_like(expected), "Every label is 1, yet y_hat is always above 0: "
                                 "label 1 only where y_hat > 0.5, 0 elsewhere."),
        ((np.asarray(w).T @ x > 0).astype(float), "These are the labels of w^T x without b: "
                                                   "y_hat = sigmoid(w^T x + b) includes the bias."),
    ), rule="Label 1 only where y_hat = sigmoid(w^T x + b) is above 0.5, 0 elsewhere.")


def prediction_cases():
    """(w, b, x) of the visible examples."""
    return [(W, B, X)]


def test_prediction(prediction):
    for case, expected in zip(prediction_cases(), EXPECTED["prediction"]):
        check_prediction(prediction, *case, expected)
    passed("prediction")


# --------------------------------------------------------------------------------------------
# model(x_train, y_train, x_test, y_test, num_iterations, learning_rate, print_cost) -> dict
# --------------------------------------------------------------------------------------------

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
                                            learning_rate=learning_rate, print_cost=print_cost))
        return self.final_w, self.final_b, list(self.costs)

    @staticmethod
    def labels(x):
        """The stand-in's labels: 1 where the first feature is positive (not a trained model)."""
        return (x[:1] > 0).astype(float)

    def prediction(self, w, b, x):
        self.prediction_calls.append((w, b, x))
        return self.labels(x)


# model's keyword arguments and their defaults, as the notebook states them
MODEL_DEFAULTS = {"num_iterations": 2000, "learning_rate": 0.005, "print_cost": False}


def check_model(model, x_train, y_train, x_test, y_test, num_iterations=None, learning_rate=None,
                print_cost=False):
    """Check how model wires init_w, optimization and prediction together, and what it returns.
    A keyword argument given as None is left out of the call: model should use its default."""
    fakes = ModelStandIns(x_train.shape[0])
    before = snapshot(x_train, y_train, x_test, y_test)
    given = {"num_iterations": num_iterations, "learning_rate": learning_rate, "print_cost": print_cost}
    passed_in = {name: value for name, value in given.items() if value is not None}
    wanted = {name: MODEL_DEFAULTS[name] if value is None else value for name, value in given.items()}
    with stand_ins(model, init_w=fakes.init_w, optimization=fakes.optimization,
                   prediction=fakes.prediction):
        result = call_quietly(model, x_train, y_train, x_test, y_test, **passed_in)
    check_unchanged("model", ("x_train", "y_train", "x_test", "y_test"),
                    before, (x_train, y_train, x_test, y_test))
    num_iterations, learning_rate = wanted["num_iterations"], wanted["learning_rate"]
    n = x_train.shape[0]
    if len(fakes.init_calls) != 1:
        fail("model", f"should initialise w with init_w(n), once; called init_w {times(len(fakes.init_calls))}.")
    if any(calls != n for calls in fakes.init_calls):
        fail("model", f"should call init_w(n) with n={n}, the number of features (rows of x_train); "
                      f"called it with {fakes.init_calls}.")
    if len(fakes.optimization_calls) != 1:
        fail("model", f"should call optimization once, called it {times(len(fakes.optimization_calls))}.")
    call = fakes.optimization_calls[0]
    start_w = np.asarray(call["w"])
    if start_w.shape != (n, 1) or np.any(start_w != 0) or np.ndim(call["b"]) != 0 or call["b"] != 0:
        fail("model", "should start optimization from w = init_w(n) (zeros) and b = 0.")
    if call["x"] is not x_train or call["y"] is not y_train:
        fail("model", "should train on x_train and y_train (pass them to optimization), "
                      "not on the test set.")
    for name, value in wanted.items():
        if call[name] != value:
            default = " (its default: the call left it out)" if given[name] is None else ""
            fail("model", f"should pass {name}={value!r}{default} on to optimization, passed {call[name]!r}.")
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


def model_case():
    """A small, fixed, nearly separable problem: 4 features, 16 training and 6 test examples."""
    grid = np.arange(4 * 22, dtype=float).reshape(4, 22)
    x = np.round(np.sin(1.7 * grid + 0.3) * 1.5, 2)
    y = (x[0] + 0.5 * x[1] - 0.25 * x[3] > 0).astype(float).reshape(1, -1)
    return x[:, :16], y[:, :16], x[:, 16:], y[:, 16:]


def test_model(model):
    x_train, y_train, x_test, y_test = model_case()
    check_model(model, x_train, y_train, x_test, y_test, 200, 0.1)
    passed("model")
