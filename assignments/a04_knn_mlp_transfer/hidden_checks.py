"""Hidden checks of a04_knn_mlp_transfer: reference answers and the cases students never see.

Only the grader reads this file (and the instructor's ``source/`` copy, which nbgrader never
releases). The source notebook's test cells call ``hidden_checks.test_<function>(impl)`` inside
their hidden region; the build calls :func:`expected_outputs` to store the values that the
visible tests compare with.
"""
import numpy as np

import problem_unittests as visible
from check_helpers import CheckFailed, check_array, fail, passed, peak_memory, with_hint


# --------------------------------------------------------------------------------------------
# Nearest neighbours
# --------------------------------------------------------------------------------------------

def distances(X_test, X_train, metric="l2"):
    """The distance matrix by plain broadcasting (fine for the small arrays of the tests)."""
    differences = np.asarray(X_test, dtype=float)[:, np.newaxis, :] - np.asarray(X_train, dtype=float)[np.newaxis, :, :]
    if metric == "l1":
        return np.sum(np.abs(differences), axis=2)
    return np.sqrt(np.sum(differences ** 2, axis=2))


def other(metric):
    return "l2" if metric == "l1" else "l1"


def knn_predict(X_train, y_train, X, k, metric, tie="smallest", order=1):
    """Majority vote of the k nearest training rows; variants give the known wrong answers."""
    nearest = np.argsort(order * distances(X, X_train, metric), axis=1, kind="stable")[:, :k]
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


def knn_expected(X_train, y_train, X, k, metric):
    """What check_knn compares with: the labels, the known wrong votes, and compute_distances's
    right answers for the calls predict should make."""
    return {
        "labels": knn_predict(X_train, y_train, X, k, metric),
        "variants": {"tie_first": knn_predict(X_train, y_train, X, k, metric, tie="first"),
                     "one_neighbour": knn_predict(X_train, y_train, X, 1, metric),
                     "farthest": knn_predict(X_train, y_train, X, k, metric, order=-1),
                     "other_metric": knn_predict(X_train, y_train, X, k, other(metric)),
                     "tie_largest": knn_predict(X_train, y_train, X, k, metric, tie="largest"),
                     "argmax": knn_predict(X_train, y_train, X, k, metric, tie="argmax"),
                     "max_label": knn_predict(X_train, y_train, X, k, metric, tie="max_label"),
                     "mean": knn_predict(X_train, y_train, X, k, metric, tie="mean")},
        "distances": [((X, X_train, m), distances(X, X_train, m)) for m in ("l2", "l1")],
    }


class ReferenceKNN:
    """A correct classifier, standing in for the student's while cross-validation is tested; it
    remembers every prediction it made, with what it was trained on."""

    stand_in_methods = ("train", "predict")

    def __init__(self, made=None):
        self.made = made if made is not None else []

    def __call__(self):
        return ReferenceKNN(self.made)

    def train(self, X, y):
        self.X, self.y = np.asarray(X), np.asarray(y).reshape(-1)

    def predict(self, X, k=1, metric="l2"):
        predictions = knn_predict(self.X, self.y, X, k, metric)
        self.made.append(((self.X, self.y, np.asarray(X), k, metric), predictions))
        return predictions


def fold_accuracies(X, y, k_choices, num_folds, metric, split="right", classifier=None):
    """{k: [accuracy per fold]} as cross_validation_accuracies should compute it, or a known wrong way."""
    classifier = classifier or ReferenceKNN()
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
        knn = classifier()
        knn.train(*train)
        for k in k_choices:
            accuracies[k].append(float(np.mean(knn.predict(check[0], k=k, metric=metric) == check[1])))
    return accuracies


def cross_validation_expected(X, y, k_choices, num_folds, metric):
    """What check_cross_validation compares with, and the stored predictions of its stand-in."""
    recorder = ReferenceKNN()
    expected = {"accuracies": fold_accuracies(X, y, k_choices, num_folds, metric, classifier=recorder),
                "variants": {split: fold_accuracies(X, y, k_choices, num_folds, metric, split, recorder)
                             for split in ("leak", "swapped")}}
    expected["predictions"] = recorder.made
    return expected


# --------------------------------------------------------------------------------------------
# The multi-layer perceptron
# --------------------------------------------------------------------------------------------

def softmax_cross_entropy(scores, y):
    """(mean cross-entropy, dL/dscores), computed stably."""
    scores = np.asarray(scores, dtype=float)
    m = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(m), y] -= 1
    return float(-np.mean(log_probs[np.arange(m), y])), dscores / m


def softmax_expected(scores, y):
    loss, dscores = softmax_cross_entropy(scores, y)
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probabilities = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    m = scores.shape[0]
    with np.errstate(all="ignore"):  # rows of very different sizes: a column's softmax can underflow to 0
        by_column = np.exp(scores - np.max(scores, axis=0, keepdims=True))
        by_column /= np.sum(by_column, axis=0, keepdims=True)
        loss_over_columns = float(-np.mean(np.log(by_column[np.arange(m), y])))
    return {"loss": loss, "dscores": dscores, "probabilities": probabilities, "loss_over_columns": loss_over_columns}


def mlp_loss(params, X, y, l2, penalty=1.0, bias_penalty=0.0, mask=True):
    """(J, gradients) of the one-hidden-layer network; the keywords give known wrong variants."""
    W1, b1, W2, b2 = (params[name] for name in visible.MLP_PARAMETERS)
    Z1 = X @ W1 + b1
    H = np.maximum(0, Z1)
    data_loss, dS = softmax_cross_entropy(H @ W2 + b2, y)
    loss = data_loss + 0.5 * l2 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    dZ1 = (dS @ W2.T) * ((Z1 > 0) if mask else 1)
    return loss, {"dW1": X.T @ dZ1 + penalty * l2 * W1, "db1": np.sum(dZ1, axis=0) + bias_penalty * l2 * b1,
                  "dW2": H.T @ dS + penalty * l2 * W2, "db2": np.sum(dS, axis=0) + bias_penalty * l2 * b2}


def scores_of(params, X):
    return np.maximum(0, X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


def loss_and_gradients_expected(X, y, n_hidden, n_classes, l2):
    params = visible.mlp_parameters(X.shape[1], n_hidden, n_classes)
    loss, gradients = mlp_loss(params, X, y, l2)
    return {"loss": loss, "gradients": gradients,
            "penalty": float(0.5 * l2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))),
            "variants": {"no_penalty": mlp_loss(params, X, y, l2, penalty=0.0)[1],
                         "double_penalty": mlp_loss(params, X, y, l2, penalty=2.0)[1],
                         "biases_penalised": mlp_loss(params, X, y, l2, bias_penalty=1.0)[1],
                         "no_relu_derivative": mlp_loss(params, X, y, l2, mask=False)[1]}}


def initial_parameters(n_features, n_hidden, n_classes, seed):
    """(params, generator) as the notebook's given MLP.init_parameters makes them."""
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(scale=np.sqrt(2 / n_features), size=(n_features, n_hidden)),
              "b1": np.zeros(n_hidden),
              "W2": rng.normal(scale=np.sqrt(1 / n_hidden), size=(n_hidden, n_classes)),
              "b2": np.zeros(n_classes)}
    return params, rng


def fit_expected(X, y, epochs, minibatch_size):
    """What check_mlp_fit compares with: fit replayed with visible.RecordedGradients's made-up
    gradients, and the known wrong ways (step uphill, unscaled steps, last loss recorded)."""
    settings = visible.FIT_SETTINGS
    m, n_classes = X.shape[0], int(np.max(y)) + 1
    start, rng = initial_parameters(X.shape[1], settings["n_hidden"], n_classes, settings["seed"])
    orders = [rng.permutation(m) for _ in range(epochs)]
    shapes = visible.mlp_shapes(X.shape[1], settings["n_hidden"], n_classes)

    def replay(step_size, record="mean"):
        gradients = visible.RecordedGradients(shapes)
        params, history = dict(start), []
        for order in orders:
            losses = []
            for first in range(0, m, minibatch_size):
                wanted = order[first:first + minibatch_size]
                loss, grads = gradients(X[wanted], y[wanted])
                params = {name: params[name] - step_size * grads["d" + name] for name in visible.MLP_PARAMETERS}
                losses.append(loss)
            history.append(float(np.mean(losses)) if record == "mean" else losses[-1])
        return params, history

    params, history = replay(settings["eta"])
    return {"minibatches": [order[first:first + minibatch_size].tolist()
                            for order in orders for first in range(0, m, minibatch_size)],
            "params": params, "history": history,
            "variants": {"ascent": replay(-settings["eta"])[0], "unscaled": replay(1.0)[0],
                         "last_loss": replay(settings["eta"], record="last")[1]}}


def mlp_expected(cases):
    X, y, n_hidden, n_classes, l2 = cases["loss_and_gradients"]
    params = visible.mlp_parameters(X.shape[1], n_hidden, n_classes)
    X_predict, n_hidden_predict, n_classes_predict = cases["predict"]
    return {"softmax": [((scores_of(params, X), y), softmax_cross_entropy(scores_of(params, X), y))],
            "loss_and_gradients": loss_and_gradients_expected(*cases["loss_and_gradients"]),
            "predict": np.argmax(scores_of(visible.mlp_parameters(X_predict.shape[1], n_hidden_predict,
                                                                  n_classes_predict), X_predict), axis=1),
            "fit": fit_expected(*cases["fit"])}


def expected_outputs():
    """The expected values of the visible tests' examples, stored in expected_outputs.json."""
    return {
        "compute_distances": [{metric: distances(X_test, X_train, metric) for metric in visible.METRICS}
                              for X_test, X_train in visible.compute_distances_cases()],
        "KNearestNeighbor": [knn_expected(*case) for case in visible.knn_cases()],
        "cross_validation_accuracies": [cross_validation_expected(*case) for case in visible.cross_validation_cases()],
        "softmax_cross_entropy": [softmax_expected(*case) for case in visible.softmax_cases()],
        "MLP": mlp_expected(visible.mlp_cases()),
    }


# --------------------------------------------------------------------------------------------
# Hidden tests
# --------------------------------------------------------------------------------------------

# The most memory compute_distances may hold at once on MEMORY_CASE (the notebook says so), and
# that case: 32 test and 820 training photos of CIFAR-10's size, whose differences all at once
# would take 615 MiB for one array (1.2 GiB with their absolute values or squares). L1 taken a
# block of rows at a time (the notebook's rule: about 2**24 differences, 128 MiB, a block), and L2
# by the expansion of the square (one matrix product, no differences at all), stay far below it.
MEMORY_BUDGET_MIB = 512
MEMORY_CASE = (32, 820, 3072)
# L1 also on more test rows and training rows (the notebook's training set has 2,000 photos):
# blocks of a fixed number of rows, or a fixed number of blocks, hold more than the limit there.
L1_MEMORY_CASE = (40, 1400, 3072)

# What each metric is told when it holds too much: how the notebook computes it.
MEMORY_ADVICE = {
    "l1": "Compute the L1 distances a block of test rows at a time, blocks sized by the training set: "
          "rows = max(1, 2**24 // X_train.size), about 2**24 differences (128 MiB) a block, not a fixed "
          "number of rows.",
    "l2": "Compute the L2 distances without an array of differences: expand the square, a column of the "
          "test rows' squared norms plus a row of the training rows' minus 2 * X_test @ X_train.T.",
}


def check_memory(impl, metric, seed=406, case=MEMORY_CASE):
    """compute_distances(..., metric) on ``case`` (test rows, training rows, values per row) must
    not hold more than MEMORY_BUDGET_MIB."""
    function = "compute_distances"
    rng = np.random.default_rng(seed)
    num_test, num_train, size = case
    X_test = rng.integers(0, 256, size=(num_test, size)).astype(np.float64)
    X_train = rng.integers(0, 256, size=(num_train, size)).astype(np.float64)
    everything = num_test * num_train * size * 8 / 2 ** 20
    name = metric.upper()
    advice = (f"On {num_test} test and {num_train} training rows of {size} values, all the differences at once "
              f"take {everything:.0f} MiB. {MEMORY_ADVICE[metric]}")
    try:
        got, peak = peak_memory(impl, X_test, X_train, metric)
    except AssertionError as error:
        if "MemoryError" in str(error):
            fail(function, f"ran out of memory computing {name} distances. {advice}")
        raise
    check_array(function, f"the {metric} distances", got, (num_test, num_train))
    rows = [0, num_test // 2, num_test - 1]
    expected = np.array([distances(X_test[i:i + 1], X_train, metric)[0] for i in rows])
    if not np.allclose(np.asarray(got, dtype=float)[rows], expected, rtol=1e-6):
        fail(function, f"the {name} distances of {num_test} photos to {num_train} photos differ from the expected ones.")
    if peak is not None and peak > MEMORY_BUDGET_MIB * 2 ** 20:
        fail(function, f"held {peak / 2 ** 20:.0f} MiB of arrays at once for {name} distances; the limit is "
                       f"{MEMORY_BUDGET_MIB} MiB. {advice}")


def test_compute_distances(impl):
    rng = np.random.default_rng(401)
    for metric in ("l1", "l2"):
        pixels = rng.integers(0, 256, size=(9, 48)).astype(np.float64)
        for X_test, X_train in ((rng.normal(size=(7, 13)), rng.normal(size=(11, 13))), (pixels[:4], pixels),
                                (rng.normal(size=(1, 5)), rng.normal(size=(6, 5)))):
            visible.check_compute_distances(impl, X_test, X_train, metric, distances(X_test, X_train, metric),
                                            distances(X_test, X_train, other(metric)))
    # Rows compared with themselves, values that are not whole numbers: by the expansion of the
    # square, rounding leaves some squared distances that should be 0 slightly negative (the
    # notebook says to clip them at 0 before the square root).
    X = np.random.default_rng(407).normal(loc=4.0, scale=3.0, size=(48, 37))
    for X_test, X_train in ((X, X), (X[::3], X)):
        for metric in ("l2", "l1"):
            visible.check_compute_distances(impl, X_test, X_train, metric, distances(X_test, X_train, metric),
                                            distances(X_test, X_train, other(metric)))
    visible.check_distance_metric_is_checked(impl)
    for metric in ("l1", "l2"):
        check_memory(impl, metric)
    check_memory(impl, "l1", case=L1_MEMORY_CASE)
    passed("compute_distances", "hidden tests")


def test_KNearestNeighbor(impl):
    rng = np.random.default_rng(402)
    X = np.round(rng.normal(size=(40, 3)), 2)
    y = rng.integers(0, 4, size=40)
    cases = [(X, y, np.round(rng.normal(size=(15, 3)), 2), k, metric) for k in (1, 2, 5, 12) for metric in ("l1", "l2")]
    cases.append((X[:, :2], y + 3, X[:5, :2], 4, "l2"))
    for case in cases:
        check_knn_case(impl, case)
    # Votes that tie between labels up to 9, as CIFAR-10's (2 and 8, 3 and 9), the nearest
    # neighbour sometimes of the larger label, sometimes of the smaller; no distances tie.
    X_train = np.arange(12.0)[:, np.newaxis]
    y_train = np.array([8, 2, 8, 2, 9, 3, 3, 9, 6, 1, 7, 7])
    for queries, k in (([0.3, 1.2, 4.7, 6.4, 9.1], 2), ([1.45, 5.55, 2.4, 10.2], 4)):
        check_knn_case(impl, (X_train, y_train, np.array(queries)[:, np.newaxis], k, "l2"),
                       "On a tie of the vote the smallest label should win (np.bincount(votes).argmax()); a set "
                       "of the labels, or a dict, keeps them in no useful order.", unless="smallest label should win")
    # Many training rows at exactly the same distance: the k nearest are taken in the order of
    # the training rows (the notebook's rule), which only a stable sort keeps.
    tied = np.random.default_rng(408)
    X_train = tied.integers(-5, 6, size=(160, 1)).astype(float)
    y_train = tied.integers(0, 10, size=160)
    X = np.array([[0.0], [0.5], [-2.0], [3.5], [1.0], [-4.5], [2.0], [-0.5]])
    for k, metric in ((1, "l2"), (3, "l1"), (5, "l2"), (8, "l1"), (12, "l2")):
        check_knn_case(impl, (X_train, y_train, X, k, metric),
                       "Many training rows of this example lie at the same distance: neighbours at the same "
                       "distance are taken in the order of the training rows, np.argsort(dists, axis=1, "
                       "kind=\"stable\") (np.argpartition and the default sort mix them).")
    passed("KNearestNeighbor", "hidden tests")


def check_knn_case(impl, case, note="", unless=None):
    """check_knn on ``case``; wrong labels are told ``note`` too, unless the message says ``unless``
    already (a hint of check_knn's that says the same)."""
    expected = knn_expected(*case)
    try:
        visible.check_knn(impl, *case, expected["labels"], expected["variants"],
                          visible.distances_stand_in(expected["distances"]))
    except CheckFailed as failure:
        message = str(failure)
        if not note or "labels wrong" not in message or (unless and unless in message):
            raise
        raise with_hint(failure, note) from None


def test_cross_validation_accuracies(impl):
    rng = np.random.default_rng(403)
    centres = rng.normal(scale=2.0, size=(3, 4))
    y = rng.integers(0, 3, size=37)
    X = centres[y] + rng.normal(size=(37, 4))
    for case in ((X, y, [2, 1, 6], 4, "l1"), (X[:20], y[:20], [3], 2, "l2")):
        expected = cross_validation_expected(*case)
        visible.check_cross_validation(impl, *case, expected, visible.LookupClassifier(expected["predictions"]))
    passed("cross_validation_accuracies", "hidden tests")


def test_softmax_cross_entropy(impl):
    rng = np.random.default_rng(404)
    for scores, y in ((rng.normal(scale=3.0, size=(9, 6)), rng.integers(0, 6, size=9)),
                      (rng.normal(size=(1, 2)), np.array([1])),
                      (2000.0 + rng.normal(scale=50.0, size=(5, 4)), np.array([0, 3, 3, 1, 2])),
                      (-1500.0 + rng.normal(size=(4, 3)), np.array([2, 0, 1, 1]))):
        visible.check_softmax_cross_entropy(impl, scores, y, softmax_expected(scores, y))
    # Rows of very different sizes, some spread wide: only each row's own maximum keeps every
    # exponent at or below 0 without sending a whole row to 0 (not the maximum of the array, nor
    # the row's minimum or mean), and a true class far below its row's maximum has a probability
    # that underflows to 0 (its log is taken from the shifted scores, not from P).
    wide = np.array([[0.5, -1.0, 2.0, 0.0],
                     [1000.0, 1003.0, 998.0, 1001.0],
                     [-1200.0, -1199.0, -1202.0, -1201.0],
                     [0.0, 800.0, 1500.0, -300.0],
                     [40.0, -700.0, 10.0, 900.0]])
    y = np.array([2, 1, 0, 0, 3])
    visible.check_softmax_cross_entropy(impl, wide, y, softmax_expected(wide, y))
    # Labels that never reach the last class: the number of classes is scores.shape[1].
    scores, y = rng.normal(scale=2.0, size=(6, 5)), np.array([0, 3, 1, 1, 0, 2])
    try:
        visible.check_softmax_cross_entropy(impl, scores, y, softmax_expected(scores, y))
    except CheckFailed as failure:
        if "raised" not in str(failure) and "shape" not in str(failure):
            raise
        raise with_hint(failure, f"(Here y holds no label {scores.shape[1] - 1}: scores has {scores.shape[1]} "
                                 f"columns, the classes 0 to {scores.shape[1] - 1}. Take the number of classes from "
                                 f"scores.shape[1], not from y.)") from None
    passed("softmax_cross_entropy", "hidden tests")


def test_MLP(impl):
    rng = np.random.default_rng(405)
    for X, y, n_hidden, n_classes, l2 in ((rng.normal(size=(7, 5)), rng.integers(0, 4, size=7), 6, 4, 0.3),
                                          (rng.normal(size=(3, 2)), np.array([1, 0, 1]), 3, 2, 0.0)):
        scores = scores_of(visible.mlp_parameters(X.shape[1], n_hidden, n_classes), X)
        visible.check_mlp_loss_and_gradients(impl, X, y, n_hidden, n_classes, l2,
                                             loss_and_gradients_expected(X, y, n_hidden, n_classes, l2),
                                             visible.softmax_stand_in([((scores, y), softmax_cross_entropy(scores, y))]))
    X = rng.normal(size=(11, 4))
    visible.check_mlp_predict(impl, X, 5, 3, np.argmax(scores_of(visible.mlp_parameters(4, 5, 3), X), axis=1))
    # Scores in the thousands: np.exp of them overflows (NaN where two classes of a row do), their
    # argmax does not.
    X = np.random.default_rng(410).normal(scale=3000.0, size=(30, 4))
    visible.check_mlp_predict(impl, X, 5, 3, np.argmax(scores_of(visible.mlp_parameters(4, 5, 3), X), axis=1))
    centres = rng.normal(scale=3.0, size=(4, 6))
    y = np.repeat(np.arange(4), 20)
    for X, y, epochs, size in ((centres[y] + rng.normal(size=(80, 6)), y, 15, 16),
                               (centres[y[:33]] + rng.normal(size=(33, 6)), y[:33], 4, 33)):
        visible.check_mlp_fit(impl, X, y, epochs, size, fit_expected(X, y, epochs, size))
    passed("MLP", "hidden tests")


def test_transfer_model(impl):
    for nb_classes, cut in ((7, "flat"), (2, "hidden")):
        visible.check_transfer_model(impl, visible.small_trained_model(seed=nb_classes), cut, nb_classes)
    passed("transfer_model", "hidden tests")
