"""Visible tests of cat vs non-cat: an L-layer network, forward and backward propagation in NumPy.

Each test takes the function under test as its argument, so the same test runs on the reference
solution, on a catalogue of typical mistakes and on your code::

    import problem_unittests as tests
    tests.test_linear_forward(linear_forward)

A test that passes prints one line; a failing test raises ``AssertionError`` with a message that
names the function, the check, what was expected and what came back. The expected values of
these examples are stored in ``expected_outputs.json``. Functions built on smaller ones are
tested with the smaller ones replaced by stand-ins, so that a mistake in one of yours is not
counted twice. When your notebook is graded, hidden tests check the same functions on inputs you
have not seen.
"""
import numpy as np

from check_helpers import (ATOL, RTOL, CheckFailed, Lookup, Recorder, bound_lookup, call_quietly, check_array,
                           check_binary, check_close, check_float_array, check_returns, check_scalar,
                           check_unchanged, fail, fixed_array, load_expected, passed, replayed_in_kernel, snapshot,
                           stand_ins, times, with_hint)

EXPECTED = load_expected(__file__)


def check_activation(function, activation, Z, expected_A, hints=()):
    """An activation must return (A, Z): A of Z's shape, and Z itself as the cache."""
    before = snapshot(Z)
    A, cache = check_returns(function, call_quietly(activation, Z), ("A", "cache"))
    check_unchanged(function, ("Z",), before, (Z,))
    check_float_array(function, "A", A, Z.shape)
    if (isinstance(cache, np.ndarray) and cache.shape == Z.shape
            and np.allclose(cache, expected_A, rtol=RTOL, atol=ATOL)):  # (Z, A) returned, say
        hints = ((lambda e: Z, "A equals Z: return (A, cache) with A first."),) + tuple(hints)
    check_close(function, "A", A, expected_A, hints=hints)
    if not (isinstance(cache, np.ndarray) and cache.shape == Z.shape and np.array_equal(cache, Z)):
        fail(function, "the cache (second value returned) should be Z, the input, for the "
                       "backward pass.")


SIGMOID_HINTS = ((lambda e: 1 - e, "Check the sign of the exponent: sigmoid(z) = 1 / (1 + exp(-z))."),)


def sigmoid_cases():
    """Z of the visible examples."""
    return [np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 10.0]])]


def test_sigmoid(sigmoid):
    for Z, expected in zip(sigmoid_cases(), EXPECTED["sigmoid"]):
        check_activation("sigmoid", sigmoid, Z, expected, SIGMOID_HINTS)
    passed("sigmoid")


def relu_cases():
    """Z of the visible examples."""
    return [np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 10.0]])]


def test_relu(relu):
    for Z, expected in zip(relu_cases(), EXPECTED["relu"]):
        check_activation("relu", relu, Z, expected,
                         hints=((lambda e: np.where(e > 0, e, 0.01 * Z), "This is a leaky ReLU: use 0 for z < 0."),))
    passed("relu")


def check_activation_backward(function, backward, dA, Z, expected_dZ, hints=(), sigmoid=None):
    """``backward(dA, Z)`` must return dZ, of dA's shape, and leave dA and Z unchanged.

    ``sigmoid`` stands in for your sigmoid meanwhile (sigmoid_backward may call it), so that a
    mistake there is not counted again here.
    """
    before = snapshot(dA, Z)
    replacements = {"sigmoid": sigmoid} if sigmoid is not None else {}
    with stand_ins(backward, **replacements):
        dZ = call_quietly(backward, dA, Z)
    if isinstance(sigmoid, Lookup):
        sigmoid.check()
    check_unchanged(function, ("dA", "cache"), before, (dA, Z))
    if isinstance(dZ, tuple):
        fail(function, f"should return dZ alone, one array, got a tuple of length {len(dZ)}.")
    check_float_array(function, "dZ", dZ, dA.shape)
    check_close(function, "dZ", dZ, expected_dZ, hints=hints)


def sigmoid_backward_cases():
    """(dA, Z) of the visible examples."""
    return [(np.array([[0.5, -1.0, 2.0], [1.0, 0.25, -0.75]]), np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 10.0]]))]


def sigmoid_stand_in(Z, sigmoid_of_Z):
    """Your sigmoid, replaced by its right answer ``sigmoid_of_Z`` for Z, and by zeros for any
    other call, which fails the test."""
    return Lookup("sigmoid_backward", "sigmoid", [((Z,), sigmoid_of_Z)],
                  "should call sigmoid on Z, the cache, and on nothing else.",
                  fallback=lambda Z: (np.zeros(np.shape(Z)), Z))


def test_sigmoid_backward(sigmoid_backward):
    for (dA, Z), expected, sigmoid_of_Z in zip(sigmoid_backward_cases(), EXPECTED["sigmoid_backward"],
                                               EXPECTED["sigmoid_of_the_cache"]):
        # Your sigmoid, if sigmoid_backward calls it, is replaced by its right answer for Z.
        sigmoid = sigmoid_stand_in(Z, sigmoid_of_Z)
        check_activation_backward("sigmoid_backward", sigmoid_backward, dA, Z, expected, hints=(
            (lambda e: -e, "Check the sign."),
            (lambda e: e / dA, "Multiply the derivative of the sigmoid by dA (the chain rule)."),
        ), sigmoid=sigmoid)
    passed("sigmoid_backward")


def relu_backward_cases():
    """(dA, Z) of the visible examples."""
    return [(np.array([[0.5, -1.0, 2.0, 0.3], [1.0, 0.25, -0.75, -2.0]]),
             np.array([[-2.0, 0.0, 3.0, 0.1], [1.0, -0.5, 10.0, -1e-3]]))]


def test_relu_backward(relu_backward):
    for (dA, Z), expected in zip(relu_backward_cases(), EXPECTED["relu_backward"]):
        check_relu_backward(relu_backward, dA, Z, expected)
    passed("relu_backward")


def check_relu_backward(relu_backward, dA, Z, expected):
    check_activation_backward("relu_backward", relu_backward, dA, Z, expected, hints=(
        (lambda e: np.where(Z >= 0, dA, 0.0), "At z = 0 the ReLU's derivative is taken as 0: "
                                              "keep dA only where z > 0."),
        (lambda e: (Z > 0).astype(float), "Multiply the derivative of the ReLU by dA (the chain rule)."),
        (lambda e: np.where(dA > 0, dA, 0.0), "Where the gradient flows depends on z (the cache), not on dA."),
    ))


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
    try:
        result = call_quietly(linear_forward, A, W, b)
    except CheckFailed as error:
        raise with_product_advice(error) from None
    Z, cache = check_returns("linear_forward", result, ("Z", "cache"))
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


def with_product_advice(error):
    """``error``, a failure of linear_forward, with advice added where NumPy refused the shapes of
    a matrix product (a transposed W, say) or of an element-by-element product (* for @)."""
    text = str(error)
    if "ValueError" not in text:
        return error
    if "matmul" in text or "not aligned" in text:
        return with_hint(error, "Z = W A + b takes W as it is, of shape (n[l], n[l-1]), times A: "
                                  "W @ A, with no transpose.")
    if "could not be broadcast" in text:
        return with_hint(error, "W A is a matrix product, W @ A, not the element-by-element *.")
    return error


def linear_forward_cases():
    """(A, W, b) of the visible examples."""
    return [(fixed_array((3, 2), 0.1), fixed_array((1, 3), 0.7), np.array([[-0.5]]))]


def test_linear_forward(linear_forward):
    for case, expected in zip(linear_forward_cases(), EXPECTED["linear_forward"]):
        check_linear_forward(linear_forward, *case, expected)
    passed("linear_forward")


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
        fail(function, f"should call linear_forward(A_prev, W, b) once, called it {times(len(linear_calls))}.")
    args = linear_calls[0][1]
    if args and args[0] is not A_prev:
        activated = [name for name, _, _, produced in rec.calls
                     if name in ("relu", "sigmoid") and produced[0] is args[0]]
        given = f"what {activated[0]} returned instead of" if activated else "something other than"
        fail(function, f"linear_forward was given {given} A_prev: call it on A_prev first, then apply "
                       f"the activation to the Z it returns.")
    if len(args) != 3 or not all(x is y for x, y in zip(args, (A_prev, W, b))):
        fail(function, "should call linear_forward(A_prev, W, b) with its own W and b.")
    Z, linear_cache = linear_calls[0][3]
    other = "sigmoid" if activation == "relu" else "relu"
    used = rec.called(activation)
    if rec.called(other) or len(used) != 1:
        fail(function, f"with activation={activation!r} it should call {activation}(Z) once "
                       f"(and not {other}); called {activation} {times(len(used))} and {other} "
                       f"{times(len(rec.called(other)))}.")
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


def forward_stand_in(table):
    """Your linear_activation_forward, replaced by its right answers (``table``: [(call, answer)])
    for the calls L_model_forward should make, and by zeros for any other call, which fails the
    test."""
    return bound_lookup("L_model_forward", "linear_activation_forward", _zeros_forward, table,
                        "should call linear_activation_forward(A_prev, W, b, activation) once per layer: "
                        "layer l on the A of layer l - 1 (X for layer 1) with Wl and bl, 'relu' for the "
                        "hidden layers and 'sigmoid' for the last.")


def _zeros_forward(A_prev, W, b, activation):
    try:
        A = np.zeros((np.shape(W)[0], np.shape(A_prev)[1]))
    except (IndexError, TypeError, ValueError):
        A = np.zeros((1, 1))
    return A, ((A_prev, W, b), A)


def check_L_model_forward(L_model_forward, X, parameters):
    """How L_model_forward chains linear_activation_forward through the layers."""
    function = "L_model_forward"
    rec = Recorder()
    fake = rec.named("linear_activation_forward",
                     lambda A_prev, W, b, activation: (rec.value((W.shape[0], A_prev.shape[1])),
                                                       ("layer cache", rec.counter)))
    before = snapshot(X, parameters)
    L = len(parameters) // 2
    with stand_ins(L_model_forward, linear_activation_forward=fake):
        try:
            result = call_quietly(L_model_forward, X, parameters)
        except CheckFailed as error:
            if "KeyError" in str(error) and any(f"'{kind}{L + 1}'" in str(error) for kind in "Wb"):
                raise with_hint(error, f"This network has {L} layers (W1 to W{L}): count them as "
                                         f"len(parameters) // 2, one W and one b per layer.") from None
            raise
    check_unchanged(function, ("X", "parameters"), before, (X, parameters))
    AL, caches = check_returns(function, result, ("AL", "caches"))
    calls = rec.called("linear_activation_forward")
    if len(calls) != L:
        fail(function, f"with {L} layers it should call linear_activation_forward {times(L)}, "
                       f"called it {times(len(calls))}.")
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
    wanted = f"caches should be a list of the {L} caches returned by linear_activation_forward, layer 1 first"
    if not isinstance(caches, list):
        fail(function, f"{wanted}; got {type(caches).__name__}.")
    if len(caches) != L:
        last_missing = len(caches) == L - 1 and all(c is call[3][1] for c, call in zip(caches, calls))
        fail(function, f"{wanted}; got {len(caches)}"
                       + (": keep the output layer's cache too." if last_missing else "."))
    if any(c is not call[3][1] for c, call in zip(caches, calls)):
        fail(function, f"{wanted}.")


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


def compute_cost_cases():
    """(AL, Y) of the visible examples."""
    return [(np.array([[0.8, 0.9, 0.4, 0.1, 0.65]]), np.array([[1.0, 1.0, 0.0, 0.0, 1.0]]))]


def test_compute_cost(compute_cost):
    for case, expected in zip(compute_cost_cases(), EXPECTED["compute_cost"]):
        check_compute_cost(compute_cost, *case, expected)
    check_compute_cost_at_the_edges(compute_cost)
    passed("compute_cost")


def check_compute_cost_at_the_edges(compute_cost):
    """With AL exactly 0 or 1: about 0 where AL equals Y, large where it is wrong, never inf."""
    sure = np.array([[1.0, 0.0, 1.0]])
    before = snapshot(sure)
    try:
        confident = check_scalar("compute_cost", "the cost", call_quietly(compute_cost, sure, np.array([[1.0, 0.0, 1.0]])))
        wrong = check_scalar("compute_cost", "the cost", call_quietly(compute_cost, sure, np.array([[0.0, 1.0, 1.0]])))
    except AssertionError as error:
        fail("compute_cost", f"when AL contains exact 0s and 1s: {str(error).split(': ', 1)[1]} "
                             f"np.log(0) is -inf: keep AL away from 0 and 1 before the log (np.clip).")
    # Clipping is needed just where AL holds exact 0s and 1s: clipped in place, the caller's AL changes.
    check_unchanged("compute_cost", ("AL",), before, (sure,))
    if not (0 <= confident < 1e-6):
        fail("compute_cost", f"with AL exactly equal to Y the cost should be about 0, got {confident:.3g}.")
    if not wrong > 3:
        fail("compute_cost", f"with AL = 1 where Y = 0 the cost should be large (above 3), got {wrong:.3g}: "
                             f"clip AL only a tiny distance (such as 1e-12) away from 0 and 1.")


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


def linear_backward_cases():
    """(dZ, (A_prev, W, b)) of the visible examples."""
    return [(fixed_array((2, 4), 0.4), (fixed_array((3, 4), 1.1), fixed_array((2, 3), 2.3), fixed_array((2, 1), 0.5)))]


def test_linear_backward(linear_backward):
    for case, expected in zip(linear_backward_cases(), EXPECTED["linear_backward"]):
        check_linear_backward(linear_backward, *case, expected)
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
                       f"once (and not {other}); called {derivative} {times(len(used))} and {other} "
                       f"{times(len(rec.called(other)))}.")
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


def backward_stand_in(table):
    """Your linear_activation_backward, replaced by its right answers (``table``: [(call,
    answer)]) for the calls L_model_backward should make, and by zeros for any other call, which
    fails the test."""
    return bound_lookup("L_model_backward", "linear_activation_backward", _zeros_backward, table,
                        "should call linear_activation_backward(dA, cache, activation) once per layer, from "
                        "the last: dAL with the last cache and 'sigmoid', then each layer's dA_prev with the "
                        "cache of the layer before and 'relu'.")


def _zeros_backward(dA, cache, activation):
    try:
        (A_prev, W, b), _ = cache
        return np.zeros(np.shape(A_prev)), np.zeros(np.shape(W)), np.zeros(np.shape(b))
    except (TypeError, ValueError):
        return np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1))


def check_L_model_backward(L_model_backward, AL, Y, caches, dAL):
    """How L_model_backward starts from ``dAL``, the derivative of the summed losses mJ (not of
    the cost J) with respect to AL, and chains linear_activation_backward back to layer 1."""
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
        fail(function, f"with {L} layers it should call linear_activation_backward {times(L)}, "
                       f"called it {times(len(calls))}.")
    wanted = {f"dA{l - 1}" for l in range(1, L + 1)} | {f"d{kind}{l}" for l in range(1, L + 1) for kind in "Wb"}
    if set(grads) != wanted:
        fail(function, f"for {L} layers expected the keys dA0..dA{L - 1}, dW1..dW{L} and db1..db{L}; "
                       f"missing {sorted(wanted - set(grads)) or 'none'}, unexpected "
                       f"{sorted(set(grads) - wanted) or 'none'}.")
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
            if (isinstance(dA, np.ndarray) and dA.shape == AL.shape and np.issubdtype(dA.dtype, np.floating)
                    and not np.all(np.isfinite(dA)) and np.any((AL == 0) | (AL == 1))):
                fail(function, "dAL contains NaN or infinite values where AL is exactly 0 or 1 (a saturated "
                               "sigmoid): clip AL a tiny distance away from 0 and 1, as in compute_cost, "
                               "before dividing by it.")
            check_float_array(function, "the dA passed to the output layer (dAL)", np.asarray(dA), AL.shape)
            check_close(function, "dAL, the derivative of the summed losses mJ with respect to AL "
                                  "(section 2)", dA, dAL,
                        hints=((lambda e: -e, "Check the sign of dAL."),
                               (lambda e: e / AL.shape[1], "dAL is the derivative of the summed losses mJ, "
                                                           "not of their mean J: leave out the 1/m.")))
        elif dA is not grads.get(f"dA{l}"):
            fail(function, f"layer {l} should go back from dA{l}, the dA_prev returned by layer {l + 1}.")
        for name, value in zip((f"dA{l - 1}", f"dW{l}", f"db{l}"), produced):
            if grads.get(name) is not value:
                fail(function, f"grads[{name!r}] should be what linear_activation_backward returned "
                               f"for layer {l}.")


def L_model_backward_cases():
    """(AL, Y, caches) of the visible examples."""
    return [(np.array([[0.8, 0.3, 0.55, 0.1, 0.95]]), np.array([[1.0, 0.0, 0.0, 1.0, 1.0]]),
             layer_caches([4, 3, 2, 1], 5))]


def test_L_model_backward(L_model_backward):
    for case, dAL in zip(L_model_backward_cases(), EXPECTED["dAL"]):
        check_L_model_backward(L_model_backward, *case, dAL)
    passed("L_model_backward")


def check_update_parameters(update_parameters, parameters, grads, learning_rate, expected):
    """update_parameters(parameters, grads, learning_rate) against the ``expected`` parameters."""
    function = "update_parameters"
    before = snapshot(parameters, grads)
    try:
        updated = call_quietly(update_parameters, parameters, grads, learning_rate)
    except CheckFailed as error:
        raise with_layer_count_advice(error, parameters, grads) from None
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
        check_close(function, f"the updated {name}", updated[name], expected[name], hints=(
            (lambda e: value, f"{name} did not change: update every layer's W and b."),
            (lambda e: 2 * value - e, "Step against the gradient (-), not along it (+)."),
            (lambda e: value - step, "Multiply the gradient by the learning rate."),
        ))


def with_layer_count_advice(error, parameters, grads):
    """``error``, a failure of update_parameters, with advice added where it raised a KeyError for
    a layer the network does not have (L counted from grads, which also holds dA0, dA1, ...) or
    for a dA key taken for a parameter."""
    L = len(parameters) // 2
    beyond = [f"{kind}{L + 1}" for kind in ("W", "b", "dW", "db")]
    text = str(error)
    if "KeyError" not in text:
        return error
    advice = None
    if any(f"'{key}'" in text for key in beyond):
        dA = [f"dA{l}" for l in range(L) if f"dA{l}" in grads]
        advice = (f" This network has {L} layers (W1 to W{L}): count them in parameters "
                  f"(len(parameters) // 2), not in grads"
                  + (f", which also holds {', '.join(dA)}." if dA else "."))
    elif any(f"'{key[1:]}'" in text for key in grads if key.startswith("dA")):
        advice = " grads also holds dA0, dA1, ..., which are not parameters: go through the keys of parameters."
    return error if advice is None else with_hint(error, advice.strip())


def update_parameters_cases():
    """(parameters, grads, learning_rate) of the visible examples."""
    parameters = layered_parameters([3, 2, 1])
    grads = {"d" + name: fixed_array(value.shape, 5.0 + i) for i, (name, value) in enumerate(parameters.items())}
    return [(parameters, grads, 0.1)]


def test_update_parameters(update_parameters):
    for case, expected in zip(update_parameters_cases(), EXPECTED["update_parameters"]):
        check_update_parameters(update_parameters, *case, expected)
    passed("update_parameters")


@replayed_in_kernel
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


# L_layer_model's default learning rate, as the notebook states it (section 10 relies on it)
DEFAULT_LEARNING_RATE = 0.0075


def check_L_layer_model(L_layer_model, X, Y, layers_dims, learning_rate, num_iterations, in_order=False):
    """L_layer_model with its helpers replaced by stand-ins. learning_rate None leaves it out of
    the call (the default is expected); ``in_order`` passes learning_rate and num_iterations by
    position, in the notebook's order, instead of by name."""
    function = "L_layer_model"
    fakes = TrainingStandIns(X.shape[1])
    before = snapshot(X, Y, layers_dims)
    by_default = learning_rate is None
    with stand_ins(L_layer_model, **fakes.replacements()):
        if in_order:
            try:
                result = call_quietly(L_layer_model, X, Y, layers_dims, learning_rate, num_iterations)
            except CheckFailed as error:
                raise with_hint(error, f"It was called as L_layer_model(X, Y, layers_dims, {learning_rate}, "
                                       f"{num_iterations}): take the parameters in the notebook's order, "
                                       f"(X, Y, layers_dims, learning_rate, num_iterations, print_cost).") from None
        elif by_default:
            result = call_quietly(L_layer_model, X, Y, layers_dims, num_iterations=num_iterations)
            learning_rate = DEFAULT_LEARNING_RATE
        else:
            result = call_quietly(L_layer_model, X, Y, layers_dims, learning_rate=learning_rate,
                                  num_iterations=num_iterations, print_cost=False)
    check_unchanged(function, ("X", "Y", "layers_dims"), before, (X, Y, layers_dims))
    parameters, costs = check_returns(function, result, ("parameters", "costs"))
    if not isinstance(parameters, dict) and isinstance(costs, dict):
        kind = {"list": "a list", "tuple": "a tuple", "ndarray": "a numpy array"}.get(
            type(parameters).__name__, f"a {type(parameters).__name__}")
        fail(function, f"should return (parameters, costs) in that order; the first value returned is "
                       f"{kind}, not the parameters dict.")
    inits = fakes.named("initialize_parameters_deep")
    if len(inits) != 1:
        fail(function, f"should call initialize_parameters_deep(layers_dims) once, before the loop; "
                       f"called it {times(len(inits))}.")
    if inits[0][1] != list(layers_dims):
        fail(function, f"should call initialize_parameters_deep with its own layers_dims, "
                       f"{list(layers_dims)}; called it with {inits[0][1]}.")
    for name in ("L_model_forward", "compute_cost", "L_model_backward", "update_parameters"):
        count = len(fakes.named(name))
        if count != num_iterations:
            fail(function, f"should call {name} once per iteration: {times(num_iterations)} for "
                           f"num_iterations={num_iterations}, called it {times(count)}.")
    for step, call in enumerate(fakes.named("L_model_forward")):
        if call[1] is not X:
            fail(function, "should run the forward pass on X, the training examples.")
        if call[2] != step:
            fail(function, f"iteration {step} should start from the parameters update_parameters "
                           f"returned at iteration {step - 1}." if step else
                           "the first iteration should start from the initial parameters.")
    if any(call[2] is not Y for call in fakes.named("compute_cost")):
        fail(function, "should compute the cost against Y, the labels.")
    passed_rates = [call[2] for call in fakes.named("update_parameters") if call[2] != learning_rate]
    if passed_rates:
        default = " (its default: the call left it out)" if by_default else ""
        fail(function, f"should pass learning_rate={learning_rate}{default} on to update_parameters, "
                       f"passed {passed_rates[0]!r}.")
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
    check_L_layer_model(L_layer_model, X, Y, [4, 3, 1], 0.05, 150)
    check_L_layer_model(L_layer_model, X, Y, [4, 1], 0.3, 1)
    passed("L_layer_model")


def check_predict(predict, X, y, parameters, probabilities, expected):
    """predict with L_model_forward replaced by a stand-in that returns ``probabilities``;
    ``expected`` are the labels they stand for."""
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
    got = np.asarray(p, dtype=float)
    clear = probabilities != 0.5
    if np.any(clear) and np.array_equal(got[clear], 1 - expected[clear]):
        fail(function, "every label is the opposite of the expected one: a probability above 0.5 "
                       "means label 1.")
    check_close(function, "the predicted labels", got, expected, hints=(
        (lambda e: np.where(probabilities == 0.5, 1.0, e), "A probability of exactly 0.5 is not above 0.5: label 0."),
    ))


def predict_cases():
    """(X, y, parameters, the probabilities L_model_forward stands for) of the visible examples."""
    return [(fixed_array((3, 6), 0.8), np.array([[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]]), layered_parameters([3, 1]),
             np.array([[0.9, 0.2, 0.5, 0.51, 0.49, 0.05]]))]


def test_predict(predict):
    for case, expected in zip(predict_cases(), EXPECTED["predict"]):
        check_predict(predict, *case, expected)
    passed("predict")
