"""Visible tests of convolutional networks: convolution and pooling in NumPy, then Keras networks
for MNIST digits and CIFAR-10 photos.

Each test takes the function under test as its argument, so the same test runs on the reference
solution, on a catalogue of typical mistakes and on your code::

    import problem_unittests as tests
    tests.test_one_hot(one_hot)

A test that passes prints one line; a failing test raises ``AssertionError`` with a message that
names the function, the check, what was expected and what came back. The expected values of
these examples (the layers of each network among them) are stored in ``expected_outputs.json``.
``conv_forward`` and ``pool_forward`` are also compared with what Keras's own layers compute
with the same weights, as you can do yourself. When your notebook is graded, hidden tests check
the same functions on inputs you have not seen.
"""
import math
import re
import warnings

import numpy as np

from check_helpers import (activation_of, call_quietly, changed_in_place, check_array, check_binary,
                           check_close, check_unchanged, fail, load_expected, passed, snapshot, with_hint,
                           without_weights)

EXPECTED = load_expected(__file__)

# Tolerances of the comparisons of conv_forward and pool_forward (relative, absolute), as
# numpy.allclose uses them: loose enough for a function that computes in float32 (its rounding
# errors on these examples stay below 1e-5), tight enough for every catalogued mistake.
LAYER_RTOL, LAYER_ATOL = 1e-5, 1e-4


# --------------------------------------------------------------------------------------------
# Keras's layers, computing in float64, for comparison
# --------------------------------------------------------------------------------------------

def through_keras(inputs, *keras_layers):
    """What a stack of Keras layers makes of ``inputs``, an array (m, height, width, channels)."""
    import keras

    inputs = np.asarray(inputs, dtype=np.float64)
    model = keras.Sequential([keras.Input(inputs.shape[1:], dtype="float64"), *keras_layers])
    return np.asarray(keras.ops.convert_to_numpy(model(inputs)), dtype=np.float64)


def keras_conv2d(kernel, bias, strides, zeros):
    """Keras's layers for a convolution: ``zeros`` rows and columns of zeros around the input,
    then ``keras.layers.Conv2D`` with the given kernel (f, f, n_C_prev, n_C), bias and strides."""
    import keras

    kernel, bias = np.asarray(kernel, dtype=np.float64), np.asarray(bias, dtype=np.float64)
    conv = keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], strides=strides, padding="valid",
                               dtype="float64")
    conv.build((None, None, None, kernel.shape[2]))
    conv.set_weights([kernel, bias])
    return [keras.layers.ZeroPadding2D(zeros, dtype="float64"), conv]


def keras_pooling(kind, window, strides):
    """``keras.layers.MaxPooling2D`` (kind "max") or ``AveragePooling2D`` (kind "average")."""
    import keras

    layer = {"max": keras.layers.MaxPooling2D, "average": keras.layers.AveragePooling2D}[kind]
    return [layer(pool_size=window, strides=strides, padding="valid", dtype="float64")]


def output_size(n, window, strides, zeros):
    """Size of one side after a window of ``window`` pixels slides ``strides`` pixels at a time
    over ``n`` pixels with ``zeros`` zeros added on each side: floor((n + 2p - f) / s) + 1."""
    return (n + 2 * zeros - window) // strides + 1


def _close_to_layer(got, candidate):
    candidate = np.asarray(candidate, dtype=np.float64)
    return candidate.shape == got.shape and bool(np.allclose(got, candidate, rtol=LAYER_RTOL, atol=LAYER_ATOL))


def _first_hint(got, hints):
    """The message of the first hint whose value (computed only now) matches ``got``, else ''."""
    for value, message in hints:
        try:
            if _close_to_layer(got, value()):
                return " " + message
        except (ValueError, TypeError, IndexError, ArithmeticError):
            continue
    return ""


def _values_differ(function, setting, what, got, expected, against, hint):
    wrong = int(np.sum(~np.isclose(got, expected, rtol=LAYER_RTOL, atol=LAYER_ATOL)))
    difference = float(np.max(np.abs(got - expected)))
    fail(function, f"{setting}: {wrong} of {expected.size} values of {what} differ from {against} "
                   f"(max abs difference {difference:.2e}).{hint}")


def _explain_size(function, setting, what, got_shape, expected, layout, candidates):
    """Fail with the expected shape, and why ``got_shape`` may differ where a candidate explains it."""
    reasons = [reason for shape, reason in candidates if tuple(shape) == tuple(got_shape)]
    because = " " + " Or ".join(reasons) if reasons else f" ({layout})"
    fail(function, f"{setting}: expected {what} of shape {tuple(expected)}, got {tuple(got_shape)}.{because}")


# --------------------------------------------------------------------------------------------
# conv_forward(A_prev, W, b, stride=1, pad=0) -> Z
# --------------------------------------------------------------------------------------------

CONV_LAYOUT = ("A_prev is (m, n_H_prev, n_W_prev, n_C_prev), W is (f, f, n_C_prev, n_C) as Keras stores "
               "its kernels, b is (n_C,), and Z is (m, n_H, n_W, n_C)")
SIZE_RULE = "n_out = floor((n + 2p - f) / s) + 1 per side"


def conv_setting(A_prev, W, stride, pad):
    return f"for A_prev of shape {A_prev.shape}, W of shape {W.shape}, stride={stride}, pad={pad}"


def _runs(function, *args, **kwargs):
    """Whether ``function`` returns without an error on copies of ``args`` (what it returns is not
    looked at): a probe that tells which of its inputs an error depends on."""
    copies = [np.array(arg, copy=True) if isinstance(arg, np.ndarray) else arg for arg in args]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            function(*copies, **kwargs)
    except Exception:  # noqa: BLE001 - any error of the code under test
        return False
    return True


def _windows_fit(A_prev, f, stride, pad):
    """A_prev cropped so that the windows fit its padded height and width exactly ((n + 2p - f) a
    multiple of the stride), or None where they already do (or cannot)."""
    sizes = [n + 2 * pad - f for n in A_prev.shape[1:3]]
    extra = [size % stride for size in sizes]
    if min(sizes) < 0 or not any(extra):
        return None
    return np.ascontiguousarray(A_prev[:, :A_prev.shape[1] - extra[0], :A_prev.shape[2] - extra[1]])


def conv_error_hint(conv_forward, message, A_prev, W, b, stride, pad):
    """One hint for an error conv_forward raised, chosen by calling it again on inputs that differ
    in one respect: windows that fit exactly (the size of Z), no padding (np.pad), a kernel whose
    four axes have the same length (the layout of W)."""
    if "integer" in message and "float" in message:
        return f"A size must be a whole number: compute it with integer division (//), {SIZE_RULE}."
    f = W.shape[0]
    fitting = _windows_fit(A_prev, f, stride, pad)
    if fitting is not None and _runs(conv_forward, fitting, W, b, stride=stride, pad=pad):
        return (f"It runs when (n + 2p - f) is a multiple of the stride, so Z is sized for a window that sticks "
                f"out of the padded input: {SIZE_RULE} rounds down (//).")
    if pad > 0:
        unpadded = _windows_fit(A_prev, f, stride, 0)
        if _runs(conv_forward, A_prev if unpadded is None else unpadded, W, b, stride=stride, pad=0):
            return ("It runs with pad=0, so the padding is at fault: pad only the height and width axes, "
                    "np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0))).")
    if len(set(W.shape)) > 1:
        rng = np.random.default_rng(0)
        if _runs(conv_forward, rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(2, 2, 2, 2)), rng.normal(size=2),
                 stride=1, pad=0):
            return ("It runs when W's four axes have the same length, so they are read in another order: W is "
                    "(f, f, n_C_prev, n_C) as Keras stores its kernels, f = W.shape[0] and n_C = W.shape[3].")
    return f"Check the shapes that line uses: {CONV_LAYOUT}."


def call_conv_forward(conv_forward, A_prev, W, b, stride, pad):
    """conv_forward(A_prev, W, b, stride=stride, pad=pad); an error it raises becomes a failure that
    says for which call, with one hint on its likely cause (see :func:`conv_error_hint`)."""
    try:
        return call_quietly(conv_forward, A_prev, W, b, stride=stride, pad=pad)
    except AssertionError as failure:
        message = str(failure)
        if not message.startswith("conv_forward: raised "):
            raise
        hint = conv_error_hint(conv_forward, message, A_prev, W, b, stride, pad)
        called = "It was called " + conv_setting(A_prev, W, stride, pad).replace("for ", "with ", 1)
        raise with_hint(failure, f"{called}. {hint}") from None


def conv_shape_candidates(A_prev, W, stride, pad):
    """(shape, explanation) of the shapes that typical mistakes give Z."""
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, n_C = W.shape[0], W.shape[3]

    def size(strides=stride, zeros=pad, rounding=math.floor, plus=1, both_sides=2):
        return tuple(rounding((n + both_sides * zeros - f) / strides) + plus for n in (n_H_prev, n_W_prev))

    n_H, n_W = size()
    candidates = [
        ((m, n_C, n_H, n_W), "Z is channels-first (m, n_C, n_H, n_W): like Keras, conv_forward is "
                             "channels-last, Z of shape (m, n_H, n_W, n_C)."),
        ((m, n_W, n_H, n_C), "Height and width are swapped: Z is (m, n_H, n_W, n_C)."),
        ((m + 2 * pad, n_H, n_W, n_C), "The first axis was padded too: it counts the m examples. Pad only "
                                       "the height and width axes."),
        ((m, *size(strides=1), n_C), f"The stride was ignored: the window moves {stride} pixels at a time "
                                     f"({SIZE_RULE})."),
        ((m, *size(zeros=0), n_C), f"The padding was ignored: {pad} zeros are added on each side "
                                   f"({SIZE_RULE})."),
        ((m, *size(both_sides=1), n_C), f"The input was padded on one side only: pad adds {pad} zeros "
                                        f"on each side, 2p in all ({SIZE_RULE})."),
        ((m, *size(rounding=math.ceil), n_C), f"The size was rounded up: {SIZE_RULE} rounds down, since a "
                                              f"window that would stick out of the padded input is not used."),
        ((m, *size(plus=0), n_C), f"The + 1 is missing: {SIZE_RULE} (the first window counts too)."),
    ]
    return (m, n_H, n_W, n_C), [(shape, why) for shape, why in candidates if shape != (m, n_H, n_W, n_C)]


def conv_value_hints(A_prev, W, b, stride, pad, expected):
    """(value computed on demand, explanation) of the values that typical mistakes give Z."""
    f, n_C_prev = W.shape[0], W.shape[2]
    n_H, n_W = expected.shape[1:3]
    return [
        (lambda: expected - b, "The bias b was not added: channel c of Z gets b[c]."),
        (lambda: expected + (f * f * n_C_prev - 1) * b,
         "The bias was added to each of the f * f * n_C_prev products of a window (inside the sum): add "
         "b[c] once to each value of channel c."),
        (lambda: expected - b + b[0], "Every channel got the bias b[0]: channel c gets b[c]."),
        (lambda: np.maximum(expected, 0), "conv_forward returns Z before any activation: no ReLU here."),
        (lambda: through_keras(A_prev, *keras_conv2d(W[::-1, ::-1], b, stride, pad)),
         "The kernel was flipped (a true convolution, as in signal processing). Keras's Conv2D, like "
         "conv_forward, computes a cross-correlation: W[i, j] multiplies the pixel at (h*s + i, w*s + j) "
         "of the padded input, with no flip."),
        (lambda: through_keras(A_prev, *keras_conv2d(W.transpose(1, 0, 2, 3), b, stride, pad)),
         "The kernel's rows and columns were swapped: W[i, j] belongs to row i and column j of the window."),
        (lambda: through_keras(A_prev, *keras_conv2d(W, b, 1, pad))[:, :n_H, :n_W],
         f"Each window starts at (h, w): with stride {stride} it starts at (h * stride, w * stride)."),
    ]


def border_only(got, expected, size, window, stride, pad):
    """Whether ``got`` is right wherever the window stays inside the input and wrong only where it
    overlaps the padding."""
    if pad == 0:
        return False

    def inside(n, n_out):
        starts = np.arange(n_out) * stride - pad
        return (starts >= 0) & (starts + window <= n)

    rows, columns = inside(size[0], got.shape[1]), inside(size[1], got.shape[2])
    middle = rows[:, None] & columns[None, :]
    close = np.isclose(got, expected, rtol=LAYER_RTOL, atol=LAYER_ATOL).all(axis=(0, 3))
    return bool(middle.any() and close[middle].all() and not close[~middle].all())


def check_conv_forward(conv_forward, A_prev, W, b, stride, pad, expected, against="the expected values"):
    """conv_forward(A_prev, W, b, stride=stride, pad=pad) against ``expected``; inputs unchanged."""
    function = "conv_forward"
    setting = conv_setting(A_prev, W, stride, pad)
    before = snapshot(A_prev, W, b)
    got = call_conv_forward(conv_forward, A_prev, W, b, stride, pad)
    check_unchanged(function, ("A_prev", "W", "b"), before, (A_prev, W, b))
    if not isinstance(got, np.ndarray):
        fail(function, f"{setting}: Z should be a numpy array, got {type(got).__name__}. Return only Z.")
    shape, candidates = conv_shape_candidates(A_prev, W, stride, pad)
    if got.ndim == 4 and got.shape[:3] == shape[:3]:
        candidates.append((got.shape, f"Z should have one channel per filter, n_C = W.shape[3] = {shape[3]}: "
                                      f"W is (f, f, n_C_prev, n_C), as Keras stores its kernels."))
    if got.shape != shape:
        _explain_size(function, setting, "Z", got.shape, shape, CONV_LAYOUT + "; " + SIZE_RULE, candidates)
    check_array(function, "Z", got, shape)
    if got.dtype.kind in "iub" and not np.array_equal(got, expected):
        fail(function, f"{setting}: Z holds {got.dtype} numbers, so its values were cut to whole numbers "
                       f"(or wrapped around): the products with W and the bias b are real numbers. Make Z "
                       f"an array of floats (np.zeros gives float64), not of A_prev's type.")
    got = got.astype(np.float64)
    if _close_to_layer(got, expected):
        return
    if border_only(got, expected, A_prev.shape[1:3], W.shape[0], stride, pad):
        hint = (" The values whose window overlaps the padding are wrong, the others right: pad with "
                "zeros, np.pad's default (constant_values=0).")
    else:
        hint = _first_hint(got, conv_value_hints(A_prev, W, b, stride, pad, expected))
    _values_differ(function, setting, "Z", got, expected, against, hint)


def conv_forward_cases():
    """(A_prev, W, b, stride, pad) of the visible examples: the worked example of the notebook,
    then two batches of several channels."""
    picture = np.array([[1, 2, 0, 3, 1],
                        [0, 1, 2, 1, 0],
                        [3, 1, 0, 2, 2],
                        [2, 0, 1, 1, 3],
                        [1, 3, 2, 0, 1]], dtype=float)
    kernel = np.array([[1, 0, -1],
                       [2, 1, 0],
                       [0, -1, 1]], dtype=float)
    rng = np.random.default_rng(31)
    return [(picture.reshape(1, 5, 5, 1), kernel.reshape(3, 3, 1, 1), np.array([1.0]), 1, 0),
            (np.round(rng.normal(size=(2, 7, 6, 3)), 2), np.round(rng.normal(size=(3, 3, 3, 4)), 2),
             np.array([0.5, -1.0, 2.0, 0.25]), 2, 1),
            (np.round(rng.normal(size=(3, 5, 4, 2)), 2), np.round(rng.normal(size=(2, 2, 2, 3)), 2),
             np.array([-0.3, 0.7, 1.1]), 3, 2)]


def conv_forward_keras_cases():
    """(A_prev, W, b, stride, pad) of the examples compared with keras.layers.Conv2D."""
    rng = np.random.default_rng(32)
    A_prev, W, b = rng.normal(size=(2, 8, 9, 3)), rng.normal(size=(3, 3, 3, 5)), rng.normal(size=5)
    return [(A_prev, W, b, 1, 1), (A_prev, W, b, 2, 0)]


def test_conv_forward(conv_forward):
    for case, expected in zip(conv_forward_cases(), EXPECTED["conv_forward"]):
        check_conv_forward(conv_forward, *case, expected)
    for A_prev, W, b, stride, pad in conv_forward_keras_cases():
        check_conv_forward(conv_forward, A_prev, W, b, stride, pad,
                           through_keras(A_prev, *keras_conv2d(W, b, stride, pad)),
                           against="what keras.layers.Conv2D computes with the same kernel and bias")
    passed("conv_forward")


# --------------------------------------------------------------------------------------------
# pool_forward(A_prev, f, stride, mode="max") -> A
# --------------------------------------------------------------------------------------------

POOL_MODES = ("max", "average")
POOL_LAYOUT = "A_prev is (m, n_H_prev, n_W_prev, n_C) and the result (m, n_H, n_W, n_C), one channel per input channel"
POOL_SIZE_RULE = "n_out = floor((n - f) / s) + 1 per side"


def pool_setting(A_prev, f, stride, mode):
    return f"for A_prev of shape {A_prev.shape}, f={f}, stride={stride}, mode={mode!r}"


def pool_shape_candidates(A_prev, f, stride):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape

    def size(strides=stride, rounding=math.floor, plus=1):
        return tuple(rounding((n - f) / strides) + plus for n in (n_H_prev, n_W_prev))

    n_H, n_W = size()
    across = "The channels were pooled together: pool each channel on its own, over the height and width of the window only."
    candidates = [
        ((m, n_H, n_W), across),
        ((m, n_H, n_W, 1), across),
        ((m, n_C, n_H, n_W), "The result is channels-first: like Keras, pool_forward keeps the channels last, (m, n_H, n_W, n_C)."),
        ((m, n_W, n_H, n_C), "Height and width are swapped: the result is (m, n_H, n_W, n_C)."),
        ((m, *size(strides=1), n_C), f"The stride was ignored: the window moves {stride} pixels at a time ({POOL_SIZE_RULE})."),
        ((m, *size(strides=f), n_C), f"The window moved f={f} pixels at a time: it moves stride={stride} ({POOL_SIZE_RULE})."),
        ((m, *size(rounding=math.ceil), n_C), f"The size was rounded up: {POOL_SIZE_RULE} rounds down, since a window that would stick out of the input is not used."),
        ((m, *size(plus=0), n_C), f"The + 1 is missing: {POOL_SIZE_RULE} (the first window counts too)."),
    ]
    return (m, n_H, n_W, n_C), [(shape, why) for shape, why in candidates if shape != (m, n_H, n_W, n_C)]


def pool_value_hints(A_prev, f, stride, mode, expected):
    other = "average" if mode == "max" else "max"
    n_H, n_W = expected.shape[1:3]
    words = {"max": "largest value", "average": "average"}
    hints = [(lambda: through_keras(A_prev, *keras_pooling(other, f, stride)),
              f"This is the {words[other]} of each window: mode={mode!r} asks for its {words[mode]}.")]
    if mode == "average":
        hints.append((lambda: expected * f * f, "This is the sum of each window: the average divides it by f * f."))
    hints += [
        (lambda: np.broadcast_to(through_keras(A_prev.max(axis=3, keepdims=True) if mode == "max"
                                               else A_prev.mean(axis=3, keepdims=True), *keras_pooling(mode, f, stride)),
                                 expected.shape),
         "Every channel got the same value: the channels were pooled together. Pool each channel on its "
         "own, over the height and width of the window only."),
        (lambda: through_keras(A_prev, *keras_pooling(mode, f, 1))[:, :n_H, :n_W],
         f"Each window starts at (h, w): with stride {stride} it starts at (h * stride, w * stride)."),
        (lambda: through_keras(A_prev, *keras_pooling(mode, stride, stride)),
         f"The windows are {stride} x {stride}: they should be f x f = {f} x {f}; the stride only says how far they move."),
    ]
    return hints


def check_pool_forward(pool_forward, A_prev, f, stride, mode, expected, against="the expected values"):
    """pool_forward(A_prev, f, stride, mode=mode) (mode left out when None, meaning "max") against
    ``expected``; the input unchanged."""
    function = "pool_forward"
    setting = pool_setting(A_prev, f, stride, mode or "max")
    if mode is None:
        setting += " (the default)"
    before = snapshot(A_prev)
    got = call_quietly(pool_forward, A_prev, f, stride, **({} if mode is None else {"mode": mode}))
    check_unchanged(function, ("A_prev",), before, (A_prev,))
    if not isinstance(got, np.ndarray):
        fail(function, f"{setting}: the result should be a numpy array, got {type(got).__name__}.")
    shape, candidates = pool_shape_candidates(A_prev, f, stride)
    if got.shape != shape:
        _explain_size(function, setting, "the result", got.shape, shape, POOL_LAYOUT + "; " + POOL_SIZE_RULE, candidates)
    check_array(function, "the result", got, shape)
    if got.dtype.kind in "iub" and not np.array_equal(got, expected):
        fail(function, f"{setting}: the result holds {got.dtype} numbers, so the averages were cut to whole "
                       f"numbers: the average of a window of integers is a real number (3.5, not 3). Make "
                       f"the result an array of floats (np.zeros gives float64), not of A_prev's type.")
    got = got.astype(np.float64)
    if not _close_to_layer(got, expected):
        hint = _first_hint(got, pool_value_hints(A_prev, f, stride, mode or "max", expected))
        _values_differ(function, setting, "the result", got, expected, against, hint)


def check_unknown_pool_mode(pool_forward, A_prev, mode):
    """pool_forward must refuse a mode other than "max" and "average" with a ValueError."""
    function = "pool_forward"
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pool_forward(A_prev, 2, 2, mode=mode)
    except ValueError:
        return
    except Exception as error:  # noqa: BLE001 - any other error of the code under test
        fail(function, f"with mode={mode!r} it raised {type(error).__name__}: {str(error)[:120]}. An unknown "
                       f"mode should raise ValueError, e.g. raise ValueError(f\"mode must be 'max' or "
                       f"'average', not {{mode!r}}\").")
    fail(function, f"with mode={mode!r} it returned {type(result).__name__} instead of raising ValueError: "
                   f"the only modes are {' and '.join(map(repr, POOL_MODES))}, and a misspelt mode should not "
                   f"quietly compute something else.")


def pool_forward_cases():
    """(A_prev, f, stride, mode) of the visible examples: the worked example of the notebook in
    both modes, then a batch of several channels in both modes."""
    picture = np.array([[1, 3, 2, 0],
                        [4, 6, 1, 1],
                        [0, 2, 5, 7],
                        [3, 1, 8, 2]], dtype=float).reshape(1, 4, 4, 1)
    batch = np.round(np.random.default_rng(33).normal(size=(2, 5, 7, 3)), 2)
    return [(picture, 2, 2, "max"), (picture, 2, 2, "average"), (batch, 3, 2, "max"), (batch, 3, 2, "average")]


def pool_forward_keras_cases():
    """(A_prev, f, stride, mode) of the examples compared with Keras's pooling layers."""
    A_prev = np.random.default_rng(34).normal(size=(2, 6, 8, 4))
    return [(A_prev, 2, 1, "max"), (A_prev, 3, 3, "average")]


def test_pool_forward(pool_forward):
    for case, expected in zip(pool_forward_cases(), EXPECTED["pool_forward"]):
        check_pool_forward(pool_forward, *case, expected)
    for A_prev, f, stride, mode in pool_forward_keras_cases():
        name = {"max": "MaxPooling2D", "average": "AveragePooling2D"}[mode]
        check_pool_forward(pool_forward, A_prev, f, stride, mode,
                           through_keras(A_prev, *keras_pooling(mode, f, stride)),
                           against=f"what keras.layers.{name} computes")
    check_unknown_pool_mode(pool_forward, pool_forward_cases()[0][0], "median")
    passed("pool_forward")


# --------------------------------------------------------------------------------------------
# normalise_images and one_hot
# --------------------------------------------------------------------------------------------

def check_normalise_images(normalise_images, images, expected):
    """normalise_images(images) against ``expected``: float32 values of the same shape, the input
    left as it was."""
    function = "normalise_images"
    before = snapshot(images)
    got = call_quietly(normalise_images, images)
    if not np.array_equal(before[0], images) or changed_in_place(images):
        fail(function, f"the input images ({images.dtype}) was modified in place. np.asarray(images, "
                       f"dtype=...) and images.astype(..., copy=False) give images itself when it already "
                       f"has that dtype, so x /= 255 then divides the caller's pictures: divide into a new "
                       f"array (x / 255).")
    check_unchanged(function, ("images",), before, (images,))
    check_array(function, "the result", got, images.shape)
    if got.dtype != np.float32:
        fail(function, f"the result should hold float32 numbers (what Keras computes with), got "
                       f"{got.dtype}.")
    low, high = float(images.min()), float(images.max())
    check_close(function, "the scaled pixels", got, expected, hints=(
        (lambda e: e * 255, "The pixels were not scaled: divide every batch by 255, even one whose "
                            "pixels are all 0 or 1."),
        (lambda e: (images - low) / (high - low), "This is min-max scaling: it depends on the batch. "
                                                   "Divide by 255, the largest possible pixel value."),
        (lambda e: e * 255 / 256, "Divide by 255, the largest value of a uint8 pixel, not 256."),
        (lambda e: np.floor(e), "Integer division (//) rounds every pixel down to 0 or 1."),
    ))


def normalise_images_cases():
    """Batches of pictures of the visible examples."""
    rng = np.random.default_rng(30)
    return [rng.integers(7, 241, size=(4, 5, 6, 1), dtype=np.uint8), np.array([[0, 128], [255, 17]], dtype=np.uint8)]


def test_normalise_images(normalise_images):
    for images, expected in zip(normalise_images_cases(), EXPECTED["normalise_images"]):
        check_normalise_images(normalise_images, images, expected)
    passed("normalise_images")


def check_one_hot(one_hot, vector, number_classes, expected):
    """one_hot(vector, number_classes) against ``expected``, an (N, number_classes) matrix of 0
    and 1 with one 1 per row."""
    function = "one_hot"
    before = snapshot(vector)
    labels = np.ravel(vector).astype(int)
    try:
        got = call_quietly(one_hot, vector, number_classes)
    except AssertionError as failure:
        # np.eye(len(vector))[labels]: a label beyond the number of labels has no column
        size = re.search(r"^one_hot: raised IndexError: index \d+ is out of bounds for axis \d+ with size (\d+)",
                         str(failure))
        if size is None or int(size.group(1)) == number_classes:
            raise
        columns = ", not len(vector)" if int(size.group(1)) == labels.size else ""
        raise with_hint(failure, f"One column per class: number_classes columns{columns}.") from None
    check_unchanged(function, ("vector",), before, (vector,))
    shape = (labels.size, number_classes)
    if isinstance(got, np.ndarray) and got.shape == shape[::-1] and shape[0] != shape[1]:
        fail(function, f"expected shape {shape}, one row per label, got {got.shape}: the result is "
                       f"transposed.")
    if isinstance(got, np.ndarray) and got.ndim == 3:
        fail(function, f"expected shape {shape}, got {got.shape}: labels shaped (N, 1), like "
                       f"CIFAR-10's, must be flattened first (np.ravel).")
    check_array(function, "the encoding", got, shape)
    check_binary(function, "the encoding", got, "Each row holds one 1, in its label's column, and zeros elsewhere.")
    rows_right = np.all(np.asarray(got, dtype=float) == expected, axis=1)
    if not np.all(rows_right):
        first = int(np.flatnonzero(~rows_right)[0])
        fail(function, f"{int(np.sum(~rows_right))} of {labels.size} rows are wrong, the first "
                       f"for label {labels[first]} (row {first}): its 1 should be in column "
                       f"{labels[first]}, the label itself.")


def one_hot_cases():
    """(labels, number of classes) of the visible examples."""
    return [(np.array([3, 0, 3, 1, 7, 0]), 9), (np.array([[2], [0], [2], [1]], dtype=np.uint8), 4)]


def test_one_hot(one_hot):
    for case, expected in zip(one_hot_cases(), EXPECTED["one_hot"]):
        check_one_hot(one_hot, *case, expected)
    passed("one_hot")


IGNORED_LAYERS = ("InputLayer", "Dropout", "SpatialDropout2D", "RandomFlip", "RandomTranslation",
                  "RandomRotation", "RandomZoom", "RandomContrast")
LAYER_SETTINGS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "activation")
ACTIVATION_LAYERS = ("Activation", "ReLU", "Softmax")
# Why a setting the notebook leaves at Keras's default may differ: {(class name, setting): hint}.
SETTING_HINTS = {
    ("MaxPooling2D", "strides"): "Leave strides at its default, None, which means strides = pool_size: the "
                                 "window then moves by its own size and halves the height and the width.",
    ("MaxPooling2D", "padding"): "Keep MaxPooling2D's default stride and padding: no padding (padding='valid'), "
                                 "as in pool_forward.",
    ("Conv2D", "dilation_rate"): "The notebook's convolutions are not dilated: leave dilation_rate at its "
                                 "default, so that a 3 x 3 kernel covers 3 x 3 neighbouring pixels.",
    **{(kind, "data_format"): "Keras reads pictures as (height, width, channels): leave data_format at its "
                              "default, 'channels_last' (channels_first is (channels, height, width))."
       for kind in ("Conv2D", "MaxPooling2D", "Flatten")},
}


def layer_settings(layer, keys=LAYER_SETTINGS):
    """(class name, {setting: value}) of a Keras layer, for the settings that define the network
    (those named in ``keys``)."""
    config = layer.get_config()
    settings = {}
    for key in keys:
        if key in config:
            value = config[key]
            settings[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    return type(layer).__name__, settings


def network_layers(model, keys=LAYER_SETTINGS):
    """[(class name, {setting: value})] of the layers that define a network, in order, with the
    settings named in ``keys``.

    Equivalent ways of writing the same network describe it the same way: a keras.Sequential
    model or a functional one; models nested as layers (a Sequential block of data augmentation)
    are read layer by layer; dropout and data augmentation are left out; and an activation layer
    of its own (Activation("relu"), ReLU(), Softmax()) counts as the activation of the layer just
    before it when that layer has none (activation=None, which Keras calls "linear").
    """
    return _read_layers(model, keys)


def training_layers(model):
    """[(position, class name, config, last)] of the dropout and data augmentation layers, which
    act only during training, each with its position (how many of the layers :func:`network_layers`
    describes come before it; 0: before the first) and whether it comes after every other layer;
    and those layers."""
    described, training, order = [], [], []
    _read_layers(model, LAYER_SETTINGS, described, training, order)
    after = max((i for i, is_training in enumerate(order) if not is_training), default=-1)
    return [(position, kind, config, index > after) for position, kind, config, index in training], described


def _read_layers(model, keys, described=None, training=None, order=None):
    """The layers :func:`network_layers` describes; the dropout and augmentation layers, with
    their positions, into ``training``; whether each layer read is one of those, into ``order``."""
    described = [] if described is None else described
    training = [] if training is None else training
    order = [] if order is None else order
    for layer in model.layers:
        if hasattr(layer, "layers"):
            _read_layers(layer, keys, described, training, order)
            continue
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        order.append(kind in IGNORED_LAYERS)
        if kind in IGNORED_LAYERS:
            training.append((len(described), kind, layer.get_config(), len(order) - 1))
            continue
        activation = activation_of(layer)
        if activation is not None and described and described[-1][1].get("activation") == "linear":
            described[-1][1]["activation"] = activation
            continue
        described.append(layer_settings(layer, keys))
    return described


def _a(kind):
    """ "an Activation", "a ReLU": the article and the class name."""
    return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind}"


ACTIVATION_NAMES = {"relu": "ReLU", "softmax": "softmax", "sigmoid": "sigmoid", "tanh": "tanh"}


def extra_activation(layers):
    """Why an activation layer of its own stands as a layer of ``layers`` (see :func:`network_layers`),
    for the first one, else ''."""
    for number, (kind, settings) in enumerate(layers):
        if kind not in ACTIVATION_LAYERS:
            continue
        applied = settings.get("activation") or {"ReLU": "relu", "Softmax": "softmax"}.get(kind)
        if number == 0:
            return f" The {kind} layer comes first, with no layer before it to be the activation of: remove it."
        before, has = layers[number - 1][0], layers[number - 1][1].get("activation")
        if has is None:
            return (f" Layer {number} ({before}) takes no activation, so the {kind} layer after it is one layer "
                    f"too many: remove it.")
        if has == applied:
            return (f" Layer {number} ({before}) already has activation={has!r} and {_a(kind)} layer follows it: "
                    f"apply the {ACTIVATION_NAMES.get(has, has)} once.")
        return (f" Layer {number} ({before}) already has activation={has!r} and {_a(kind)} layer applies "
                f"{applied!r} after it: give the layer one activation, in the layer itself or, with "
                f"activation=None, in the layer after it.")
    return ""


def check_keras_model(function, model, sample_shape, nb_classes, expected_layers):
    """A Keras model (functional, as the notebook builds them, or keras.Sequential) with
    ``expected_layers`` as ``[(class name, {setting: value}), ...]`` (see :func:`network_layers`),
    and input and output shapes that fit. Only the settings ``expected_layers`` lists are
    compared; a setting outside LAYER_SETTINGS (dilation_rate, say) is read when it is listed."""
    if not (hasattr(model, "layers") and callable(getattr(model, "count_params", None))):
        fail(function, f"should return a Keras model (keras.Model(inputs, outputs)), got "
                       f"{type(model).__name__}.")
    try:
        input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):
        fail(function, "the model does not know the shape of its input: start it with "
                       "keras.Input(shape=sample_shape).")
    if input_shape != (None, *sample_shape):
        fail(function, f"with sample_shape={sample_shape} the model's input should have shape "
                       f"(None, {', '.join(map(str, sample_shape))}), got {model.input_shape}. "
                       f"Use sample_shape, not a fixed shape.")
    extra = tuple(sorted({key for _, settings in expected_layers for key in settings} - set(LAYER_SETTINGS)))
    layers = network_layers(model, LAYER_SETTINGS + extra)
    kinds = [kind for kind, _ in layers]
    wanted = [kind for kind, _ in expected_layers]
    if kinds != wanted:
        fail(function, f"the layers (apart from Dropout and data augmentation) should be "
                       f"{', '.join(wanted)}; got {', '.join(kinds) or 'none'}.{extra_activation(layers)}")
    for number, ((kind, got), (_, settings)) in enumerate(zip(layers, expected_layers), start=1):
        for key, value in settings.items():
            if got.get(key) != value:
                hint = SETTING_HINTS.get((kind, key))
                fail(function, f"layer {number} ({kind}) should have {key} {value!r}, got "
                               f"{got.get(key)!r}.{' ' + hint if hint else ''}")
    if output_shape != (None, nb_classes):
        fail(function, f"with nb_classes={nb_classes} the output should have shape (None, "
                       f"{nb_classes}), got {model.output_shape}. Use nb_classes, not a fixed number.")
    check_training_layers(function, model)


# The layers that act only during training, where the notebook asks for them: {function:
# {position: [(class name, {setting: value})]}}, a position counting the layers network_layers
# describes before it. net_1's and net_2's are up to the student.
TRAINING_LAYERS = {"cifar_net": {
    0: [("RandomFlip", {"mode": "horizontal"}), ("RandomTranslation", {"height_factor": 0.1, "width_factor": 0.1})],
    7: [("Dropout", {"rate": 0.5})],
    8: [("Dropout", {"rate": 0.5})],
}}
WHERE = {0: "before the first Conv2D", 7: "right after Flatten", 8: "right after the 128-neuron Dense"}


def _shown(kind, settings):
    return f"{kind}({', '.join(f'{key}={value!r}' for key, value in settings.items())})" if settings else kind


def _setting(value):
    """A factor of RandomTranslation given as (-a, a) is the factor a."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == -value[1]:
        return value[1]
    return value


def check_training_layers(function, model):
    """No dropout or augmentation layer after the output layer; for cifar_net, the ones the
    notebook asks for (TRAINING_LAYERS), where it asks for them."""
    training, described = training_layers(model)
    last = [kind for _, kind, _, is_last in training if is_last]
    if last:
        fail(function, f"{_a(last[0])} layer comes after the output layer: the Dense layer with nb_classes "
                       f"units and its softmax should end the network, so that during training too its outputs "
                       f"are probabilities that sum to 1.")
    wanted = TRAINING_LAYERS.get(function)
    if wanted is None:
        return
    found = {}
    for position, kind, config, _ in training:
        settings = dict(wanted.get(position, []))
        found.setdefault(position, []).append((kind, {key: _setting(config.get(key)) for key in settings.get(kind, {})}))
    elsewhere = [f"{_shown(*layer)} after layer {position} ({described[position - 1][0]})"
                 for position in sorted(set(found) - set(wanted)) for layer in found[position]]
    for position in sorted(wanted):  # where the notebook puts them first, then the others
        expected, got = sorted(wanted[position], key=str), sorted(found.get(position, []), key=str)
        if got != expected:
            shown = ", ".join(_shown(*layer) for layer in got) or "none"
            instead = f" (the model has {', '.join(elsewhere)} instead)" if elsewhere else ""
            flip = (" RandomFlip's default mode, 'horizontal_and_vertical', also turns photos upside down."
                    if any(kind == "RandomFlip" and settings.get("mode") == "horizontal_and_vertical"
                           for kind, settings in got) else "")
            fail(function, f"{WHERE[position]} it should have {' and '.join(_shown(*e) for e in expected)}; "
                           f"got {shown}{instead}. These layers act only during training (data augmentation "
                           f"and dropout), as the notebook lists them.{flip}")
    if elsewhere:
        fail(function, f"{elsewhere[0]}, where the notebook puts no layer of its own.")


def check_builder(function, builder, sample_shape, nb_classes, expected_layers):
    """The model ``builder`` returns, checked by :func:`check_keras_model` (its layers and
    shapes: the tests never read a new model's weights)."""
    model = call_quietly(without_weights(builder), sample_shape, nb_classes)
    check_keras_model(function, model, sample_shape, nb_classes, expected_layers)
    return model


# (sample_shape, nb_classes) of the visible examples of each network
MODEL_CASES = {"net_1": [((28, 28, 1), 10), ((20, 24, 3), 4)],
               "net_2": [((28, 28, 1), 10), ((21, 17, 2), 6)],
               "cifar_net": [((32, 32, 3), 10), ((24, 28, 1), 5)]}


def check_model_cases(function, builder):
    for (sample_shape, nb_classes), layers in zip(MODEL_CASES[function], EXPECTED[function]):
        check_builder(function, builder, sample_shape, nb_classes, layers)
    passed(function)


def test_net_1(net_1):
    check_model_cases("net_1", net_1)


def test_net_2(net_2):
    check_model_cases("net_2", net_2)


def test_cifar_net(cifar_net):
    check_model_cases("cifar_net", cifar_net)
