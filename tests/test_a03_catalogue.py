"""a03's test cells on answers beyond the catalogue (tests/test_catalogues.py runs the catalogue)."""
import numpy as np
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


# --------------------------------------------------------------------------------------------
# conv_forward and pool_forward: other ways of being right
# --------------------------------------------------------------------------------------------

def test_a_vectorised_conv_forward_computing_in_float32_passes():
    namespace = with_source(reference(ASSIGNMENT),
                            "def conv_forward(A_prev, W, b, stride=1, pad=0):\n"
                            "    f = W.shape[0]\n"
                            "    A = np.pad(A_prev.astype(np.float32), ((0, 0), (pad, pad), (pad, pad), (0, 0)))\n"
                            "    windows = np.lib.stride_tricks.sliding_window_view(A, (f, f), axis=(1, 2))\n"
                            "    windows = windows[:, ::stride, ::stride]\n"
                            "    return np.einsum('ihwkuv,uvkc->ihwc', windows, W.astype(np.float32)) + b.astype(np.float32)\n")
    printed = run_test_cell(ASSIGNMENT, "conv_forward", namespace)
    assert "conv_forward: hidden tests passed." in printed


def test_a_conv_forward_with_four_loops_passes():
    namespace = with_source(reference(ASSIGNMENT),
                            "def conv_forward(A_prev, W, b, stride=1, pad=0):\n"
                            "    m, n_H_prev, n_W_prev, _ = A_prev.shape\n"
                            "    f, _, _, n_C = W.shape\n"
                            "    n_H = int((n_H_prev + 2 * pad - f) / stride) + 1\n"
                            "    n_W = int((n_W_prev + 2 * pad - f) / stride) + 1\n"
                            "    A = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode='constant', constant_values=(0, 0))\n"
                            "    Z = np.zeros((m, n_H, n_W, n_C))\n"
                            "    for i in range(m):\n"
                            "        for h in range(n_H):\n"
                            "            for w in range(n_W):\n"
                            "                for c in range(n_C):\n"
                            "                    patch = A[i, h * stride:h * stride + f, w * stride:w * stride + f, :]\n"
                            "                    Z[i, h, w, c] = np.sum(patch * W[:, :, :, c]) + float(b[c])\n"
                            "    return Z\n")
    assert "conv_forward: hidden tests passed." in run_test_cell(ASSIGNMENT, "conv_forward", namespace)


def test_conv_forward_is_compared_with_keras_as_well_as_with_stored_values():
    """The visible test compares with keras.layers.Conv2D: a function right on the stored examples
    but wrong elsewhere (here: on batches of two pictures) is caught by Keras's answer."""
    namespace = with_source(reference(ASSIGNMENT),
                            "reference_conv = conv_forward\n"
                            "def conv_forward(A_prev, W, b, stride=1, pad=0):\n"
                            "    Z = reference_conv(A_prev, W, b, stride, pad)\n"
                            "    return Z * 1.5 if A_prev.shape[1:3] == (8, 9) else Z\n")
    with pytest.raises(AssertionError, match="differ from what keras.layers.Conv2D computes"):
        run_test_cell(ASSIGNMENT, "conv_forward", namespace)


def test_an_unknown_pool_mode_that_raises_another_error_is_told_to_raise_value_error():
    namespace = with_source(reference(ASSIGNMENT),
                            "reference_pool = pool_forward\n"
                            "def pool_forward(A_prev, f, stride, mode='max'):\n"
                            "    reduce = {'max': np.max, 'average': np.mean}[mode]\n"
                            "    return reference_pool(A_prev, f, stride, mode)\n")
    with pytest.raises(AssertionError, match="raised KeyError: 'median'. An unknown mode should raise ValueError"):
        run_test_cell(ASSIGNMENT, "pool_forward", namespace)


def test_what_the_tests_compare_with_is_what_keras_computes():
    """The reference answers of hidden_checks and Keras's layers agree: the tests hold students
    to what keras.layers.Conv2D, MaxPooling2D and AveragePooling2D compute."""
    namespace = reference(ASSIGNMENT)
    tests = namespace["tests"]
    rng = np.random.default_rng(7)
    A_prev, W, b = rng.normal(size=(2, 9, 7, 3)), rng.normal(size=(4, 4, 3, 5)), rng.normal(size=5)
    for stride, pad in ((1, 0), (2, 3), (3, 1)):
        Z = namespace["conv_forward"](A_prev, W, b, stride=stride, pad=pad)
        assert np.allclose(Z, tests.through_keras(A_prev, *tests.keras_conv2d(W, b, stride, pad)), rtol=1e-10, atol=1e-10)
    for f, stride, mode in ((2, 2, "max"), (3, 1, "average"), (3, 2, "max")):
        pooled = namespace["pool_forward"](A_prev, f, stride, mode=mode)
        assert np.allclose(pooled, tests.through_keras(A_prev, *tests.keras_pooling(mode, f, stride)), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------------
# Equivalent designs of a network pass
# --------------------------------------------------------------------------------------------

def test_a_sequential_model_with_the_same_layers_passes():
    namespace = with_source(reference(ASSIGNMENT),
                            "def net_1(sample_shape, nb_classes):\n"
                            "    return keras.Sequential([\n"
                            "        keras.Input(shape=sample_shape),\n"
                            "        layers.RandomTranslation(0.08, 0.08),\n"
                            "        layers.Conv2D(32, (3, 3), activation='relu'),\n"
                            "        layers.Conv2D(64, (3, 3), activation='relu'),\n"
                            "        layers.MaxPooling2D((2, 2)),\n"
                            "        layers.Dropout(0.25),\n"
                            "        layers.Flatten(),\n"
                            "        layers.Dense(128, activation='relu'),\n"
                            "        layers.Dropout(0.5),\n"
                            "        layers.Dense(nb_classes, activation='softmax'),\n"
                            "    ])\n")
    assert "net_1: hidden tests passed." in run_test_cell(ASSIGNMENT, "net_1", namespace)


def test_separate_activation_layers_pass():
    namespace = with_source(reference(ASSIGNMENT),
                            "def net_2(sample_shape, nb_classes):\n"
                            "    inputs = keras.Input(shape=sample_shape)\n"
                            "    x = layers.Conv2D(32, (3, 3))(inputs)\n"
                            "    x = layers.Activation('relu')(x)\n"
                            "    x = layers.Conv2D(64, (3, 3), strides=(2, 2))(x)\n"
                            "    x = layers.Dropout(0.25)(x)\n"
                            "    x = layers.ReLU()(x)\n"
                            "    x = layers.Flatten()(x)\n"
                            "    x = layers.Dense(128, activation='relu')(x)\n"
                            "    x = layers.Dense(nb_classes)(x)\n"
                            "    return keras.Model(inputs, layers.Softmax()(x))\n")
    assert "net_2: hidden tests passed." in run_test_cell(ASSIGNMENT, "net_2", namespace)


def test_a_sequential_block_of_augmentation_inside_a_functional_model_passes():
    namespace = with_source(reference(ASSIGNMENT),
                            "def cifar_net(sample_shape, nb_classes):\n"
                            "    augment = keras.Sequential([layers.RandomFlip('horizontal'), layers.RandomTranslation(0.1, 0.1)])\n"
                            "    inputs = keras.Input(shape=sample_shape)\n"
                            "    x = augment(inputs)\n"
                            "    for filters in (32, 64):\n"
                            "        block = keras.Sequential([layers.Conv2D(filters, 3, padding='same', activation='relu'),\n"
                            "                                  layers.Conv2D(filters, 3, padding='same', activation='relu'),\n"
                            "                                  layers.MaxPooling2D(2)])\n"
                            "        x = block(x)\n"
                            "    x = layers.Dropout(0.5)(layers.Flatten()(x))\n"
                            "    x = layers.Dropout(0.5)(layers.Dense(128, activation='relu')(x))\n"
                            "    return keras.Model(inputs, layers.Dense(nb_classes, activation='softmax')(x))\n")
    assert "cifar_net: hidden tests passed." in run_test_cell(ASSIGNMENT, "cifar_net", namespace)


def test_a_sequential_model_without_an_input_is_told_to_start_with_one():
    namespace = with_source(reference(ASSIGNMENT),
                            "def net_1(sample_shape, nb_classes):\n"
                            "    return keras.Sequential([layers.Conv2D(32, 3, activation='relu'), layers.Conv2D(64, 3, activation='relu'),\n"
                            "                             layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(128, activation='relu'),\n"
                            "                             layers.Dense(nb_classes, activation='softmax')])\n")
    with pytest.raises(AssertionError, match="net_1: the model does not know the shape of its input"):
        run_test_cell(ASSIGNMENT, "net_1", namespace)


def test_cifar_net_may_give_the_translation_as_a_range():
    # RandomTranslation((-0.1, 0.1), (-0.1, 0.1)) is RandomTranslation(0.1, 0.1)
    namespace = with_source(reference(ASSIGNMENT),
                            "def cifar_net(sample_shape, nb_classes):\n"
                            "    inputs = keras.Input(shape=sample_shape)\n"
                            "    x = layers.RandomTranslation((-0.1, 0.1), (-0.1, 0.1))(layers.RandomFlip('horizontal')(inputs))\n"
                            "    for filters in (32, 32, 'pool', 64, 64, 'pool'):\n"
                            "        x = layers.MaxPooling2D(2)(x) if filters == 'pool' else layers.Conv2D(filters, 3, padding='same', activation='relu')(x)\n"
                            "    x = layers.Dropout(0.5)(layers.Flatten()(x))\n"
                            "    x = layers.Dropout(0.5)(layers.Dense(128, activation='relu')(x))\n"
                            "    return keras.Model(inputs, layers.Dense(nb_classes, activation='softmax')(x))\n")
    assert "cifar_net: hidden tests passed." in run_test_cell(ASSIGNMENT, "cifar_net", namespace)


def test_net_1_may_drop_out_logits_before_a_softmax_layer():
    # the outputs are still probabilities: the Dropout is not after the output layer
    namespace = with_source(reference(ASSIGNMENT),
                            "def net_1(sample_shape, nb_classes):\n"
                            "    return keras.Sequential([keras.Input(sample_shape), layers.Conv2D(32, 3, activation='relu'),\n"
                            "        layers.Conv2D(64, 3, activation='relu'), layers.MaxPooling2D(), layers.Flatten(),\n"
                            "        layers.Dense(128, activation='relu'), layers.Dense(nb_classes), layers.Dropout(0.5),\n"
                            "        layers.Softmax()])\n")
    assert "net_1: hidden tests passed." in run_test_cell(ASSIGNMENT, "net_1", namespace)
