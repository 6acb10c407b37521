"""Catalogued mistakes of a04_knn_mlp_transfer (nearest neighbours, an MLP in
NumPy, transfer learning)."""
from known_submissions import Mistake, catalogue
from known_submissions import function_source as _f

DISTANCES = 'compute_distances(X_test, X_train, metric="l2")'
SQUARED_L2 = "np.sum(X_test ** 2, axis=1)[:, None] + np.sum(X_train ** 2, axis=1)[None, :] - 2 * X_test @ X_train.T"
L1 = "np.sum(np.abs(X_test[:, None, :] - X_train[None, :, :]), axis=2)"
UNKNOWN = "raise ValueError(f'unknown metric {metric}')"
# L1 as the notebook has it, a block of test rows at a time (one expression, for _distances).
L1_IN_BLOCKS = ("np.concatenate([np.sum(np.abs(X_test[start:start + max(1, 2**24 // X_train.size), None, :] "
                "- X_train[None, :, :]), axis=2) for start in range(0, len(X_test), max(1, 2**24 // X_train.size))])")
# L1 in blocks of a fixed number of test rows, whatever the size of the training set
L1_IN_TENS = ("np.concatenate([np.sum(np.abs(X_test[start:start + 10, None, :] - X_train[None, :, :]), axis=2) "
              "for start in range(0, len(X_test), 10)])")


def _distances(l2, l1, unknown=UNKNOWN):
    return _f(DISTANCES, "if metric == 'l2':", f"    return {l2}", "if metric == 'l1':", f"    return {l1}", unknown)


def _edited(source, *replacements):
    """``source`` with each (old, new) replaced; each ``old`` must occur exactly once."""
    for old, new in replacements:
        if source.count(old) != 1:
            raise ValueError(f"{old!r} occurs {source.count(old)} times in the reference")
        source = source.replace(old, new)
    return source


KNN = '''class KNearestNeighbor:
    def train(self, X, y):
        self.X_train = X
        self.y_train = y

    def predict(self, X, k=1, metric="l2"):
        dists = compute_distances(X, self.X_train, metric)
        nearest = np.argsort(dists, axis=1)[:, :k]
        votes = self.y_train[nearest]
        return np.array([np.bincount(row).argmax() for row in votes])
'''

# The notebook's order of neighbours at the same distance: that of the training rows.
KNN_STABLE = _edited(KNN, ("np.argsort(dists, axis=1)", 'np.argsort(dists, axis=1, kind="stable")'))

CROSS_VALIDATION = '''def cross_validation_accuracies(X, y, k_choices, num_folds=5, metric="l2"):
    X_folds = np.array_split(X, num_folds)
    y_folds = np.array_split(y, num_folds)
    accuracies = {k: [] for k in k_choices}
    for i in range(num_folds):
        classifier = KNearestNeighbor()
        classifier.train(np.concatenate(X_folds[:i] + X_folds[i + 1:]), np.concatenate(y_folds[:i] + y_folds[i + 1:]))
        for k in k_choices:
            predicted = classifier.predict(X_folds[i], k=k, metric=metric)
            accuracies[k].append(np.mean(predicted == y_folds[i]))
    return accuracies
'''

SOFTMAX = '''def softmax_cross_entropy(scores, y):
    m = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(m), y]))
    dscores = probs.copy()
    dscores[np.arange(m), y] -= 1
    return loss, dscores / m
'''
# The log of a probability that underflows to 0 is -inf: the stable version takes logs of sums.
SOFTMAX_STABLE = _edited(SOFTMAX, (
    "    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)\n"
    "    loss = -np.mean(np.log(probs[np.arange(m), y]))\n",
    "    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))\n"
    "    probs = np.exp(log_probs)\n"
    "    loss = -np.mean(log_probs[np.arange(m), y])\n"))

MLP = '''class MLP:
    def __init__(self, n_hidden=100, l2=0.01, epochs=40, eta=0.02, minibatch_size=64, seed=0):
        self.n_hidden = n_hidden
        self.l2 = l2
        self.epochs = epochs
        self.eta = eta
        self.minibatch_size = minibatch_size
        self.seed = seed
        self.params = None
        self.loss_history = []

    def init_parameters(self, n_features, n_classes):
        rng = np.random.default_rng(self.seed)
        self.params = {
            "W1": rng.normal(scale=np.sqrt(2 / n_features), size=(n_features, self.n_hidden)),
            "b1": np.zeros(self.n_hidden),
            "W2": rng.normal(scale=np.sqrt(1 / self.n_hidden), size=(self.n_hidden, n_classes)),
            "b2": np.zeros(n_classes),
        }
        return rng

    def loss_and_gradients(self, X, y):
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        Z1 = X @ W1 + b1
        H = np.maximum(0, Z1)
        data_loss, dS = softmax_cross_entropy(H @ W2 + b2, y)
        loss = data_loss + 0.5 * self.l2 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        dZ1 = (dS @ W2.T) * (Z1 > 0)
        dW1 = X.T @ dZ1 + self.l2 * W1
        db1 = np.sum(dZ1, axis=0)
        dW2 = H.T @ dS + self.l2 * W2
        db2 = np.sum(dS, axis=0)
        return loss, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

    def fit(self, X, y):
        y = np.asarray(y).reshape(-1)
        rng = self.init_parameters(X.shape[1], int(y.max()) + 1)
        self.loss_history = []
        for epoch in range(self.epochs):
            order = rng.permutation(X.shape[0])
            losses = []
            for start in range(0, X.shape[0], self.minibatch_size):
                batch = order[start:start + self.minibatch_size]
                loss, grads = self.loss_and_gradients(X[batch], y[batch])
                for name in self.params:
                    self.params[name] = self.params[name] - self.eta * grads["d" + name]
                losses.append(loss)
            self.loss_history.append(np.mean(losses))
        return self

    def predict(self, X):
        H = np.maximum(0, X @ self.params["W1"] + self.params["b1"])
        return np.argmax(H @ self.params["W2"] + self.params["b2"], axis=1)
'''

TRANSFER = "transfer_model(trained, cut, nb_classes)"
CUT = "base = keras.Model(trained.input, trained.get_layer(cut).output)"
FREEZE = "base.trainable = False"
HEAD = "outputs = layers.Dense(nb_classes, activation='softmax')(base.output)"
MODEL = "return keras.Model(base.input, outputs)"

MISTAKES = catalogue(
    # compute_distances(X_test, X_train, metric="l2") -> (num_test, num_train)
    Mistake("compute_distances", "l2_without_square_root", "forgets the square root of the L2 expansion",
            _distances(SQUARED_L2, L1), "squared distances"),
    Mistake("compute_distances", "transposed", "training rows against test rows: (num_train, num_test)",
            _distances("np.sqrt(np.maximum(np.sum(X_train ** 2, axis=1)[:, None] + np.sum(X_test ** 2, axis=1)"
                       "[None, :] - 2 * X_train @ X_test.T, 0))",
                       "np.sum(np.abs(X_train[:, None, :] - X_test[None, :, :]), axis=2)"), "transposed"),
    Mistake("compute_distances", "l1_without_abs", "sums the signed differences for L1",
            _distances(f"np.sqrt(np.maximum({SQUARED_L2}, 0))", "np.sum(X_test[:, None, :] - X_train[None, :, :], axis=2)"),
            "absolute value"),
    Mistake("compute_distances", "metric_ignored", "always computes L2",
            _f(DISTANCES, f"return np.sqrt(np.maximum({SQUARED_L2}, 0))"), "These are the L2 distances, but metric='l1'"),
    Mistake("compute_distances", "mean_not_sum", "averages the absolute differences for L1",
            _distances(f"np.sqrt(np.maximum({SQUARED_L2}, 0))", "np.mean(np.abs(X_test[:, None, :] - X_train[None, :, :]), axis=2)"),
            "do not average"),
    Mistake("compute_distances", "unchunked_l1", "right values, but L1 broadcast over all test rows at once",
            _distances(f"np.sqrt(np.maximum({SQUARED_L2}, 0))", L1), "a block of test rows at a time"),
    Mistake("compute_distances", "any_metric_is_l1", "treats every metric other than 'l2' as L1",
            _f(DISTANCES, "if metric == 'l2':", f"    return np.sqrt(np.maximum({SQUARED_L2}, 0))", f"return {L1}"),
            "should raise ValueError"),
    Mistake("compute_distances", "l2_not_clipped", "takes the square root of the expansion without clipping it "
                                                   "at 0: NaN where rounding leaves a row's distance to itself "
                                                   "slightly negative",
            _distances(f"np.sqrt({SQUARED_L2})", L1_IN_BLOCKS), "Clip it at 0"),
    Mistake("compute_distances", "l2_by_broadcasting", "right values, but L2 from all the differences at once "
                                                       "instead of the expansion of the square",
            _distances("np.sqrt(np.sum((X_test[:, None, :] - X_train[None, :, :]) ** 2, axis=2))", L1_IN_BLOCKS),
            "MiB of arrays at once for L2 distances"),

    Mistake("compute_distances", "l1_in_blocks_of_ten", "right values, but L1 in blocks of 10 test rows whatever "
                                                       "the size of the training set",
            _distances(f"np.sqrt(np.maximum({SQUARED_L2}, 0))", L1_IN_TENS), "MiB of arrays at once for L1"),

    # KNearestNeighbor: train(X, y), predict(X, k=1, metric="l2")
    Mistake("KNearestNeighbor", "farthest", "sorts the distances in decreasing order",
            _edited(KNN, ("np.argsort(dists, axis=1)", "np.argsort(-dists, axis=1)")), "farthest rows"),
    Mistake("KNearestNeighbor", "k_ignored", "always takes the single nearest neighbour",
            _edited(KNN, ("[:, :k]", "[:, :1]")), "single nearest row"),
    Mistake("KNearestNeighbor", "tie_to_nearest", "Counter.most_common: a tie goes to the label met first",
            _edited(KNN, ("return np.array([np.bincount(row).argmax() for row in votes])",
                          "return np.array([collections.Counter(row.tolist()).most_common(1)[0][0] for row in votes])"),
                    ("class KNearestNeighbor:", "import collections\n\n\nclass KNearestNeighbor:")),
            "smallest label should win"),
    Mistake("KNearestNeighbor", "argmax_of_votes", "np.argmax of the neighbours' labels instead of a vote",
            _edited(KNN, ("return np.array([np.bincount(row).argmax() for row in votes])", "return np.argmax(votes, axis=1)")),
            "position of the largest label"),
    Mistake("KNearestNeighbor", "mean_label", "rounds the mean of the neighbours' labels",
            _edited(KNN, ("return np.array([np.bincount(row).argmax() for row in votes])",
                          "return np.rint(votes.mean(axis=1)).astype(int)")), "mean of the labels"),
    Mistake("KNearestNeighbor", "metric_ignored", "calls compute_distances without the metric",
            _edited(KNN, ("compute_distances(X, self.X_train, metric)", "compute_distances(X, self.X_train)")),
            "wrong distance"),
    Mistake("KNearestNeighbor", "vote_by_set_order", "max over a set of the labels by their count: a tie goes to "
                                                     "the label the set yields first (8 before 2)",
            _edited(KNN_STABLE, ("return np.array([np.bincount(row).argmax() for row in votes])",
                                 "return np.array([max(set(row.tolist()), key=row.tolist().count) for row in votes])")),
            "a set of the labels"),
    Mistake("KNearestNeighbor", "argpartition", "np.argpartition for the k nearest: neighbours at the same "
                                                "distance are not taken in the order of the training rows",
            _edited(KNN, ("np.argsort(dists, axis=1)[:, :k]", "np.argpartition(dists, k - 1, axis=1)[:, :k]")),
            'kind="stable"'),

    # cross_validation_accuracies(X, y, k_choices, num_folds=5, metric="l2")
    Mistake("cross_validation_accuracies", "leaks_validation_fold", "trains on the whole of X, validation fold included",
            _edited(CROSS_VALIDATION, ("classifier.train(np.concatenate(X_folds[:i] + X_folds[i + 1:]), "
                                       "np.concatenate(y_folds[:i] + y_folds[i + 1:]))", "classifier.train(X, y)")),
            "left out of the training data"),
    Mistake("cross_validation_accuracies", "train_on_fold", "trains on fold i and scores the other folds",
            _edited(CROSS_VALIDATION, ("classifier.train(np.concatenate(X_folds[:i] + X_folds[i + 1:]), "
                                       "np.concatenate(y_folds[:i] + y_folds[i + 1:]))",
                                       "classifier.train(X_folds[i], y_folds[i])"),
                    ("predicted = classifier.predict(X_folds[i], k=k, metric=metric)\n"
                     "            accuracies[k].append(np.mean(predicted == y_folds[i]))",
                     "predicted = classifier.predict(np.concatenate(X_folds[:i] + X_folds[i + 1:]), k=k, metric=metric)\n"
                     "            accuracies[k].append(np.mean(predicted == np.concatenate(y_folds[:i] + y_folds[i + 1:])))")),
            "not the reverse"),
    Mistake("cross_validation_accuracies", "mean_only", "keeps only the mean accuracy of each k",
            _edited(CROSS_VALIDATION, ("    return accuracies",
                                       "    return {k: np.mean(values) for k, values in accuracies.items()}")),
            "got one number"),
    Mistake("cross_validation_accuracies", "always_five_folds", "cuts 5 folds whatever num_folds says",
            _edited(CROSS_VALIDATION, ("X_folds = np.array_split(X, num_folds)", "X_folds = np.array_split(X, 5)"),
                    ("y_folds = np.array_split(y, num_folds)", "y_folds = np.array_split(y, 5)"),
                    ("for i in range(num_folds):", "for i in range(5):")), "num_folds=3"),
    Mistake("cross_validation_accuracies", "counts_not_fractions", "counts the correct predictions",
            _edited(CROSS_VALIDATION, ("np.mean(predicted == y_folds[i])", "np.sum(predicted == y_folds[i])")),
            "fractions between 0 and 1"),
    Mistake("cross_validation_accuracies", "shuffled_folds", "shuffles the rows before cutting the folds",
            _edited(CROSS_VALIDATION, ("    X_folds = np.array_split(X, num_folds)\n    y_folds = np.array_split(y, num_folds)",
                                       "    order = np.random.default_rng(0).permutation(len(X))\n"
                                       "    X_folds = np.array_split(X[order], num_folds)\n"
                                       "    y_folds = np.array_split(y[order], num_folds)")),
            "in order with np.array_split"),

    Mistake("cross_validation_accuracies", "sorts_k_choices", "sorts the caller's k_choices in place",
            _edited(CROSS_VALIDATION, ("    X_folds = np.array_split(X, num_folds)",
                                       "    k_choices.sort()\n    X_folds = np.array_split(X, num_folds)")),
            "changed the caller's k_choices in place"),

    # softmax_cross_entropy(scores, y) -> (loss, dscores)
    Mistake("softmax_cross_entropy", "no_max_shift", "exponentiates the scores as they are",
            _edited(SOFTMAX, ("shifted = scores - np.max(scores, axis=1, keepdims=True)", "shifted = scores")),
            "Subtract each row's largest score"),
    Mistake("softmax_cross_entropy", "summed_loss", "sums the loss over the rows",
            _edited(SOFTMAX_STABLE, ("loss = -np.mean(", "loss = -np.sum(")), "Average the loss"),
    Mistake("softmax_cross_entropy", "gradient_not_averaged", "forgets the 1/m of the gradient",
            _edited(SOFTMAX_STABLE, ("return loss, dscores / m", "return loss, dscores")), "factor 1/m"),
    Mistake("softmax_cross_entropy", "no_one_hot", "returns the probabilities as the gradient",
            _edited(SOFTMAX_STABLE, ("    dscores[np.arange(m), y] -= 1\n", "")), "Subtract 1 at each row's true class"),
    Mistake("softmax_cross_entropy", "shift_in_place", "subtracts the maximum from the caller's scores",
            _edited(SOFTMAX_STABLE, ("shifted = scores - np.max(scores, axis=1, keepdims=True)",
                                     "scores -= np.max(scores, axis=1, keepdims=True)\n    shifted = scores")),
            "in place"),
    Mistake("softmax_cross_entropy", "global_max_shift", "subtracts the largest score of the whole array: rows far "
                                                         "below it underflow to 0",
            _edited(SOFTMAX_STABLE, ("np.max(scores, axis=1, keepdims=True)", "np.max(scores)")),
            "subtract each row's largest score (not the whole array's largest"),
    Mistake("softmax_cross_entropy", "row_min_shift", "subtracts each row's smallest score: a wide row overflows",
            _edited(SOFTMAX, ("np.max(scores, axis=1, keepdims=True)", "np.min(scores, axis=1, keepdims=True)")),
            "subtract each row's largest score (not the whole array's largest, nor the row's smallest"),
    Mistake("softmax_cross_entropy", "row_mean_shift", "subtracts each row's mean score: a wide row overflows",
            _edited(SOFTMAX, ("np.max(scores, axis=1, keepdims=True)", "np.mean(scores, axis=1, keepdims=True)")),
            "subtract each row's largest score (not the whole array's largest, nor the row's smallest or mean)"),
    Mistake("softmax_cross_entropy", "log_of_probabilities", "shifts by the row maximum but takes np.log of the "
                                                             "probabilities: one that underflows to 0 gives -inf",
            SOFTMAX, "np.log(0) is -inf"),
    Mistake("softmax_cross_entropy", "classes_from_labels", "builds the one-hot labels with np.eye(np.max(y) + 1): "
                                                            "too few columns when y lacks the last class",
            _edited(SOFTMAX_STABLE, ("    dscores[np.arange(m), y] -= 1\n    return loss, dscores / m",
                                     "    one_hot = np.eye(np.max(y) + 1)[y]\n    return loss, (probs - one_hot) / m")),
            "scores.shape[1]"),
    Mistake("softmax_cross_entropy", "columns", "normalises over the rows of the batch (axis=0)",
            _edited(SOFTMAX, ("shifted = scores - np.max(scores, axis=1, keepdims=True)",
                              "shifted = scores - np.max(scores, axis=0, keepdims=True)"),
                    ("np.sum(np.exp(shifted), axis=1, keepdims=True)", "np.sum(np.exp(shifted), axis=0, keepdims=True)")),
            "normalises each row"),

    # MLP: loss_and_gradients, fit, predict
    Mistake("MLP", "penalty_missing_from_gradients", "penalises the loss but not the weight gradients",
            _edited(MLP, ("dW1 = X.T @ dZ1 + self.l2 * W1", "dW1 = X.T @ dZ1"), ("dW2 = H.T @ dS + self.l2 * W2", "dW2 = H.T @ dS")),
            "lacks the penalty's gradient"),
    Mistake("MLP", "penalty_missing_from_loss", "leaves the penalty out of the loss",
            _edited(MLP, ("loss = data_loss + 0.5 * self.l2 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))", "loss = data_loss")),
            "missing from the loss"),
    Mistake("MLP", "biases_penalised", "adds the penalty's gradient to the biases too",
            _edited(MLP, ("db1 = np.sum(dZ1, axis=0)", "db1 = np.sum(dZ1, axis=0) + self.l2 * b1"),
                    ("db2 = np.sum(dS, axis=0)", "db2 = np.sum(dS, axis=0) + self.l2 * b2")), "Biases are not penalised"),
    Mistake("MLP", "no_relu_derivative", "backpropagates through the ReLU as if it were the identity",
            _edited(MLP, ("dZ1 = (dS @ W2.T) * (Z1 > 0)", "dZ1 = dS @ W2.T")), "derivative of the ReLU"),
    Mistake("MLP", "gradient_ascent", "adds the gradient",
            _edited(MLP, ("self.params[name] - self.eta * grads", "self.params[name] + self.eta * grads")),
            "Step against the gradient"),
    Mistake("MLP", "unseeded_shuffle", "shuffles with NumPy's global generator",
            _edited(MLP, ("order = rng.permutation(X.shape[0])", "order = np.random.permutation(X.shape[0])")),
            "rng.permutation(m)"),
    Mistake("MLP", "drops_last_minibatch", "skips the last, smaller minibatch",
            _edited(MLP, ("range(0, X.shape[0], self.minibatch_size)",
                          "range(0, X.shape[0] - self.minibatch_size + 1, self.minibatch_size)")), "the last may be smaller"),
    Mistake("MLP", "last_loss_recorded", "records the last minibatch's loss of each epoch",
            _edited(MLP, ("self.loss_history.append(np.mean(losses))", "self.loss_history.append(loss)")),
            "not the last one"),
    Mistake("MLP", "predicts_scores", "returns the scores instead of the classes",
            _edited(MLP, ("return np.argmax(H @ self.params[\"W2\"] + self.params[\"b2\"], axis=1)",
                          "return H @ self.params[\"W2\"] + self.params[\"b2\"]")), "one class per row"),

    Mistake("MLP", "softmax_of_its_own", "computes the softmax inside loss_and_gradients, without the row "
                                         "maximum, instead of calling softmax_cross_entropy",
            _edited(MLP, ("data_loss, dS = softmax_cross_entropy(H @ W2 + b2, y)",
                          "P = np.exp(H @ W2 + b2)\n        P = P / np.sum(P, axis=1, keepdims=True)\n"
                          "        data_loss = -np.mean(np.log(P[np.arange(len(y)), y]))\n"
                          "        dS = P.copy()\n        dS[np.arange(len(y)), y] -= 1\n        dS = dS / len(y)")),
            "never called softmax_cross_entropy"),
    Mistake("MLP", "predicts_through_softmax", "predicts the argmax of a softmax without the row maximum: large "
                                               "scores overflow to NaN",
            _edited(MLP, ("return np.argmax(H @ self.params[\"W2\"] + self.params[\"b2\"], axis=1)",
                          "S = np.exp(H @ self.params[\"W2\"] + self.params[\"b2\"])\n"
                          "        return np.argmax(S / np.sum(S, axis=1, keepdims=True), axis=1)")),
            "predict(X)"),

    # transfer_model(trained, cut, nb_classes)
    Mistake("transfer_model", "not_frozen", "forgets to freeze the reused layers",
            _f(TRANSFER, CUT, HEAD, MODEL), "should be frozen"),
    Mistake("transfer_model", "dropout_before_head", "puts a Dropout layer between the cut layer and the new one",
            _f(TRANSFER, CUT, FREEZE, "outputs = layers.Dense(nb_classes, activation='softmax')(layers.Dropout(0.5)(base.output))",
               MODEL), "while training"),
    Mistake("transfer_model", "old_output_kept", "stacks the new layer on the old output layer",
            _f(TRANSFER, "trained.trainable = False",
               "outputs = layers.Dense(nb_classes, activation='softmax')(trained.output)",
               "return keras.Model(trained.input, outputs)"), "the old output layer, which must not stay"),
    Mistake("transfer_model", "no_softmax", "a new layer without an activation",
            _f(TRANSFER, CUT, FREEZE, "outputs = layers.Dense(nb_classes)(base.output)", MODEL), "softmax activation"),
    Mistake("transfer_model", "cloned", "clones the network, which gives it fresh weights",
            _f(TRANSFER, "fresh = keras.models.clone_model(trained)",
               "base = keras.Model(fresh.input, fresh.get_layer(cut).output)", FREEZE, HEAD, MODEL), "fresh weights"),
    Mistake("transfer_model", "cut_ignored", "always cuts before the old output layer",
            _f(TRANSFER, "base = keras.Model(trained.input, trained.layers[-2].output)", FREEZE, HEAD, MODEL),
            "the output of another layer: cut at the layer named by `cut`"),
    Mistake("transfer_model", "old_output_zeroed", "zeroes the old output layer's weights to be rid of it, "
                                                   "changing the trained model",
            _f(TRANSFER, "old_output = trained.layers[-1]",
               "old_output.set_weights([np.zeros_like(w) for w in old_output.get_weights()])", CUT, FREEZE, HEAD, MODEL),
            "changed the weights of the trained model"),
    Mistake("transfer_model", "relu_then_softmax", "a new Dense layer with the ReLU activation, then "
                                                   "Activation('softmax')",
            _f(TRANSFER, CUT, FREEZE, "x = layers.Dense(nb_classes, activation='relu')(base.output)",
               "outputs = layers.Activation('softmax')(x)", MODEL), "give it activation='softmax'"),
    Mistake("transfer_model", "everything_frozen", "freezes the new layer as well",
            _f(TRANSFER, CUT, HEAD, "model = keras.Model(base.input, outputs)", "model.trainable = False", "return model"),
            "nothing is trainable"),
)

# What the ghost students who answer write in the hand-graded cells (the demo has them graded by hand).
WRITTEN_ANSWERS = {
    "answer_validation": "No: the test set only measures the final model. A validation split of the "
                         "training data chooses the hyperparameters.",
    "answer_cnn_vs_mlp": "A CNN shares small filters across the picture and keeps its layout; an MLP "
                         "connects every pixel to every unit.",
    "answer_hyperparameters": "Filters (32), kernel size (3 x 3), stride (1), pooling (2 x 2), learning "
                              "rate (0.001), dropout (0.5).",
    "answer_transfer": "Only the new layers are trained, so fewer labels and epochs are needed. Replace "
                       "the output layer with a Dense layer of the new number of classes.",
}
