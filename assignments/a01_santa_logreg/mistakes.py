"""Catalogued mistakes of a01_santa_logreg (logistic regression)."""
from known_submissions import Mistake, catalogue

MISTAKES = catalogue(
    # init_w(n): a column of n float zeros
    Mistake("init_w", "flat_vector", "returns shape (n,) instead of a column",
            "def init_w(n):\n    return np.zeros(n)\n", "shape"),
    Mistake("init_w", "row_vector", "returns a row (1, n)",
            "def init_w(n):\n    return np.zeros((1, n))\n", "shape"),
    Mistake("init_w", "ones", "starts from ones",
            "def init_w(n):\n    return np.ones((n, 1))\n", "zeros"),
    Mistake("init_w", "small_random", "random weights as in deeper networks",
            "def init_w(n):\n    return np.random.randn(n, 1) * 0.01\n", "zeros"),
    Mistake("init_w", "integer_zeros", "integer zeros, which gradient descent cannot update",
            "def init_w(n):\n    return np.zeros((n, 1), dtype=int)\n", "floating-point"),
    Mistake("init_w", "python_list", "a list of lists instead of an array",
            "def init_w(n):\n    return [[0.0] for _ in range(n)]\n", "numpy array"),

    # propagate(w, b, x, y) -> (dw, db, cost)
    Mistake("propagate", "sigmoid_sign", "sigmoid written 1 / (1 + exp(+z))",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = 1 / (1 + np.exp(w.T @ x + b))\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n",
            "cost differs"),
    Mistake("propagate", "missing_1_over_m", "dw summed over the examples, not averaged",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T, float(np.mean(y_hat - y)), float(cost)\n",
            "average over the m examples"),
    Mistake("propagate", "transposed_dw", "dw as a row (1, n)",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return (y_hat - y) @ x.T / m, float(np.mean(y_hat - y)), float(cost)\n",
            "shape"),
    Mistake("propagate", "forgot_b", "z computed without the bias",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x)\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n",
            "differ"),
    Mistake("propagate", "cost_without_minus", "cost missing its minus sign",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    cost = np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n",
            "minus sign"),
    Mistake("propagate", "db_as_array", "db left as a (1, 1) array",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T / m, np.sum(y_hat - y, axis=1, keepdims=True) / m, float(cost)\n",
            "single number"),
    Mistake("propagate", "gradient_sign", "gradient of -J: (y - y_hat) instead of (y_hat - y)",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y - y_hat).T / m, float(np.mean(y - y_hat)), float(cost)\n",
            "the gradients use y_hat - y"),
    Mistake("propagate", "cost_summed", "cost summed instead of averaged",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    cost = -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n",
            "average over the m examples"),
    Mistake("propagate", "coarse_clip", "clips y_hat to [0.01, 0.99], which changes the cost near 0 and 1",
            "def propagate(w, b, x, y):\n"
            "    m = x.shape[1]\n"
            "    y_hat = np.clip(sigmoid(w.T @ x + b), 0.01, 0.99)\n"
            "    cost = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))\n"
            "    return x @ (y_hat - y).T / m, float(np.mean(y_hat - y)), float(cost)\n",
            "cost differs"),

    # optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False) -> (w, b, costs)
    Mistake("optimization", "gradient_ascent", "steps up the gradient",
            "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
            "    costs = []\n"
            "    for i in range(num_iterations):\n"
            "        dw, db, cost = propagate(w, b, x, y)\n"
            "        w = w + learning_rate * dw\n"
            "        b = b + learning_rate * db\n"
            "        if i % 50 == 0:\n"
            "            costs.append(cost)\n"
            "    return w, b, costs\n",
            "instead of down"),
    Mistake("optimization", "b_not_updated", "forgets to update b",
            "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
            "    costs = []\n"
            "    for i in range(num_iterations):\n"
            "        dw, db, cost = propagate(w, b, x, y)\n"
            "        w = w - learning_rate * dw\n"
            "        if i % 50 == 0:\n"
            "            costs.append(cost)\n"
            "    return w, b, costs\n",
            "differ"),
    Mistake("optimization", "costs_every_iteration", "records the cost at every iteration",
            "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
            "    costs = []\n"
            "    for i in range(num_iterations):\n"
            "        dw, db, cost = propagate(w, b, x, y)\n"
            "        w = w - learning_rate * dw\n"
            "        b = b - learning_rate * db\n"
            "        costs.append(cost)\n"
            "    return w, b, costs\n",
            "recorded costs"),
    Mistake("optimization", "in_place_update", "w -= ... changes the caller's array",
            "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
            "    costs = []\n"
            "    for i in range(num_iterations):\n"
            "        dw, db, cost = propagate(w, b, x, y)\n"
            "        w -= learning_rate * dw\n"
            "        b -= learning_rate * db\n"
            "        if i % 50 == 0:\n"
            "            costs.append(cost)\n"
            "    return w, b, costs\n",
            "in place"),
    Mistake("optimization", "fixed_learning_rate", "ignores the learning_rate argument",
            "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
            "    costs = []\n"
            "    for i in range(num_iterations):\n"
            "        dw, db, cost = propagate(w, b, x, y)\n"
            "        w = w - 0.005 * dw\n"
            "        b = b - 0.005 * db\n"
            "        if i % 50 == 0:\n"
            "            costs.append(cost)\n"
            "    return w, b, costs\n",
            "differ"),
    Mistake("optimization", "one_iteration_short", "loops num_iterations - 1 times",
            "def optimization(w, b, x, y, num_iterations, learning_rate, print_cost=False):\n"
            "    costs = []\n"
            "    for i in range(1, num_iterations):\n"
            "        dw, db, cost = propagate(w, b, x, y)\n"
            "        w = w - learning_rate * dw\n"
            "        b = b - learning_rate * db\n"
            "        if i % 50 == 0:\n"
            "            costs.append(cost)\n"
            "    return w, b, costs\n",
            "recorded costs"),

    # prediction(w, b, x) -> (1, m) labels
    Mistake("prediction", "threshold_wrong_side", "label 1 below 0.5",
            "def prediction(w, b, x):\n"
            "    return (sigmoid(w.T @ x + b) < 0.5).astype(float)\n",
            "opposite"),
    Mistake("prediction", "threshold_inclusive", "labels y_hat of exactly 0.5 as Santa (>= 0.5)",
            "def prediction(w, b, x):\n"
            "    return (sigmoid(w.T @ x + b) >= 0.5).astype(float)\n",
            "exactly 0.5"),
    Mistake("prediction", "probabilities", "returns probabilities, not labels",
            "def prediction(w, b, x):\n"
            "    return sigmoid(w.T @ x + b)\n",
            "only 0 and 1"),
    Mistake("prediction", "flat_labels", "returns shape (m,)",
            "def prediction(w, b, x):\n"
            "    return (sigmoid(w.T @ x + b) > 0.5).astype(float).ravel()\n",
            "shape"),
    Mistake("prediction", "forgot_b", "ignores the bias",
            "def prediction(w, b, x):\n"
            "    return (sigmoid(w.T @ x) > 0.5).astype(float)\n",
            "labels of w^T x without b"),
    Mistake("prediction", "threshold_on_zero", "thresholds y_hat at 0 instead of 0.5",
            "def prediction(w, b, x):\n"
            "    return (sigmoid(w.T @ x + b) > 0).astype(float)\n",
            "label 1 only where y_hat > 0.5"),
    Mistake("prediction", "loop_over_features", "loops over x.shape[0] instead of the m examples",
            "def prediction(w, b, x):\n"
            "    y_hat = sigmoid(w.T @ x + b)\n"
            "    labels = np.zeros((1, x.shape[0]))\n"
            "    for i in range(x.shape[0]):\n"
            "        labels[0, i] = 1.0 if y_hat[0, i] > 0.5 else 0.0\n"
            "    return labels\n",
            "shape"),

    # model(...) -> dict
    Mistake("model", "test_predicted_from_train", "predicts the test set from x_train",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = init_w(x_train.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, learning_rate, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_train),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "y_pred_test"),
    Mistake("model", "ignores_num_iterations", "always trains 2000 iterations",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = init_w(x_train.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, 2000, learning_rate, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "num_iterations=200"),
    Mistake("model", "ignores_learning_rate", "always trains with 0.005",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = init_w(x_train.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, 0.005, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "learning_rate=0.1"),
    Mistake("model", "random_init", "random initial weights",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = np.random.randn(x_train.shape[0], 1), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, learning_rate, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "initialise w with init_w(n)"),
    Mistake("model", "missing_costs", "leaves the costs out of the dict",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = init_w(x_train.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, learning_rate, print_cost)\n"
            "    return {'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "no key 'costs'"),
    Mistake("model", "trained_on_test", "trains on the test set",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = init_w(x_test.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_test, y_test, num_iterations, learning_rate, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "not on the test set"),
    Mistake("model", "zeros_without_init_w", "makes the zeros itself instead of calling init_w",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = np.zeros((x_train.shape[0], 1)), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, learning_rate, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "called init_w 0 times"),
    Mistake("model", "print_cost_not_passed", "does not pass print_cost on to optimization",
            "def model(x_train, y_train, x_test, y_test, num_iterations=2000, learning_rate=0.005, print_cost=False):\n"
            "    w, b = init_w(x_train.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, learning_rate)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "print_cost=True on to optimization"),
    Mistake("model", "other_defaults", "defaults of its own (num_iterations=100, learning_rate=0.5)",
            "def model(x_train, y_train, x_test, y_test, num_iterations=100, learning_rate=0.5, print_cost=False):\n"
            "    w, b = init_w(x_train.shape[0]), 0.0\n"
            "    w, b, costs = optimization(w, b, x_train, y_train, num_iterations, learning_rate, print_cost)\n"
            "    return {'costs': costs, 'y_pred_test': prediction(w, b, x_test),\n"
            "            'y_pred_train': prediction(w, b, x_train), 'w': w, 'b': b,\n"
            "            'learning_rate': learning_rate, 'num_iterations': num_iterations}\n",
            "num_iterations=2000 (its default"),
)
