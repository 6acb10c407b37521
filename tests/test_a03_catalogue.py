"""a03's test cells on answers beyond the catalogue (tests/test_catalogues.py runs the catalogue)."""
import pytest

from catalogue_runs import reference, run_test_cell, with_source

ASSIGNMENT = "a03_cnn_mnist_cifar"


def test_the_class_of_a_model_and_its_settings_are_read_as_data():
    namespace = reference(ASSIGNMENT)
    tests, model = namespace["tests"], namespace["net_2"]((28, 28, 1), 10)
    described = [tests.layer_settings(layer) for layer in model.layers
                 if type(layer).__name__ not in tests.IGNORED_LAYERS]
    assert described[1] == ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "strides": (2, 2),
                                       "padding": "valid", "activation": "relu"})
    # Parameter counts cannot tell the two networks apart; their layers can.
    assert model.count_params() == namespace["net_1"]((28, 28, 1), 10).count_params()


def test_a_builder_that_returns_something_else_is_told_what_is_expected():
    namespace = with_source(reference(ASSIGNMENT), "def net_1(sample_shape, nb_classes):\n    return [sample_shape, nb_classes]\n")
    with pytest.raises(AssertionError, match="net_1: should return a Keras model"):
        run_test_cell(ASSIGNMENT, "net_1", namespace)


def test_a_function_that_is_not_written_yet_says_so():
    namespace = with_source(reference(ASSIGNMENT), "def one_hot(vector, number_classes):\n    raise NotImplementedError()\n")
    with pytest.raises(AssertionError, match="one_hot: is not written yet"):
        run_test_cell(ASSIGNMENT, "one_hot", namespace)


def test_a_model_without_dropout_or_augmentation_passes():
    namespace = with_source(reference(ASSIGNMENT),
                            "def net_1(sample_shape, nb_classes):\n"
                            "    inputs = keras.Input(shape=sample_shape)\n"
                            "    x = layers.Conv2D(32, 3, activation='relu')(inputs)\n"
                            "    x = layers.Conv2D(64, 3, activation='relu')(x)\n"
                            "    x = layers.Flatten()(layers.MaxPooling2D(2)(x))\n"
                            "    x = layers.Dense(128, activation='relu')(x)\n"
                            "    return keras.Model(inputs, layers.Dense(nb_classes, activation='softmax')(x))\n")
    assert "hidden tests passed" in run_test_cell(ASSIGNMENT, "net_1", namespace)
