"""Visible tests of convolutional networks in Keras: MNIST digits, then CIFAR-10 photos.

Each test takes the function under test as its argument, so the same test runs on the reference
solution, on a catalogue of typical mistakes and on your code::

    import problem_unittests as tests
    tests.test_one_hot(one_hot)

A test that passes prints one line; a failing test raises ``AssertionError`` with a message that
names the function, the check, what was expected and what came back. The expected values of
these examples (the layers of each network among them) are stored in ``expected_outputs.json``.
When your notebook is graded, hidden tests check the same functions on inputs you have not seen.
"""
import numpy as np

from check_helpers import (call_quietly, check_array, check_binary, check_close, check_unchanged, fail,
                           load_expected, passed, snapshot)

EXPECTED = load_expected(__file__)


def check_normalise_images(normalise_images, images, expected):
    """normalise_images(images) against ``expected``: float32 values of the same shape, the input
    left as it was."""
    function = "normalise_images"
    before = snapshot(images)
    got = call_quietly(normalise_images, images)
    check_unchanged(function, ("images",), before, (images,))
    check_array(function, "the result", got, images.shape)
    if got.dtype != np.float32:
        fail(function, f"the result should hold float32 numbers (what Keras computes with), got "
                       f"{got.dtype}.")
    low, high = float(images.min()), float(images.max())
    check_close(function, "the scaled pixels", got, expected, hints=(
        (lambda e: (images - low) / (high - low), "This is min-max scaling: it depends on the batch. "
                                                   "Divide by 255, the largest possible pixel value."),
        (lambda e: e * 255 / 256, "Divide by 255, the largest value of a uint8 pixel, not 256."),
        (lambda e: np.floor(e), "Integer division (//) rounds every pixel down to 0 or 1."),
        (lambda e: e * 255, "The pixels were not scaled: divide by 255."),
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
    got = call_quietly(one_hot, vector, number_classes)
    check_unchanged(function, ("vector",), before, (vector,))
    labels = np.ravel(vector).astype(int)
    shape = (labels.size, number_classes)
    if isinstance(got, np.ndarray) and got.shape == shape[::-1] and shape[0] != shape[1]:
        fail(function, f"expected shape {shape}, one row per label, got {got.shape}: the result is "
                       f"transposed.")
    if isinstance(got, np.ndarray) and got.ndim == 3:
        fail(function, f"expected shape {shape}, got {got.shape}: labels shaped (N, 1), like "
                       f"CIFAR-10's, must be flattened first (np.ravel).")
    check_array(function, "the encoding", got, shape)
    check_binary(function, "the encoding", got)
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


def layer_settings(layer):
    """(class name, {setting: value}) of a Keras layer, for the settings that define the network."""
    config = layer.get_config()
    settings = {}
    for key in LAYER_SETTINGS:
        if key in config:
            value = config[key]
            settings[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    return type(layer).__name__, settings


def check_keras_model(function, model, sample_shape, nb_classes, expected_layers):
    """A Keras model built with the functional API, with ``expected_layers`` as
    ``[(class name, {setting: value}), ...]``, and input and output shapes that fit."""
    if not (hasattr(model, "layers") and hasattr(model, "output_shape")):
        fail(function, f"should return a Keras model (keras.Model(inputs, outputs)), got "
                       f"{type(model).__name__}.")
    if type(model).__name__ == "Sequential":
        fail(function, "should be built with the functional API: keras.Input, then each layer called "
                       "on the previous output, then keras.Model(inputs, outputs). You used "
                       "keras.Sequential.")
    if tuple(model.input_shape) != (None, *sample_shape):
        fail(function, f"with sample_shape={sample_shape} the model's input should have shape "
                       f"(None, {', '.join(map(str, sample_shape))}), got {model.input_shape}. "
                       f"Use sample_shape, not a fixed shape.")
    layers = [layer_settings(layer) for layer in model.layers if type(layer).__name__ not in IGNORED_LAYERS]
    kinds = [kind for kind, _ in layers]
    wanted = [kind for kind, _ in expected_layers]
    if kinds != wanted:
        fail(function, f"the layers (apart from Dropout and data augmentation) should be "
                       f"{', '.join(wanted)}; got {', '.join(kinds) or 'none'}.")
    for number, ((kind, got), (_, settings)) in enumerate(zip(layers, expected_layers), start=1):
        for key, value in settings.items():
            if got.get(key) != value:
                fail(function, f"layer {number} ({kind}) should have {key} {value!r}, got "
                               f"{got.get(key)!r}.")
    if tuple(model.output_shape) != (None, nb_classes):
        fail(function, f"with nb_classes={nb_classes} the output should have shape (None, "
                       f"{nb_classes}), got {model.output_shape}. Use nb_classes, not a fixed number.")


def check_builder(function, builder, sample_shape, nb_classes, expected_layers):
    model = call_quietly(builder, sample_shape, nb_classes)
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
