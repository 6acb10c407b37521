"""Visible tests of nearest neighbours, a multi-layer perceptron in NumPy, and transfer learning.

Each test takes the function or class under test as its argument, so the same test runs on the
reference solution, on a catalogue of typical mistakes and on your code::

    import problem_unittests as tests
    tests.test_compute_distances(compute_distances)

A test that passes prints one line; a failing test raises ``AssertionError`` with a message that
names the function, the check, what was expected and what came back. The expected values of
these examples, and the answers of the stand-ins that replace your helpers while a function
built on them is tested, are stored in ``expected_outputs.json``. When your notebook is graded,
hidden tests check the same functions on inputs you have not seen.
"""
import warnings

import numpy as np

from check_helpers import (Lookup, activation_of, bound_lookup, call_as, call_noting_return, call_quietly, changed_in_place, check_array, check_close,
                           check_float_array, check_returns, check_scalar, check_unchanged, construct, fail, fixed_array,
                           load_expected, method_of, off_by, passed, snapshot, stand_ins, times, worst_entry)

EXPECTED = load_expected(__file__)


# --------------------------------------------------------------------------------------------
# compute_distances(X_test, X_train, metric="l2"): the (num_test, num_train) distances
# --------------------------------------------------------------------------------------------

def check_compute_distances(compute_distances, X_test, X_train, metric, expected, other_metric):
    """compute_distances(X_test, X_train, metric) against ``expected``; ``other_metric`` holds
    the distances of the other metric, for the hint."""
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
    scale = max(1.0, float(np.max(np.abs(X_test))), float(np.max(np.abs(X_train)))) * np.sqrt(X_test.shape[1])
    tolerance = dict(rtol=1e-6, atol=1e-6 * scale)
    if np.allclose(got, expected, **tolerance):
        return
    other = "l2" if metric == "l1" else "l1"
    hints = [
        (expected ** 2, "These are squared distances: take the square root."),
        (other_metric, f"These are the {other.upper()} distances, but metric={metric!r} asks for {metric.upper()}."),
        (expected / X_test.shape[1], "Sum over the values of each row; do not average them."),
        (expected / np.sqrt(X_test.shape[1]), "Sum the squared differences; do not average them."),
        (np.sum(X_test, axis=1)[:, np.newaxis] - np.sum(X_train, axis=1)[np.newaxis, :],
         "Take the absolute value of each difference before summing."),
    ]
    hint = next((" " + text for candidate, text in hints if np.allclose(got, candidate, **tolerance)), "")
    wrong, (i, j) = worst_entry(np.asarray(got, dtype=float), expected, **tolerance)
    fail(function, f"{wrong} of {got.size} {metric.upper()} distances differ from the expected ones, for "
                   f"example dists[{i}, {j}] = {got[i, j]:.6g}, off by {off_by(got[i, j], expected[i, j])}.{hint}")


def check_distance_metric_is_checked(compute_distances):
    """Any metric other than "l1" and "l2" is a ValueError, not a silent fall-back."""
    rows = np.arange(6.0).reshape(2, 3)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            call_noting_return(compute_distances, rows, rows, "cosine")
    except ValueError:
        return
    except Exception as error:  # noqa: BLE001 - any other error of the code under test
        fail("compute_distances", f"with metric='cosine' it should raise ValueError, raised "
                                  f"{type(error).__name__} instead.")
    fail("compute_distances", "with metric='cosine' it should raise ValueError (only 'l1' and 'l2' are "
                              "known), but it returned a result.")


METRICS = ("l2", "l1")


def compute_distances_cases():
    """(X_test, X_train) of the visible examples, each tried with both metrics."""
    return [(fixed_array((3, 4), 1.1, 2.0), fixed_array((5, 4), 0.3, 2.0))]


def test_compute_distances(compute_distances):
    for (X_test, X_train), expected in zip(compute_distances_cases(), EXPECTED["compute_distances"]):
        for metric in METRICS:
            other = "l1" if metric == "l2" else "l2"
            check_compute_distances(compute_distances, X_test, X_train, metric, expected[metric], expected[other])
    check_distance_metric_is_checked(compute_distances)
    passed("compute_distances")


# --------------------------------------------------------------------------------------------
# KNearestNeighbor: train(X, y), then predict(X, k=1, metric="l2")
# --------------------------------------------------------------------------------------------

# Known wrong ways to turn the neighbours into a label, and what each is told.
KNN_HINTS = (
    ("tie_first", "On a tie of the vote the smallest label should win, not the label of the nearest "
                  "neighbour (np.bincount(votes).argmax())."),
    ("one_neighbour", "These are the labels of the single nearest row: use all k = {k} neighbours."),
    ("farthest", "These are the labels of the farthest rows: sort the distances in increasing order."),
    ("other_metric", "These predictions use the wrong distance: pass metric={metric!r} on to compute_distances."),
    ("tie_largest", "On a tie of the vote the smallest label should win (np.bincount(votes).argmax())."),
    ("argmax", "np.argmax of the neighbours' labels gives the position of the largest label, not a vote: "
               "count each label (np.bincount) and take the most frequent."),
    ("max_label", "The largest label among the neighbours is not a vote: count each label (np.bincount) "
                  "and take the most frequent."),
    ("mean", "The mean of the labels is not a vote: labels are categories, count them (np.bincount)."),
)


def check_knn(KNearestNeighbor, X_train, y_train, X, k, metric, expected, variants, compute_distances):
    """train(X_train, y_train), then predict(X, k, metric): ``expected`` labels; ``variants`` holds
    what known wrong votes give (see KNN_HINTS), and ``compute_distances`` stands in for yours."""
    function = "KNearestNeighbor"
    method_of(function, KNearestNeighbor, "train", "(X, y)")
    predict = method_of(function, KNearestNeighbor, "predict", "(X, k=1, metric='l2')")
    before = snapshot(X_train, y_train, X)
    classifier = construct(function, KNearestNeighbor)
    call_as(function, getattr(classifier, "train"), X_train, y_train)
    with stand_ins(predict, compute_distances=compute_distances):
        got = call_as(function, getattr(classifier, "predict"), X, k=k, metric=metric)
    check_unchanged(function, ("X_train", "y_train", "X"), before, (X_train, y_train, X))
    if hasattr(compute_distances, "check"):
        compute_distances.check()
    shape = (X.shape[0],)
    if isinstance(got, np.ndarray) and got.shape == (X.shape[0], k) and k > 1:
        fail(function, f"predict should return one label per row, shape {shape}, got {got.shape}: the "
                       f"labels of the {k} neighbours must be turned into one by a vote.")
    check_array(function, f"predict(X, k={k}, metric={metric!r})", got, shape)
    if np.array_equal(got, expected):
        return
    hint = next((" " + text.format(k=k, metric=metric) for name, text in KNN_HINTS
                 if np.array_equal(got, variants[name])), "")
    wrong = np.flatnonzero(got != expected)
    fail(function, f"predict(X, k={k}, metric={metric!r}) got {len(wrong)} of {len(expected)} labels wrong, "
                   f"the first for row {wrong[0]}: predicted {got[wrong[0]]}.{hint}")


def knn_cases():
    """(X_train, y_train, X, k, metric) of the visible examples."""
    X_train = fixed_array((12, 2), 0.2, 3.0)
    y_train = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 3, 1, 2])
    X = fixed_array((6, 2), 2.9, 3.0)
    return [(X_train, y_train, X, k, metric) for k, metric in ((1, "l2"), (3, "l2"), (2, "l1"), (5, "l1"))]


def distances_stand_in(table):
    """Your compute_distances, replaced by its right answers (``table``) for the calls predict
    should make, and by zeros for any other call, which fails the test."""
    return bound_lookup("KNearestNeighbor", "compute_distances",
                        lambda X_test, X_train, metric="l2": np.zeros((np.shape(X_test)[0], np.shape(X_train)[0])),
                        table, "predict should call compute_distances(X, X_train, metric) with the rows to "
                        "classify and the training rows that train stored.")


def test_KNearestNeighbor(KNearestNeighbor):
    for case, expected in zip(knn_cases(), EXPECTED["KNearestNeighbor"]):
        # Your compute_distances is replaced by its right answers for this example's rows.
        check_knn(KNearestNeighbor, *case, expected["labels"], expected["variants"],
                  distances_stand_in(expected["distances"]))
    passed("KNearestNeighbor")


# --------------------------------------------------------------------------------------------
# cross_validation_accuracies(X, y, k_choices, num_folds=5, metric="l2") -> {k: [accuracy per fold]}
# --------------------------------------------------------------------------------------------

class LookupClassifier:
    """Stands for your KNearestNeighbor while cross_validation_accuracies is tested, so that a
    mistake there is not counted again: each classifier it makes answers predict from stored
    predictions, for the trainings on the folds the test expects."""

    stand_in_methods = ("train", "predict")

    def __init__(self, table):
        self.lookup = Lookup("cross_validation_accuracies", "KNearestNeighbor", table,
                             "the classifier was trained or asked on other rows than expected. Cut X and y "
                             "in order with np.array_split, train on the other folds, score on fold i.",
                             fallback=lambda X_train, y_train, X, k, metric: np.full(len(X), -1))

    def __call__(self):
        return _StoredClassifier(self.lookup)


class _StoredClassifier:
    def __init__(self, lookup):
        self.lookup = lookup
        self.X = self.y = None

    def train(self, X, y):
        self.X, self.y = X, y

    def predict(self, X, k=1, metric="l2"):
        return self.lookup(self.X, np.ravel(self.y), X, k, metric)


CV_HINTS = (("leak", "The validation fold must be left out of the training data: train on the other "
                     "folds only, or the fold is scored on rows the classifier has memorised."),
            ("swapped", "Train on the other folds and score on fold i, not the reverse."))


def check_cross_validation(cross_validation_accuracies, X, y, k_choices, num_folds, metric, expected,
                           classifier):
    """{k: [num_folds validation accuracies]} against ``expected``, with ``classifier`` standing
    in for KNearestNeighbor; ``expected["variants"]`` holds what known wrong splits give."""
    function = "cross_validation_accuracies"
    before = snapshot(X, y, k_choices)
    with stand_ins(cross_validation_accuracies, KNearestNeighbor=classifier):
        got = call_quietly(cross_validation_accuracies, X, y, k_choices, num_folds=num_folds, metric=metric)
    check_unchanged(function, ("X", "y", "k_choices"), before, (X, y, k_choices))
    if not isinstance(got, dict) or sorted(got) != sorted(k_choices):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        fail(function, f"should return a dict with one entry per k of k_choices {list(k_choices)}, got {keys}.")
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
    if hasattr(classifier, "lookup"):
        classifier.lookup.check()
    accuracies = expected["accuracies"]
    if all(np.allclose(got[k], accuracies[k], rtol=0, atol=1e-9) for k in k_choices):
        return
    hint = next((" " + text for split, text in CV_HINTS
                 if all(np.allclose(got[k], expected["variants"][split][k], rtol=0, atol=1e-9) for k in k_choices)), "")
    k = next(k for k in k_choices if not np.allclose(got[k], accuracies[k], rtol=0, atol=1e-9))
    fold = int(np.flatnonzero(~np.isclose(got[k], accuracies[k], rtol=0, atol=1e-9))[0])
    how = hint or (" Cut X and y in order with np.array_split, train on the other folds, score on fold i, "
                   "and use nothing but X and y.")
    fail(function, f"for k={k} the accuracy of fold {fold} is {float(got[k][fold]):.3f}, expected another "
                   f"value.{how}")


def cross_validation_cases():
    """(X, y, k_choices, num_folds, metric) of the visible examples."""
    X = fixed_array((13, 2), 0.4, 2.0)
    y = np.array([0, 1, 1, 0, 2, 1, 0, 2, 2, 1, 0, 1, 2])
    return [(X, y, [1, 3], 5, "l2"), (X, y, [2], 3, "l1")]


def test_cross_validation_accuracies(cross_validation_accuracies):
    for case, expected in zip(cross_validation_cases(), EXPECTED["cross_validation_accuracies"]):
        check_cross_validation(cross_validation_accuracies, *case, expected, LookupClassifier(expected["predictions"]))
    passed("cross_validation_accuracies")


# --------------------------------------------------------------------------------------------
# softmax_cross_entropy(scores, y) -> (loss, dscores)
# --------------------------------------------------------------------------------------------

def not_finite_hint(function, scores, loss, dscores):
    """Fail for a result that is not finite on large ``scores``, saying which known slip it is."""
    row_max = np.max(scores, axis=1)
    spread = np.max(row_max) - np.min(row_max)
    width = np.max(row_max - np.min(scores, axis=1))
    try:
        dscores_finite = bool(np.all(np.isfinite(np.asarray(dscores, dtype=float))))
    except (TypeError, ValueError):
        dscores_finite = False
    if dscores_finite and np.shape(dscores) == np.shape(scores):
        fail(function, f"with scores from {float(np.min(scores)):.0f} to {float(np.max(scores)):.0f} dscores is "
                       f"finite but the loss is not: a probability underflowed to 0, and np.log(0) is -inf. Take "
                       f"the log-probabilities from the shifted scores, log P = (S - M) - log(sum of exp(S - M)) "
                       f"over each row, instead of np.log of P.")
    if spread > 700 or width > 700:
        fail(function, f"with scores from {float(np.min(scores)):.0f} to {float(np.max(scores)):.0f} the result is "
                       f"not finite: subtract each row's largest score (not the whole array's largest, nor the "
                       f"row's smallest or mean) before np.exp.")
    fail(function, f"with scores around {float(np.mean(scores)):.0f} the result is not finite: np.exp "
                   f"overflowed or underflowed. Subtract each row's largest score before np.exp.")


def check_softmax_cross_entropy(softmax_cross_entropy, scores, y, expected):
    """(loss, dscores) against ``expected``: the loss, dscores, the softmax probabilities P and
    the loss of a softmax over columns (a known mistake)."""
    function = "softmax_cross_entropy"
    before = snapshot(scores, y)
    result = call_quietly(softmax_cross_entropy, scores, y)
    check_unchanged(function, ("scores", "y"), before, (scores, y))
    loss, dscores = check_returns(function, result, ("loss", "dscores"))
    finite = np.all(np.isfinite(np.asarray(loss, dtype=float))) and np.all(np.isfinite(np.asarray(dscores, dtype=float)))
    if not finite and np.max(np.abs(scores)) > 700:
        not_finite_hint(function, scores, loss, dscores)
    loss = check_scalar(function, "the loss", loss)
    check_float_array(function, "dscores", dscores, scores.shape)
    m = scores.shape[0]
    P = expected["probabilities"]
    check_close(function, "the loss", loss, expected["loss"], hints=(
        (lambda e: e * m, "Average the loss over the m rows (np.mean), do not sum it."),
        (lambda e: -e, "Check the sign: the loss is minus the log-probability of the true class."),
        (lambda e: expected["loss_over_columns"], "The softmax normalises each row (axis=1), over the classes of one example."),
    ))
    check_close(function, "dscores", dscores, expected["dscores"], hints=(
        (lambda e: e * m, "The gradient of the mean loss has the factor 1/m: divide by m."),
        (lambda e: P / m, "Subtract 1 at each row's true class: (P - one_hot) / m."),
        (lambda e: P, "The gradient is (P - one_hot) / m."),
        (lambda e: -e, "Check the sign: the gradient is P minus the one-hot labels."),
    ))


def softmax_cases():
    """(scores, y) of the visible examples."""
    scores = fixed_array((4, 3), 0.6, 2.0)
    return [(scores, np.array([2, 0, 1, 1])), (1000.0 + scores, np.array([0, 0, 2, 1]))]


def test_softmax_cross_entropy(softmax_cross_entropy):
    for case, expected in zip(softmax_cases(), EXPECTED["softmax_cross_entropy"]):
        check_softmax_cross_entropy(softmax_cross_entropy, *case, expected)
    passed("softmax_cross_entropy")


# --------------------------------------------------------------------------------------------
# MLP: init_parameters, loss_and_gradients(X, y), fit(X, y), predict(X)
# --------------------------------------------------------------------------------------------

MLP_PARAMETERS = ("W1", "b1", "W2", "b2")


def mlp_parameters(n_features, n_hidden, n_classes):
    """Fixed parameters of an MLP; about half of the hidden units are active on the tests' inputs."""
    return {"W1": fixed_array((n_features, n_hidden), 0.3, 0.8), "b1": fixed_array((n_hidden,), 1.9, 0.2),
            "W2": fixed_array((n_hidden, n_classes), 2.6, 0.9), "b2": fixed_array((n_classes,), 0.8, 0.3)}


def new_mlp(MLP, **settings):
    instance = construct("MLP", MLP, **settings)
    for name in ("init_parameters", "loss_and_gradients", "fit", "predict"):
        method_of("MLP", MLP, name, "(...)")
    return instance


# Known wrong gradients of loss_and_gradients, and what each is told ({name} is the gradient's).
GRADIENT_HINTS = (
    ("no_penalty", "{name} lacks the penalty's gradient lambda * {weight}."),
    ("double_penalty", "The penalty (lambda / 2) sum {weight}^2 has the gradient lambda * {weight}."),
    ("biases_penalised", "Biases are not penalised: db has no lambda term."),
    ("no_relu_derivative", "dZ1 needs the derivative of the ReLU: multiply by (Z1 > 0)."),
)


def check_mlp_loss_and_gradients(MLP, X, y, n_hidden, n_classes, l2, expected, softmax_cross_entropy):
    """loss_and_gradients(X, y) with fixed parameters: the loss J and the four gradients, against
    ``expected`` (its "variants" hold what known wrong gradients give), with
    ``softmax_cross_entropy`` standing in for yours."""
    function = "MLP"
    mlp = new_mlp(MLP, n_hidden=n_hidden, l2=l2)
    params = mlp_parameters(X.shape[1], n_hidden, n_classes)
    mlp.params = {name: value.copy() for name, value in params.items()}
    before = snapshot(X, y)
    with stand_ins(MLP.loss_and_gradients, softmax_cross_entropy=softmax_cross_entropy):
        result = call_as(function, mlp.loss_and_gradients, X, y)
    check_unchanged(function, ("X", "y"), before, (X, y))
    check_unchanged(function, ("self.params",), [params], [mlp.params])
    if hasattr(softmax_cross_entropy, "check"):
        softmax_cross_entropy.check()
    loss, gradients = check_returns(function, result, ("loss", "gradients"))
    loss = check_scalar(function, "the loss of loss_and_gradients", loss)
    if not isinstance(gradients, dict) or sorted(gradients) != sorted("d" + n for n in MLP_PARAMETERS):
        keys = sorted(gradients) if isinstance(gradients, dict) else type(gradients).__name__
        fail(function, f"loss_and_gradients should return the gradients as a dict with keys dW1, db1, dW2, "
                       f"db2, got {keys}.")
    penalty = expected["penalty"]
    check_close(function, "the loss of loss_and_gradients", loss, expected["loss"], hints=(
        (lambda e: e - penalty, "The L2 penalty (lambda / 2) (sum W1^2 + sum W2^2) is missing from the loss."),
        (lambda e: e + penalty, "The L2 penalty is lambda / 2 times the sum of the squared weights."),
    ) if l2 else ())
    for name in ("dW2", "db2", "dW1", "db1"):
        shape = params[name[1:]].shape
        got = gradients[name]
        if name.startswith("db") and np.shape(got) == (X.shape[0], *shape):
            fail(function, f"{name} should have the shape of {name[1:]}, {shape}: sum over the rows of the batch.")
        check_float_array(function, name, got, shape)
        right = expected["gradients"][name]
        hints = [(lambda e, v=expected["variants"][variant][name]: v, text.format(name=name, weight=name[1:]))
                 for variant, text in GRADIENT_HINTS
                 if not np.allclose(expected["variants"][variant][name], right)]
        check_close(function, f"{name} of loss_and_gradients", got, right, hints=hints)


def check_mlp_predict(MLP, X, n_hidden, n_classes, expected):
    """predict(X) with fixed parameters: the ``expected`` class of each row."""
    function = "MLP"
    mlp = new_mlp(MLP, n_hidden=n_hidden)
    params = mlp_parameters(X.shape[1], n_hidden, n_classes)
    mlp.params = {name: value.copy() for name, value in params.items()}
    got = call_as(function, mlp.predict, X)
    if isinstance(got, np.ndarray) and got.shape == (X.shape[0], n_classes):
        fail(function, f"predict should return one class per row, shape ({X.shape[0]},), got {got.shape}: "
                       f"take the index of the largest score (np.argmax(..., axis=1)).")
    check_array(function, "predict(X)", got, (X.shape[0],))
    if not np.array_equal(got, expected):
        wrong = np.flatnonzero(got != expected)
        fail(function, f"predict(X) got {len(wrong)} of {len(expected)} classes wrong, the first for row "
                       f"{wrong[0]}: predicted {got[wrong[0]]}. Use the forward pass with self.params and take "
                       f"the class of the largest score (the argmax of the scores themselves: no softmax is "
                       f"needed, and np.exp of large scores overflows).")


class RecordedGradients:
    """Stands for loss_and_gradients while fit is tested: it records each minibatch and returns
    made-up gradients (the same for everyone, a different set at each step), so that the test
    checks how fit walks through the data and updates the parameters, whatever your gradients."""

    def __init__(self, shapes):
        self.shapes = shapes
        self.batches = []

    def __call__(self, X_batch, y_batch):
        step = len(self.batches)
        self.batches.append((np.array(X_batch, copy=True), np.array(y_batch, copy=True)))
        gradients = {"d" + name: fixed_array(shape, 0.7 * step, 0.1) for name, shape in self.shapes.items()}
        return 1.0 / (1.0 + step), gradients


FIT_SETTINGS = dict(n_hidden=5, l2=0.01, eta=0.2, seed=11)


def mlp_shapes(n_features, n_hidden, n_classes):
    return {"W1": (n_features, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, n_classes), "b2": (n_classes,)}


def check_mlp_fit(MLP, X, y, epochs, minibatch_size, expected, loss_and_gradients=None):
    """fit(X, y): seeded minibatch gradient descent, checked step by step against ``expected``:
    the rows of each minibatch, the parameters and loss history fit ends with, and what known
    mistakes end with ("variants"). ``loss_and_gradients`` stands in for the network's own (by
    default :class:`RecordedGradients`)."""
    function = "MLP"
    settings = dict(FIT_SETTINGS, epochs=epochs, minibatch_size=minibatch_size)
    mlp = new_mlp(MLP, **settings)
    if loss_and_gradients is None:
        loss_and_gradients = RecordedGradients(mlp_shapes(X.shape[1], settings["n_hidden"], int(np.max(y)) + 1))
    mlp.loss_and_gradients = loss_and_gradients
    before = snapshot(X, y)
    result = call_as(function, mlp.fit, X, y)
    check_unchanged(function, ("X", "y"), before, (X, y))
    if result is not mlp:
        fail(function, "fit should return self, the trained network.")
    m = X.shape[0]
    steps = -(-m // minibatch_size)
    batches = loss_and_gradients.batches
    if len(batches) != epochs * steps:
        fail(function, f"with {m} rows, minibatch_size={minibatch_size} and epochs={epochs}, fit should take "
                       f"{epochs * steps} steps ({steps} minibatches an epoch, the last may be smaller), each with "
                       f"self.loss_and_gradients on one minibatch; it called it {times(len(batches))}.")
    row_of = {row.tobytes(): i for i, row in enumerate(np.asarray(X, dtype=float))}
    for step, ((X_batch, y_batch), wanted) in enumerate(zip(batches, expected["minibatches"])):
        rows = [row_of.get(np.asarray(row, dtype=float).tobytes(), -1) for row in X_batch]
        if rows != list(wanted) or not np.array_equal(np.ravel(y_batch), y[list(wanted)]):
            fail(function, f"epoch {step // steps}, minibatch {step % steps} holds other rows than expected. Each "
                           f"epoch draws order = rng.permutation(m), with rng the generator that init_parameters "
                           f"returns, and takes the minibatches X[order[start:start + minibatch_size]] in turn, "
                           f"with the matching labels.")
    if not isinstance(mlp.params, dict) or sorted(mlp.params) != sorted(MLP_PARAMETERS):
        fail(function, "after fit, self.params should still hold W1, b1, W2 and b2.")
    for name in MLP_PARAMETERS:
        check_float_array(function, f"{name} after fit", mlp.params[name], expected["params"][name].shape)
        check_close(function, f"{name} after fit", mlp.params[name], expected["params"][name], hints=(
            (lambda e, n=name: expected["variants"]["ascent"][n], "Step against the gradient: parameter - self.eta * gradient."),
            (lambda e, n=name: expected["variants"]["unscaled"][n], "Scale each step by the learning rate self.eta."),
        ))
    history = getattr(mlp, "loss_history", None)
    if np.shape(history) != (epochs,):
        fail(function, f"self.loss_history should hold one number per epoch ({epochs}), got "
                       f"{np.shape(history)[0] if np.ndim(history) == 1 else type(history).__name__}.")
    check_close(function, "self.loss_history", np.asarray(history, dtype=float), expected["history"], hints=(
        (lambda e: expected["variants"]["last_loss"], "Record the mean loss of the epoch's minibatches, not the last one."),
    ))


def mlp_cases():
    """(X, y) of the visible examples, and the settings of each part of the test."""
    X = fixed_array((6, 3), 0.2, 1.5)
    y = np.array([0, 2, 1, 2, 0, 1])
    return {"loss_and_gradients": (X, y, 4, 3, 0.1), "predict": (X, 4, 3), "fit": (X, y, 3, 4)}


def softmax_stand_in(table):
    """Your softmax_cross_entropy, replaced by its right answers (``table``) for the scores of the
    forward pass, and by zeros for any other call, which fails the test."""
    return bound_lookup("MLP", "softmax_cross_entropy", lambda scores, y: (0.0, np.zeros(np.shape(scores))),
                        table,
                        "loss_and_gradients should call softmax_cross_entropy(scores, y) once, with the scores "
                        "H @ W2 + b2 of the forward pass (H = relu(X @ W1 + b1)) and the labels y.",
                        uncalled="loss_and_gradients never called softmax_cross_entropy: compute the data loss "
                                 "and dS with softmax_cross_entropy(H @ W2 + b2, y), your function of section 5, "
                                 "called by that name (not a softmax of its own).")


def test_MLP(MLP):
    cases = mlp_cases()
    expected = EXPECTED["MLP"]
    X, y, n_hidden, n_classes, l2 = cases["loss_and_gradients"]
    # Your softmax_cross_entropy is replaced by its right answer for the scores of this example.
    check_mlp_loss_and_gradients(MLP, X, y, n_hidden, n_classes, l2, expected["loss_and_gradients"],
                                 softmax_stand_in(expected["softmax"]))
    check_mlp_predict(MLP, *cases["predict"], expected["predict"])
    check_mlp_fit(MLP, *cases["fit"], expected["fit"])
    passed("MLP")


# --------------------------------------------------------------------------------------------
# transfer_model(trained, cut, nb_classes): trained's layers up to cut, frozen, then a new head
# --------------------------------------------------------------------------------------------

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


def new_head(function, model):
    """The new Dense layer of ``model``: its last layer, or the one before an activation layer of its
    own (Activation("softmax"), Softmax()), which counts as the Dense layer's activation when that
    layer has none (activation=None, which Keras calls "linear"), as in the third assignment.
    Returns (the Dense layer, whether its softmax is still to be seen in the model's output: a
    Dense layer without activation may be followed by keras.activations.softmax, which is no layer)."""
    import keras

    *_, before, last = [None, *model.layers]
    after = activation_of(last)
    wanted = "the last layer should be a new Dense layer with the softmax activation"
    if after is not None and isinstance(before, keras.layers.Dense):
        activation = before.get_config().get("activation")
        if activation != "linear":
            then = f"Activation({after!r})" if type(last).__name__ == "Activation" else f"{type(last).__name__}()"
            fail(function, f"the new Dense layer has activation={activation!r} before {then}: give it "
                           f"activation='softmax' (or none, then Activation('softmax')).")
        if after != "softmax":
            fail(function, f"{wanted}; got Dense without activation, then {type(last).__name__} with activation "
                           f"{after!r}.")
        return before, False
    activation = last.get_config().get("activation")
    if not isinstance(last, keras.layers.Dense) or activation not in ("softmax", "linear"):
        fail(function, f"{wanted}, got {type(last).__name__} with activation {activation!r}.")
    return last, activation == "linear"


def check_transfer_model(transfer_model, trained, cut, nb_classes):
    """trained's layers up to ``cut``, frozen, with their weights, then a new Dense softmax layer
    (Dense(nb_classes, activation="softmax"), or Dense(nb_classes) then Activation("softmax"))."""
    import keras

    function = "transfer_model"
    weights = [w.copy() for w in trained.get_weights()]
    model = call_quietly(transfer_model, trained, cut, nb_classes)
    if not isinstance(model, keras.Model):
        fail(function, f"should return a Keras model (keras.Model(inputs, outputs)), got {type(model).__name__}.")
    if changed_in_place(trained) or not all(np.array_equal(a, b) for a, b in zip(weights, trained.get_weights())):
        fail(function, "changed the weights of the trained model: reuse them as they are.")
    if tuple(model.output_shape) != (None, nb_classes):
        fail(function, f"with nb_classes={nb_classes} the output should have shape (None, {nb_classes}), got "
                       f"{model.output_shape}.")
    head, softmax_unseen = new_head(function, model)
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
        # The old output layer's output, or that of another layer of trained (cut ignored)
        source = ("the output of the old output layer, which must not stay in the model"
                  if kernel.shape[0] == int(np.prod(trained.output_shape[1:])) else
                  "the output of another layer: cut at the layer named by `cut` (trained.get_layer(cut))")
        fail(function, f"the new layer should take the output of layer {cut!r} ({width} numbers per picture); "
                       f"it takes {kernel.shape[0]}, {source}.")
    x = fixed_array((3, *trained.input_shape[1:]), 0.4).astype(np.float32)
    with warnings.catch_warnings():
        # Keras warns when a model built on a list of inputs is called with one array
        warnings.simplefilter("ignore")
        reused = features(x, training=False)
        # What the trained layers give, through a Dense softmax layer with the new layer's weights.
        new_layer = keras.layers.Dense(nb_classes, activation="softmax")
        new_layer.build((None, width))
        new_layer.set_weights([kernel, bias])
        expected = keras.ops.convert_to_numpy(new_layer(keras.ops.reshape(reused, (3, width))))
        got = keras.ops.convert_to_numpy(call_as(function, model, x, training=False))
    if not np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=1e-4, atol=1e-5):
        logits = np.asarray(keras.ops.convert_to_numpy(reused), dtype=float).reshape(3, width) @ kernel + bias
        if softmax_unseen and np.allclose(np.asarray(got, dtype=float), logits, rtol=1e-4, atol=1e-5):
            fail(function, "the last layer should be a new Dense layer with the softmax activation, got Dense "
                           "with activation 'linear'.")
        fail(function, f"the model should compute what `trained` computes up to layer {cut!r}, with its "
                       f"trained weights, then the new layer. A cloned or rebuilt network starts from fresh "
                       f"weights.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        training = keras.ops.convert_to_numpy(call_as(function, model, x, training=True))
    if not np.allclose(np.asarray(training, dtype=float), np.asarray(expected, dtype=float), rtol=1e-4, atol=1e-5):
        fail(function, f"while training (training=True) the model computes something else than the new layer "
                       f"applied to the output of layer {cut!r}: a layer between them (a Dropout?) changes the "
                       f"features. Apply the new layer directly to trained.get_layer({cut!r}).output.")


def test_transfer_model(transfer_model):
    check_transfer_model(transfer_model, small_trained_model(seed=1), "flat", 3)
    check_transfer_model(transfer_model, small_trained_model(seed=2), "hidden", 4)
    passed("transfer_model")
