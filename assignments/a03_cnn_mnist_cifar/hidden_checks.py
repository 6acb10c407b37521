"""Hidden checks of a03_cnn_mnist_cifar: reference answers and the cases students never see.

Only the grader reads this file (and the instructor's ``source/`` copy, which nbgrader never
releases). The source notebook's test cells call ``hidden_checks.test_<function>(impl)`` inside
their hidden region; the build calls :func:`expected_outputs` to store the values that the
visible tests compare with.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import problem_unittests as visible
from check_helpers import fail, passed


# --------------------------------------------------------------------------------------------
# Reference answers
# --------------------------------------------------------------------------------------------

def conv_forward(A_prev, W, b, stride=1, pad=0):
    """Z[i, h, w, c] = sum over (u, v, k) of A_pad[i, h*stride + u, w*stride + v, k] * W[u, v, k, c] + b[c]."""
    f = W.shape[0]
    padded = np.pad(np.asarray(A_prev, dtype=float), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = sliding_window_view(padded, (f, f), axis=(1, 2))[:, ::stride, ::stride]  # (m, n_H, n_W, n_C_prev, f, f)
    return np.einsum("ihwkuv,uvkc->ihwc", windows, np.asarray(W, dtype=float)) + b


def pool_forward(A_prev, f, stride, mode="max"):
    if mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', not {mode!r}")
    windows = sliding_window_view(np.asarray(A_prev, dtype=float), (f, f), axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(4, 5)) if mode == "max" else windows.mean(axis=(4, 5))


def normalise_images(images):
    return images.astype(np.float32) / np.float32(255)


def one_hot(vector, number_classes):
    labels = np.ravel(vector).astype(int)
    encoded = np.zeros((labels.size, number_classes))
    encoded[np.arange(labels.size), labels] = 1
    return encoded


def conv(filters, strides=1, padding="valid"):
    return ("Conv2D", {"filters": filters, "kernel_size": (3, 3), "strides": (strides, strides),
                       "padding": padding, "activation": "relu"})


def dense(units, activation="relu"):
    return ("Dense", {"units": units, "activation": activation})


POOL = ("MaxPooling2D", {"pool_size": (2, 2)})


def net_1_layers(nb_classes):
    return [conv(32), conv(64), POOL, ("Flatten", {}), dense(128), dense(nb_classes, "softmax")]


def net_2_layers(nb_classes):
    return [conv(32), conv(64, strides=2), ("Flatten", {}), dense(128), dense(nb_classes, "softmax")]


def cifar_net_layers(nb_classes):
    return [conv(32, padding="same"), conv(32, padding="same"), POOL,
            conv(64, padding="same"), conv(64, padding="same"), POOL,
            ("Flatten", {}), dense(128), dense(nb_classes, "softmax")]


MODEL_LAYERS = {"net_1": net_1_layers, "net_2": net_2_layers, "cifar_net": cifar_net_layers}

# The example of each network whose number of parameters the notebook's Expected output states
# (1,199,882 for net_1 and net_2, 591,274 for cifar_net).
NOTEBOOK_EXAMPLES = {"net_1": ((28, 28, 1), 10), "net_2": ((28, 28, 1), 10), "cifar_net": ((32, 32, 3), 10)}


def with_defaults(kind, settings):
    """A layer of MODEL_LAYERS with the settings the notebook leaves at Keras's default, which the
    hidden tests compare as well (the visible ones, and expected_outputs.json, list only the
    settings the notebook names): pooling moves its window by its own size, without padding
    ("Keep the default stride and padding"), the convolutions are not dilated, and every layer
    reads pictures as height, width, channels (pooling over width and channels instead flattens
    to as many numbers, and the same count of parameters, where the height is even)."""
    last = {"data_format": "channels_last"}
    if kind == "MaxPooling2D":
        return kind, {**settings, "strides": settings["pool_size"], "padding": "valid", **last}
    if kind == "Conv2D":
        return kind, {**settings, "dilation_rate": (1, 1), **last}
    if kind == "Flatten":
        return kind, {**settings, **last}
    return kind, settings


def hidden_layers(function, nb_classes):
    return [with_defaults(kind, settings) for kind, settings in MODEL_LAYERS[function](nb_classes)]


def parameter_count(layers, sample_shape):
    """The number of weights and biases of a network of ``layers`` (as :func:`hidden_layers`
    describes them: no dilation, biases everywhere) for pictures of ``sample_shape``."""
    height, width, channels = sample_shape
    size = count = 0
    for kind, settings in layers:
        if kind == "Conv2D":
            (k_h, k_w), (s_h, s_w) = settings["kernel_size"], settings["strides"]
            if settings["padding"] == "same":
                height, width = -(-height // s_h), -(-width // s_w)
            else:
                height, width = (height - k_h) // s_h + 1, (width - k_w) // s_w + 1
            count += (k_h * k_w * channels + 1) * settings["filters"]
            channels = settings["filters"]
        elif kind == "MaxPooling2D":
            (p_h, p_w), (s_h, s_w) = settings["pool_size"], settings["strides"]
            height, width = (height - p_h) // s_h + 1, (width - p_w) // s_w + 1
        elif kind == "Flatten":
            size = height * width * channels
        elif kind == "Dense":
            count += (size + 1) * settings["units"]
            size = settings["units"]
    return count


def expected_outputs():
    """The expected values of the visible tests' examples, stored in expected_outputs.json."""
    expected = {
        "conv_forward": [conv_forward(*case) for case in visible.conv_forward_cases()],
        "pool_forward": [pool_forward(*case) for case in visible.pool_forward_cases()],
        "normalise_images": [normalise_images(images) for images in visible.normalise_images_cases()],
        "one_hot": [one_hot(*case) for case in visible.one_hot_cases()],
    }
    for function, cases in visible.MODEL_CASES.items():
        expected[function] = [MODEL_LAYERS[function](nb_classes) for _, nb_classes in cases]
    return expected


# --------------------------------------------------------------------------------------------
# Hidden tests
# --------------------------------------------------------------------------------------------

def test_conv_forward(impl):
    rng = np.random.default_rng(305)
    # (A_prev shape, f, n_C, stride, pad): as many examples as filters, a 1 x 1 kernel, an even
    # kernel, padding wider than the kernel, one grey picture, strides that leave pixels out.
    for shape, f, n_C, stride, pad in (((4, 6, 6, 4), 3, 4, 1, 1), ((1, 9, 11, 1), 5, 2, 2, 0),
                                       ((3, 4, 4, 2), 1, 3, 1, 0), ((2, 6, 5, 3), 4, 2, 3, 3),
                                       ((2, 10, 8, 3), 3, 6, 1, 2), ((5, 7, 7, 2), 2, 1, 2, 1)):
        A_prev, W = rng.normal(size=shape), rng.normal(size=(f, f, shape[3], n_C))
        b = rng.normal(size=n_C)
        visible.check_conv_forward(impl, A_prev, W, b, stride, pad, conv_forward(A_prev, W, b, stride, pad))
    # Pictures of integers (pixels 0 to 255, small signed numbers) with a real-valued kernel and
    # bias: Z holds real numbers, whatever the type of A_prev.
    for A_prev in (rng.integers(0, 255, size=(2, 7, 6, 1), endpoint=True, dtype=np.uint8),
                   rng.integers(-4, 4, size=(3, 5, 5, 2), endpoint=True)):
        W, b = rng.normal(size=(3, 3, A_prev.shape[3], 2)), rng.normal(size=2)
        visible.check_conv_forward(impl, A_prev, W, b, 1, 1, conv_forward(A_prev, W, b, 1, 1))
    A_prev, W, b = rng.normal(size=(3, 11, 9, 2)), rng.normal(size=(5, 5, 2, 3)), rng.normal(size=3)
    for stride, pad in ((1, 2), (3, 1)):
        visible.check_conv_forward(impl, A_prev, W, b, stride, pad,
                                   visible.through_keras(A_prev, *visible.keras_conv2d(W, b, stride, pad)),
                                   against="what keras.layers.Conv2D computes with the same kernel and bias")
    passed("conv_forward", "hidden tests")


def test_pool_forward(impl):
    rng = np.random.default_rng(306)
    for shape, f, stride, mode in (((3, 6, 6, 2), 2, 2, "max"), ((3, 6, 6, 2), 2, 2, "average"),
                                   ((1, 7, 9, 1), 3, 1, "max"), ((2, 9, 8, 4), 2, 3, "average"),
                                   ((4, 5, 5, 3), 5, 1, "average"), ((2, 8, 6, 3), 3, 2, None)):
        A_prev = rng.normal(size=shape)
        visible.check_pool_forward(impl, A_prev, f, stride, mode, pool_forward(A_prev, f, stride, mode or "max"))
    # Integers, as the notebook's example matrix: the average of integers is a real number.
    A_prev = rng.integers(0, 9, size=(2, 6, 4, 2), endpoint=True)
    for mode in ("average", "max"):
        visible.check_pool_forward(impl, A_prev, 2, 2, mode, pool_forward(A_prev, 2, 2, mode))
    A_prev = rng.normal(size=(2, 10, 7, 3))
    for f, stride, mode in ((3, 2, "max"), (2, 1, "average")):
        name = {"max": "MaxPooling2D", "average": "AveragePooling2D"}[mode]
        visible.check_pool_forward(impl, A_prev, f, stride, mode,
                                   visible.through_keras(A_prev, *visible.keras_pooling(mode, f, stride)),
                                   against=f"what keras.layers.{name} computes")
    for mode in ("min", "Max", "avg", "mean", "aver", ""):
        visible.check_unknown_pool_mode(impl, A_prev, mode)
    passed("pool_forward", "hidden tests")


def test_normalise_images(impl):
    rng = np.random.default_rng(303)
    for shape, low, high in (((3, 28, 28, 1), 12, 200), ((2, 32, 32, 3), 1, 254), ((7,), 0, 255), ((5, 4), 90, 91)):
        images = rng.integers(low, high, size=shape, endpoint=True, dtype=np.uint8)
        visible.check_normalise_images(impl, images, normalise_images(images))
    # Pixels already stored as float32 (0 to 255): np.asarray(images, dtype=np.float32) is then
    # the caller's array itself, which must not be divided in place ("Leave images unchanged").
    images = rng.integers(0, 255, size=(2, 6, 5, 3), endpoint=True).astype(np.float32)
    visible.check_normalise_images(impl, images, normalise_images(images))
    # A dark batch, no pixel above 1: still divided by 255, as every other batch.
    images = np.array([[[0, 1], [1, 0]], [[0, 0], [1, 1]]], dtype=np.uint8)
    visible.check_normalise_images(impl, images, normalise_images(images))
    passed("normalise_images", "hidden tests")


def test_one_hot(impl):
    rng = np.random.default_rng(304)
    for vector, classes in ((rng.integers(0, 10, size=25), 10),
                            (rng.integers(2, 5, size=(12, 1)).astype(np.uint8), 6),
                            (np.array([1]), 3), (np.array([4, 4, 0, 2, 1, 3, 0]), 5)):
        visible.check_one_hot(impl, vector, classes, one_hot(vector, classes))
    passed("one_hot", "hidden tests")


def check_parameter_count(function, model, sample_shape, nb_classes, expected):
    """The model's number of parameters (model.count_params()) against ``expected``: it tells
    settings the layer-by-layer comparison leaves out (use_bias=False, groups, ...)."""
    got = model.count_params()
    if got == expected:
        return
    than = ("the notebook's Expected output states" if (sample_shape, nb_classes) == NOTEBOOK_EXAMPLES[function]
            else "the network the notebook describes")
    layers = visible.network_layers(model, visible.LAYER_SETTINGS + ("use_bias", "groups"))
    unbiased = [(number, kind) for number, (kind, settings) in enumerate(layers, start=1)
                if settings.get("use_bias") is False]
    grouped = [(number, settings["groups"]) for number, (_, settings) in enumerate(layers, start=1)
               if settings.get("groups", 1) != 1]
    if unbiased:
        numbers = [str(number) for number, _ in unbiased]
        kinds = sorted({kind for _, kind in unbiased})
        named = (f"layer {numbers[0]} ({kinds[0]}) has" if len(numbers) == 1 else
                 f"layers {', '.join(numbers[:-1])} and {numbers[-1]} ({', '.join(kinds)}) have")
        each = " or ".join({"Conv2D": "filter", "Dense": "neuron"}.get(kind, "unit") for kind in kinds)
        why = f"{named} use_bias=False: leave use_bias at Keras's default, True, one bias per {each}."
    elif grouped:
        why = f"layer {grouped[0][0]} has groups={grouped[0][1]}: leave groups at Keras's default, 1."
    else:
        why = ("The layers' kinds and settings are right, so one the notebook does not name differs from "
               "Keras's default: leave it out.")
    fail(function, f"with sample_shape={sample_shape} and nb_classes={nb_classes} the model has {got:,} "
                   f"parameters (model.count_params()), {'fewer' if got < expected else 'more'} than {than}. "
                   f"{why[0].upper()}{why[1:]}")


def check_network(function, builder, cases):
    for sample_shape, nb_classes in (NOTEBOOK_EXAMPLES[function], *cases):
        layers = hidden_layers(function, nb_classes)
        model = visible.check_builder(function, builder, sample_shape, nb_classes, layers)
        check_parameter_count(function, model, sample_shape, nb_classes, parameter_count(layers, sample_shape))
    passed(function, "hidden tests")


def test_net_1(impl):
    check_network("net_1", impl, (((32, 32, 3), 7), ((9, 11, 1), 2), ((28, 28, 1), 26)))


def test_net_2(impl):
    check_network("net_2", impl, (((32, 32, 3), 7), ((9, 11, 1), 2), ((28, 28, 1), 26)))


def test_cifar_net(impl):
    check_network("cifar_net", impl, (((64, 48, 3), 100), ((16, 16, 1), 2)))
