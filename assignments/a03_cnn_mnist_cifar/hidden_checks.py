"""Hidden checks of a03_cnn_mnist_cifar: reference answers and the cases students never see.

Only the grader reads this file (and the instructor's ``source/`` copy, which nbgrader never
releases). The source notebook's test cells call ``hidden_checks.test_<function>(impl)`` inside
their hidden region; the build calls :func:`expected_outputs` to store the values that the
visible tests compare with.
"""
import numpy as np

import problem_unittests as visible
from check_helpers import passed


# --------------------------------------------------------------------------------------------
# Reference answers
# --------------------------------------------------------------------------------------------

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


def expected_outputs():
    """The expected values of the visible tests' examples, stored in expected_outputs.json."""
    expected = {
        "normalise_images": [normalise_images(images) for images in visible.normalise_images_cases()],
        "one_hot": [one_hot(*case) for case in visible.one_hot_cases()],
    }
    for function, cases in visible.MODEL_CASES.items():
        expected[function] = [MODEL_LAYERS[function](nb_classes) for _, nb_classes in cases]
    return expected


# --------------------------------------------------------------------------------------------
# Hidden tests
# --------------------------------------------------------------------------------------------

def test_normalise_images(impl):
    rng = np.random.default_rng(303)
    for shape, low, high in (((3, 28, 28, 1), 12, 200), ((2, 32, 32, 3), 1, 254), ((7,), 0, 255), ((5, 4), 90, 91)):
        images = rng.integers(low, high, size=shape, endpoint=True, dtype=np.uint8)
        visible.check_normalise_images(impl, images, normalise_images(images))
    passed("normalise_images", "hidden tests")


def test_one_hot(impl):
    rng = np.random.default_rng(304)
    for vector, classes in ((rng.integers(0, 10, size=25), 10),
                            (rng.integers(2, 5, size=(12, 1)).astype(np.uint8), 6),
                            (np.array([1]), 3), (np.array([4, 4, 0, 2, 1, 3, 0]), 5)):
        visible.check_one_hot(impl, vector, classes, one_hot(vector, classes))
    passed("one_hot", "hidden tests")


def check_network(function, builder, cases):
    for sample_shape, nb_classes in cases:
        visible.check_builder(function, builder, sample_shape, nb_classes, MODEL_LAYERS[function](nb_classes))
    passed(function, "hidden tests")


def test_net_1(impl):
    check_network("net_1", impl, (((32, 32, 3), 7), ((9, 11, 1), 2), ((28, 28, 1), 26)))


def test_net_2(impl):
    check_network("net_2", impl, (((32, 32, 3), 7), ((9, 11, 1), 2), ((28, 28, 1), 26)))


def test_cifar_net(impl):
    check_network("cifar_net", impl, (((64, 48, 3), 100), ((16, 16, 1), 2)))
