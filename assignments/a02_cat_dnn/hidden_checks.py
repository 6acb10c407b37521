"""Hidden checks of a02_cat_dnn: reference answers and the cases students never see.

Only the grader reads this file (and the instructor's ``source/`` copy, which nbgrader never
releases). The source notebook's test cells call ``hidden_checks.test_<function>(impl)`` inside
their hidden region; the build calls :func:`expected_outputs` to store the values that the
visible tests compare with.
"""
import numpy as np

import problem_unittests as visible
from check_helpers import call_quietly, check_close, fail, passed, stand_ins
from coursekit import gradcheck


# --------------------------------------------------------------------------------------------
# Reference answers
# --------------------------------------------------------------------------------------------

def sigmoid(Z):
    """(A, Z): the sigmoid written with tanh, which does not overflow."""
    return 0.5 * (1 + np.tanh(Z / 2)), Z


def relu(Z):
    return np.maximum(Z, 0.0), Z


def sigmoid_backward(dA, Z):
    s = sigmoid(Z)[0]
    return dA * s * (1 - s)


def relu_backward(dA, Z):
    return dA * (Z > 0)


def linear_forward(A, W, b):
    return W @ A + b


def compute_cost(AL, Y):
    return float(-np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)))


def linear_backward(dZ, cache):
    A_prev, W, _ = cache
    m = A_prev.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m


def derivative_of_the_cost(AL, Y):
    """dAL, the derivative of the cross-entropy cost with respect to AL."""
    return -(Y / AL - (1 - Y) / (1 - AL))


def update_parameters(parameters, grads, learning_rate):
    return {name: value - learning_rate * grads["d" + name] for name, value in parameters.items()}


def labels(probabilities):
    return (probabilities > 0.5).astype(float)


def layer_forward(A_prev, W, b, activation):
    Z = W @ A_prev + b
    A = relu(Z)[0] if activation == "relu" else sigmoid(Z)[0]
    return A, ((A_prev, W, b), Z)


def layer_backward(dA, cache, activation):
    linear_cache, Z = cache
    dZ = relu_backward(dA, Z) if activation == "relu" else sigmoid_backward(dA, Z)
    return linear_backward(dZ, linear_cache)


def forward(X, parameters):
    """(AL, caches) of the L-layer network: ReLU layers, then a sigmoid output layer."""
    L, A, caches = len(parameters) // 2, X, []
    for l in range(1, L + 1):
        A, cache = layer_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], "relu" if l < L else "sigmoid")
        caches.append(cache)
    return A, caches


def backward(AL, caches, Y):
    """grads of the L-layer network, with the keys L_model_backward gives them, in its order."""
    grads, dA, L = {}, derivative_of_the_cost(np.clip(AL, 1e-12, 1 - 1e-12), Y), len(caches)
    for l in range(L, 0, -1):
        dA, dW, db = layer_backward(dA, caches[l - 1], "sigmoid" if l == L else "relu")
        grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"] = dA, dW, db
    return grads


def forward_calls(X, parameters):
    """[(call, answer)]: the calls of linear_activation_forward that L_model_forward should make
    (layer by layer, from X), with their right answers."""
    table, A, L = [], X, len(parameters) // 2
    for l in range(1, L + 1):
        call = (A, parameters[f"W{l}"], parameters[f"b{l}"], "relu" if l < L else "sigmoid")
        table.append((call, layer_forward(*call)))
        A = table[-1][1][0]
    return table


def backward_calls(AL, Y, caches):
    """[(call, answer)]: the calls of linear_activation_backward that L_model_backward should
    make (from the last layer, with dAL), with their right answers."""
    table, dA, L = [], derivative_of_the_cost(AL, Y), len(caches)
    for l in range(L, 0, -1):
        call = (dA, caches[l - 1], "sigmoid" if l == L else "relu")
        table.append((call, layer_backward(*call)))
        dA = table[-1][1][0]
    return table


def random_parameters(rng, dims, b_scale=1.0):
    parameters = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = rng.normal(size=(dims[l], dims[l - 1]))
        parameters[f"b{l}"] = rng.normal(0, b_scale, size=(dims[l], 1))
    return parameters


def expected_outputs():
    """The expected values of the visible tests' examples, stored in expected_outputs.json."""
    return {
        "sigmoid": [sigmoid(Z)[0] for Z in visible.sigmoid_cases()],
        "relu": [relu(Z)[0] for Z in visible.relu_cases()],
        "sigmoid_backward": [sigmoid_backward(dA, Z) for dA, Z in visible.sigmoid_backward_cases()],
        "sigmoid_of_the_cache": [sigmoid(Z) for _, Z in visible.sigmoid_backward_cases()],
        "relu_backward": [relu_backward(dA, Z) for dA, Z in visible.relu_backward_cases()],
        "linear_forward": [linear_forward(*case) for case in visible.linear_forward_cases()],
        "compute_cost": [compute_cost(*case) for case in visible.compute_cost_cases()],
        "linear_backward": [linear_backward(*case) for case in visible.linear_backward_cases()],
        "dAL": [derivative_of_the_cost(AL, Y) for AL, Y, _ in visible.L_model_backward_cases()],
        "update_parameters": [update_parameters(*case) for case in visible.update_parameters_cases()],
        "predict": [labels(case[3]) for case in visible.predict_cases()],
    }


# --------------------------------------------------------------------------------------------
# Hidden tests
# --------------------------------------------------------------------------------------------

def test_sigmoid(impl):
    rng = np.random.default_rng(202)
    for Z in (rng.normal(0, 3, size=(4, 7)), np.array([[-800.0, -40.0, 0.0, 40.0, 800.0]])):
        visible.check_activation("sigmoid", impl, Z, sigmoid(Z)[0], visible.SIGMOID_HINTS)
    passed("sigmoid", "hidden tests")


def test_relu(impl):
    rng = np.random.default_rng(203)
    for Z in (rng.normal(size=(5, 3)), np.array([[0.0, -0.0, 1e-9, -1e-9]]), rng.normal(size=(1, 12))):
        visible.check_activation("relu", impl, Z, relu(Z)[0])
    passed("relu", "hidden tests")


def test_sigmoid_backward(impl):
    rng = np.random.default_rng(204)
    for shape in ((3, 5), (1, 9)):
        dA, Z = rng.normal(size=shape), rng.normal(0, 2, size=shape)
        visible.check_activation_backward("sigmoid_backward", impl, dA, Z, sigmoid_backward(dA, Z),
                                          sigmoid=visible.sigmoid_stand_in(Z, sigmoid(Z)))
    passed("sigmoid_backward", "hidden tests")


def test_relu_backward(impl):
    rng = np.random.default_rng(205)
    for shape in ((4, 6), (1, 3)):
        dA, Z = rng.normal(size=shape), rng.normal(size=shape)
        Z.flat[0] = 0.0
        visible.check_relu_backward(impl, dA, Z, relu_backward(dA, Z))
    passed("relu_backward", "hidden tests")


def test_initialize_parameters_deep(impl):
    # The last one has at least 2000 weights in every layer, so that each layer's spread is checked.
    for dims in ([1000, 60, 1], [12288, 20, 7, 5, 1], [7, 300, 2, 3, 1], [30, 80, 2000, 1]):
        visible.check_initialize_parameters_deep(impl, dims)
    passed("initialize_parameters_deep", "hidden tests")


def test_linear_forward(impl):
    rng = np.random.default_rng(206)
    for n_prev, n, m in ((5, 3, 7), (4, 1, 1), (2, 6, 3)):
        A, W, b = rng.normal(size=(n_prev, m)), rng.normal(size=(n, n_prev)), rng.normal(size=(n, 1))
        visible.check_linear_forward(impl, A, W, b, linear_forward(A, W, b))
    passed("linear_forward", "hidden tests")


def test_linear_activation_forward(impl):
    rng = np.random.default_rng(207)
    for activation in ("sigmoid", "relu"):
        A, W, b = rng.normal(size=(6, 2)), rng.normal(size=(1, 6)), rng.normal(size=(1, 1))
        visible.check_linear_activation_forward(impl, A, W, b, activation)
    passed("linear_activation_forward", "hidden tests")


def test_L_model_forward(impl):
    rng = np.random.default_rng(208)
    for dims in ([6, 5, 4, 3, 2, 1], [3, 1], [8, 4, 1]):
        parameters = random_parameters(rng, dims)
        X = rng.normal(size=(dims[0], 5))
        visible.check_L_model_forward(impl, X, parameters)
        layers = visible.forward_stand_in(forward_calls(X, parameters))
        with stand_ins(impl, linear_activation_forward=layers):
            AL, _ = call_quietly(impl, X, parameters)
        layers.check()
        check_close("L_model_forward", "AL", AL, forward(X, parameters)[0])
    passed("L_model_forward", "hidden tests")


def test_compute_cost(impl):
    rng = np.random.default_rng(209)
    for m in (1, 20, 300):
        AL, Y = rng.uniform(0.01, 0.99, size=(1, m)), (rng.random((1, m)) < 0.5).astype(float)
        visible.check_compute_cost(impl, AL, Y, compute_cost(AL, Y))
    passed("compute_cost", "hidden tests")


def test_linear_backward(impl):
    rng = np.random.default_rng(210)
    for n_prev, n, m in ((5, 3, 7), (1, 4, 2), (6, 1, 1)):
        dZ = rng.normal(size=(n, m))
        cache = (rng.normal(size=(n_prev, m)), rng.normal(size=(n, n_prev)), rng.normal(size=(n, 1)))
        visible.check_linear_backward(impl, dZ, cache, linear_backward(dZ, cache))
    passed("linear_backward", "hidden tests")


def test_linear_activation_backward(impl):
    rng = np.random.default_rng(211)
    cache = ((rng.normal(size=(2, 5)), rng.normal(size=(3, 2)), rng.normal(size=(3, 1))), rng.normal(size=(3, 5)))
    for activation in ("sigmoid", "relu"):
        visible.check_linear_activation_backward(impl, rng.normal(size=(3, 5)), cache, activation)
    passed("linear_activation_backward", "hidden tests")


def test_L_model_backward(impl):
    AL, Y = np.array([[0.3, 0.9, 0.6]]), np.array([[0.0, 1.0, 0.0]])
    visible.check_L_model_backward(impl, AL, Y, visible.layer_caches([3, 4, 4, 3, 2, 1], 3, phase=0.5),
                                   derivative_of_the_cost(AL, Y))
    # A saturated sigmoid: AL exactly 1 and 0 on examples it gets right, which clipping AL (section 7)
    # keeps finite (dAL about -1 and 1, whatever tiny distance it is clipped to).
    AL, Y = np.array([[1.0, 0.0, 0.7, 0.2]]), np.array([[1.0, 0.0, 1.0, 0.0]])
    visible.check_L_model_backward(impl, AL, Y, visible.layer_caches([3, 2, 1], 4, phase=1.5),
                                   derivative_of_the_cost(np.clip(AL, 1e-12, 1 - 1e-12), Y))
    rng = np.random.default_rng(212)
    for dims in ([4, 5, 3, 1], [3, 1]):
        parameters = random_parameters(rng, dims, b_scale=0.5)
        X, Y = rng.normal(size=(dims[0], 6)), np.array([[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]])
        AL, caches = forward(X, parameters)
        layers = visible.backward_stand_in(backward_calls(AL, Y, caches))
        with stand_ins(impl, linear_activation_backward=layers):
            grads = call_quietly(impl, AL, Y, caches)
        layers.check()
        if not isinstance(grads, dict) or any(f"dW{l}" not in grads or f"db{l}" not in grads
                                              for l in range(1, len(dims))):
            fail("L_model_backward", "should return a dict with dW and db for every layer.")
        difference = gradcheck.gradient_check(lambda p: compute_cost(forward(X, p)[0], Y), parameters, grads)
        if not difference < 1e-5:
            fail("L_model_backward", f"a gradient check on a {len(dims) - 1}-layer network gives a relative "
                                     f"difference of {difference:.2e} (expected below 1e-5).")
    passed("L_model_backward", "hidden tests")


def test_update_parameters(impl):
    rng = np.random.default_rng(213)
    parameters = {f"{k}{l}": rng.normal(size=(l + 1, 3) if k == "W" else (l + 1, 1)) for l in (1, 2, 3) for k in "Wb"}
    grads = {"d" + k: rng.normal(size=v.shape) for k, v in parameters.items()}
    grads["dA0"] = rng.normal(size=(3, 2))
    visible.check_update_parameters(impl, parameters, grads, 0.0075, update_parameters(parameters, grads, 0.0075))
    # grads as L_model_backward returns them: dA2, dW3, db3, dA1, ..., db1, 3L keys in all.
    parameters = random_parameters(rng, [4, 5, 3, 1], b_scale=0.5)
    X, Y = rng.normal(size=(4, 6)), np.array([[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]])
    grads = backward(*forward(X, parameters), Y)
    visible.check_update_parameters(impl, parameters, grads, 0.05, update_parameters(parameters, grads, 0.05))
    passed("update_parameters", "hidden tests")


def test_L_layer_model(impl):
    X, Y = np.arange(15.0).reshape(3, 5) / 10, np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    for iterations, rate in ((201, 0.01), (100, 0.5), (2, 0.02)):
        visible.check_L_layer_model(impl, X, Y, [3, 2, 2, 1], rate, iterations)
    visible.check_L_layer_model(impl, X, Y, [3, 2, 1], 0.02, 3, in_order=True)
    visible.check_L_layer_model(impl, X, Y, [3, 2, 1], None, 3)  # the default learning rate
    passed("L_layer_model", "hidden tests")


def test_predict(impl):
    X, y = np.ones((4, 7)), np.zeros((1, 7))
    probabilities = np.array([[0.5000001, 0.4999999, 1.0, 0.0, 0.7, 0.3, 0.5]])
    visible.check_predict(impl, X, y, {"W1": np.ones((1, 4)), "b1": np.zeros((1, 1))}, probabilities,
                          labels(probabilities))
    passed("predict", "hidden tests")
