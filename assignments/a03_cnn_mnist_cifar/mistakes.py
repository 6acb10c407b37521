"""Catalogued mistakes of a03_cnn_mnist_cifar (convolutional networks in Keras)."""
from known_submissions import Mistake, catalogue
from known_submissions import function_source as _f


NORMALISE = "normalise_images(images)"
ONE_HOT = "one_hot(vector, number_classes)"
NET_1 = "net_1(sample_shape, nb_classes)"
NET_2 = "net_2(sample_shape, nb_classes)"
CIFAR = "cifar_net(sample_shape, nb_classes)"


def _functional(signature, *layer_lines):
    """A builder written with the functional API, one line per layer applied to x."""
    return _f(signature, "inputs = keras.Input(shape=sample_shape)", "x = inputs",
              *(f"x = {line}(x)" for line in layer_lines), "return keras.Model(inputs, x)")


CONV32 = "layers.Conv2D(32, (3, 3), activation='relu')"
CONV64 = "layers.Conv2D(64, (3, 3), activation='relu')"
POOL = "layers.MaxPooling2D((2, 2))"
HEAD = ("layers.Flatten()", "layers.Dense(128, activation='relu')",
        "layers.Dense(nb_classes, activation='softmax')")
SAME32 = "layers.Conv2D(32, (3, 3), padding='same', activation='relu')"
SAME64 = "layers.Conv2D(64, (3, 3), padding='same', activation='relu')"
AUGMENT = ("layers.RandomFlip('horizontal')", "layers.RandomTranslation(0.1, 0.1)")

MISTAKES = catalogue(
    # normalise_images(images) -> float32 in [0, 1]
    Mistake("normalise_images", "min_max", "scales each batch by its own minimum and maximum",
            _f(NORMALISE, "x = images.astype(np.float32)", "return (x - x.min()) / (x.max() - x.min())"),
            "min-max scaling"),
    Mistake("normalise_images", "divide_by_256", "divides by 256",
            _f(NORMALISE, "return images.astype(np.float32) / 256"), "not 256"),
    Mistake("normalise_images", "integer_division", "images // 255",
            _f(NORMALISE, "return (images // 255).astype(np.float32)"), "Integer division"),
    Mistake("normalise_images", "float64", "images / 255, which NumPy computes in float64",
            _f(NORMALISE, "return images / 255"), "float32"),
    Mistake("normalise_images", "not_scaled", "converts to float32 and stops there",
            _f(NORMALISE, "return images.astype(np.float32)"), "not scaled"),

    # one_hot(vector, number_classes) -> (N, number_classes)
    Mistake("one_hot", "eye_of_length", "np.eye(len(vector)): as many classes as labels",
            _f(ONE_HOT, "return np.eye(len(vector))[np.ravel(vector)]"), "shape"),
    Mistake("one_hot", "transposed", "one column per label",
            _f(ONE_HOT, "return np.eye(number_classes)[np.ravel(vector)].T"), "transposed"),
    Mistake("one_hot", "not_flattened", "indexes with (N, 1) labels as they come",
            _f(ONE_HOT, "return np.eye(number_classes)[vector]"), "flattened first"),
    Mistake("one_hot", "minus_one", "counts labels from 1",
            _f(ONE_HOT, "return np.eye(number_classes)[np.ravel(vector) - 1]"), "its 1 should be in column"),
    Mistake("one_hot", "rank_of_label", "numbers the labels present (np.unique) instead of using them",
            _f(ONE_HOT, "labels = np.ravel(vector)",
               "return np.eye(number_classes)[np.searchsorted(np.unique(labels), labels)]"), "rows are wrong"),

    # net_1(sample_shape, nb_classes)
    Mistake("net_1", "sequential", "keras.Sequential instead of the functional API",
            _f(NET_1, f"return keras.Sequential([keras.Input(shape=sample_shape), {CONV32}, {CONV64}, {POOL}, "
                      f"{', '.join(HEAD)}])"), "functional API"),
    Mistake("net_1", "no_pooling", "forgets the pooling layer",
            _functional(NET_1, CONV32, CONV64, *HEAD), "layers (apart from"),
    Mistake("net_1", "filters_swapped", "64 filters first, then 32",
            _functional(NET_1, CONV64, CONV32, POOL, *HEAD), "filters"),
    Mistake("net_1", "kernel_5", "5 x 5 kernels",
            _functional(NET_1, "layers.Conv2D(32, (5, 5), activation='relu')",
                        "layers.Conv2D(64, (5, 5), activation='relu')", POOL, *HEAD), "kernel_size"),
    Mistake("net_1", "no_softmax", "the last Dense layer has no activation",
            _functional(NET_1, CONV32, CONV64, POOL, *HEAD[:2], "layers.Dense(nb_classes)"), "activation"),
    Mistake("net_1", "fixed_input", "always (28, 28, 1)",
            _f(NET_1, "inputs = keras.Input(shape=(28, 28, 1))", "x = inputs",
               *(f"x = {line}(x)" for line in (CONV32, CONV64, POOL, *HEAD)), "return keras.Model(inputs, x)"),
            "Use sample_shape"),
    Mistake("net_1", "ten_classes", "always 10 outputs",
            _functional(NET_1, CONV32, CONV64, POOL, *HEAD[:2], "layers.Dense(10, activation='softmax')"),
            "units"),

    # net_2(sample_shape, nb_classes)
    Mistake("net_2", "kept_pooling", "keeps the pooling layer as well as the stride",
            _functional(NET_2, CONV32, "layers.Conv2D(64, (3, 3), strides=(2, 2), activation='relu')", POOL, *HEAD),
            "layers (apart from"),
    Mistake("net_2", "stride_first", "the stride on the first convolution",
            _functional(NET_2, "layers.Conv2D(32, (3, 3), strides=(2, 2), activation='relu')", CONV64, *HEAD),
            "strides"),
    Mistake("net_2", "no_stride", "no stride: nothing is downsampled",
            _functional(NET_2, CONV32, CONV64, *HEAD), "strides"),
    Mistake("net_2", "same_padding", "pads the strided convolution",
            _functional(NET_2, CONV32, "layers.Conv2D(64, (3, 3), strides=(2, 2), padding='same', activation='relu')",
                        *HEAD), "padding"),
    Mistake("net_2", "relu_output", "ReLU on the output layer",
            _functional(NET_2, CONV32, "layers.Conv2D(64, (3, 3), strides=(2, 2), activation='relu')", *HEAD[:2],
                        "layers.Dense(nb_classes, activation='relu')"), "activation"),

    # cifar_net(sample_shape, nb_classes)
    Mistake("cifar_net", "valid_padding", "convolutions without padding",
            _functional(CIFAR, *AUGMENT, CONV32, CONV32, POOL, CONV64, CONV64, POOL, HEAD[0],
                        "layers.Dropout(0.5)", HEAD[1], "layers.Dropout(0.5)", HEAD[2]), "padding"),
    Mistake("cifar_net", "one_conv_per_block", "one convolution before each pooling",
            _functional(CIFAR, *AUGMENT, SAME32, POOL, SAME64, POOL, *HEAD), "layers (apart from"),
    Mistake("cifar_net", "second_pool_missing", "pools only once",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, *HEAD), "layers (apart from"),
    Mistake("cifar_net", "sigmoid_output", "sigmoid outputs, as for one class",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, *HEAD[:2],
                        "layers.Dense(nb_classes, activation='sigmoid')"), "activation"),
    Mistake("cifar_net", "fixed_input", "always (32, 32, 3)",
            _f(CIFAR, "inputs = keras.Input(shape=(32, 32, 3))", "x = inputs",
               *(f"x = {line}(x)" for line in (*AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, *HEAD)),
               "return keras.Model(inputs, x)"), "Use sample_shape"),
)
