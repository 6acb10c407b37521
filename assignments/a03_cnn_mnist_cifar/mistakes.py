"""Catalogued mistakes of a03_cnn_mnist_cifar (convolution and pooling in NumPy, convolutional
networks in Keras)."""
from known_submissions import Mistake, catalogue
from known_submissions import function_source as _f


CONV = "conv_forward(A_prev, W, b, stride=1, pad=0)"
POOL_FORWARD = "pool_forward(A_prev, f, stride, mode=\"max\")"
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
CIFAR_HEAD = (HEAD[0], "layers.Dropout(0.5)", HEAD[1], "layers.Dropout(0.5)", HEAD[2])

# conv_forward as a student would write it, one line per statement; each mistake changes a few.
CONV_LINES = (
    "m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape",
    "f, _, _, n_C = W.shape",
    "n_H = (n_H_prev + 2 * pad - f) // stride + 1",
    "n_W = (n_W_prev + 2 * pad - f) // stride + 1",
    "A_pad = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))",
    "Z = np.zeros((m, n_H, n_W, n_C))",
    "for h in range(n_H):",
    "    for w in range(n_W):",
    "        top, left = h * stride, w * stride",
    "        window = A_pad[:, top:top + f, left:left + f, :]",
    "        Z[:, h, w, :] = np.tensordot(window, W, axes=3) + b",
    "return Z",
)

POOL_LINES = (
    "if mode not in ('max', 'average'):",
    "    raise ValueError(f'mode must be max or average, not {mode!r}')",
    "m, n_H_prev, n_W_prev, n_C = A_prev.shape",
    "n_H = (n_H_prev - f) // stride + 1",
    "n_W = (n_W_prev - f) // stride + 1",
    "A = np.zeros((m, n_H, n_W, n_C))",
    "for h in range(n_H):",
    "    for w in range(n_W):",
    "        top, left = h * stride, w * stride",
    "        window = A_prev[:, top:top + f, left:left + f, :]",
    "        A[:, h, w, :] = window.max(axis=(1, 2)) if mode == 'max' else window.mean(axis=(1, 2))",
    "return A",
)


def _changed(signature, lines, *replacements):
    """The source of a function whose body is ``lines`` with each (old, new) of ``replacements``
    applied (``new`` None removes the line holding ``old``); every ``old`` must be found."""
    body = list(lines)
    for old, new in replacements:
        found = [i for i, line in enumerate(body) if old in line]
        assert found, f"{old!r} is not in the template"
        for i in reversed(found):
            if new is None:
                del body[i]
            else:
                body[i] = body[i].replace(old, new)
    return _f(signature, *body)


def _conv(*replacements):
    return _changed(CONV, CONV_LINES, *replacements)


def _pool(*replacements):
    return _changed(POOL_FORWARD, POOL_LINES, *replacements)


MISTAKES = catalogue(
    # conv_forward(A_prev, W, b, stride=1, pad=0) -> Z of shape (m, n_H, n_W, n_C)
    Mistake("conv_forward", "flipped_kernel", "flips the kernel: a true convolution, not Keras's cross-correlation",
            _conv(("tensordot(window, W,", "tensordot(window, W[::-1, ::-1],")), "The kernel was flipped"),
    Mistake("conv_forward", "no_bias", "forgets the bias",
            _conv((" + b", "")), "The bias b was not added"),
    Mistake("conv_forward", "bias_inside_sum", "adds the bias to every product of the window",
            _conv(("Z[:, h, w, :] = np.tensordot(window, W, axes=3) + b",
                   "Z[:, h, w, :] = np.sum(window[..., None] * W + b, axis=(1, 2, 3))")),
            "added to each of the f * f * n_C_prev products"),
    Mistake("conv_forward", "one_bias", "gives every channel the first bias",
            _conv(("+ b", "+ b[0]")), "Every channel got the bias b[0]"),
    Mistake("conv_forward", "stride_ignored", "slides the window one pixel at a time whatever the stride",
            _conv(("// stride + 1", "+ 1"), ("h * stride, w * stride", "h, w")), "The stride was ignored"),
    Mistake("conv_forward", "window_not_strided", "sizes Z for the stride but starts window h at row h",
            _conv(("h * stride, w * stride", "h, w")), "with stride 2 it starts at (h * stride, w * stride)"),
    Mistake("conv_forward", "padded_with_ones", "pads with ones",
            _conv(("(0, 0)))", "(0, 0)), constant_values=1)")), "pad with zeros"),
    Mistake("conv_forward", "padded_every_axis", "np.pad(A_prev, pad): pads the examples and channels too",
            _conv(("np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))", "np.pad(A_prev, pad)")),
            "pad only the height and width axes"),
    Mistake("conv_forward", "size_rounded_up", "rounds the output size up",
            _conv(("(n_H_prev + 2 * pad - f) // stride + 1", "int(np.ceil((n_H_prev + 2 * pad - f) / stride)) + 1"),
                  ("(n_W_prev + 2 * pad - f) // stride + 1", "int(np.ceil((n_W_prev + 2 * pad - f) / stride)) + 1")),
            "sticks out of the padded input: n_out = floor((n + 2p - f) / s) + 1 per side rounds down"),
    Mistake("conv_forward", "size_not_whole", "divides with / and gets a fractional size",
            _conv(("// stride", "/ stride")), "integer division"),
    Mistake("conv_forward", "channels_first_output", "returns Z channels-first, (m, n_C, n_H, n_W)",
            _conv(("return Z", "return Z.transpose(0, 3, 1, 2)")), "channels-first"),
    Mistake("conv_forward", "kernel_channels_first", "reads W in PyTorch's layout (n_C, n_C_prev, f, f)",
            _conv(("f, _, _, n_C = W.shape", "n_C, n_C_prev, f, _ = W.shape"),
                  ("tensordot(window, W,", "tensordot(window, W.transpose(2, 3, 1, 0),")),
            "W is (f, f, n_C_prev, n_C)"),
    Mistake("conv_forward", "relu_applied", "applies ReLU to Z",
            _conv(("return Z", "return np.maximum(Z, 0)")), "no ReLU here"),
    Mistake("conv_forward", "Z_of_the_input_type", "makes Z of A_prev's type: integer pictures give integer Z",
            _conv(("Z = np.zeros((m, n_H, n_W, n_C))", "Z = np.zeros((m, n_H, n_W, n_C), dtype=A_prev.dtype)")),
            "cut to whole numbers"),

    # pool_forward(A_prev, f, stride, mode="max")
    Mistake("pool_forward", "always_average", "averages whatever the mode",
            _pool(("window.max(axis=(1, 2)) if mode == 'max' else window.mean(axis=(1, 2))", "window.mean(axis=(1, 2))")),
            "This is the average of each window"),
    Mistake("pool_forward", "mode_ignored", "takes the maximum whatever the mode",
            _pool(("window.max(axis=(1, 2)) if mode == 'max' else window.mean(axis=(1, 2))", "window.max(axis=(1, 2))")),
            "This is the largest value of each window"),
    Mistake("pool_forward", "across_channels", "pools over the channels too",
            _pool(("window.max(axis=(1, 2)) if mode == 'max' else window.mean(axis=(1, 2))",
                   "(window.max(axis=(1, 2, 3)) if mode == 'max' else window.mean(axis=(1, 2, 3)))[:, None]")),
            "the channels were pooled together"),
    Mistake("pool_forward", "stride_ignored", "moves the window one pixel at a time",
            _pool(("// stride + 1", "+ 1"), ("h * stride, w * stride", "h, w")), "The stride was ignored"),
    Mistake("pool_forward", "no_value_error", "computes the average for any mode but max",
            _pool(("if mode not in", None), ("raise ValueError", None)), "instead of raising ValueError"),
    Mistake("pool_forward", "sum_not_average", "sums each window instead of averaging it",
            _pool(("window.mean(axis=(1, 2))", "window.sum(axis=(1, 2))")), "This is the sum of each window"),
    Mistake("pool_forward", "window_of_stride", "takes windows of stride x stride pixels",
            _pool(("top:top + f, left:left + f", "top:top + stride, left:left + stride")), "they should be f x f"),
    Mistake("pool_forward", "A_of_the_input_type", "np.zeros_like: integer input, averages cut to integers",
            _pool(("A = np.zeros((m, n_H, n_W, n_C))", "A = np.zeros_like(A_prev, shape=(m, n_H, n_W, n_C))")),
            "averages were cut to whole"),
    Mistake("pool_forward", "mean_alias", "also takes mode='mean' for the average",
            _pool(("if mode not in ('max', 'average'):", "if mode not in ('max', 'average', 'mean'):")),
            "mode='mean'"),
    Mistake("pool_forward", "tuple_without_comma", "mode in ('average'): a substring test, not a tuple",
            _pool(("if mode not in ('max', 'average'):", "if mode != 'max' and mode not in ('average'):")),
            "mode='aver'"),

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
    Mistake("normalise_images", "divided_in_place", "divides np.asarray(images, dtype=np.float32) in place: "
            "the caller's pictures themselves when they are float32 already",
            _f(NORMALISE, "x = np.asarray(images, dtype=np.float32)", "x /= 255", "return x"),
            "was modified in place"),
    Mistake("normalise_images", "scaled_if_above_1", "divides by 255 only when some pixel is above 1",
            _f(NORMALISE, "x = images.astype(np.float32)", "return x / 255 if x.max() > 1 else x"),
            "not scaled"),

    # one_hot(vector, number_classes) -> (N, number_classes)
    Mistake("one_hot", "eye_of_length", "np.eye(len(vector)): as many classes as labels",
            _f(ONE_HOT, "return np.eye(len(vector))[np.ravel(vector)]"), "number_classes columns, not len(vector)"),
    Mistake("one_hot", "transposed", "one column per label",
            _f(ONE_HOT, "return np.eye(number_classes)[np.ravel(vector)].T"), "transposed"),
    Mistake("one_hot", "not_flattened", "indexes with (N, 1) labels as they come",
            _f(ONE_HOT, "return np.eye(number_classes)[vector]"), "flattened first"),
    Mistake("one_hot", "minus_one", "counts labels from 1",
            _f(ONE_HOT, "return np.eye(number_classes)[np.ravel(vector) - 1]"), "its 1 should be in column"),
    Mistake("one_hot", "rank_of_label", "numbers the labels present (np.unique) instead of using them",
            _f(ONE_HOT, "labels = np.ravel(vector)",
               "return np.eye(number_classes)[np.searchsorted(np.unique(labels), labels)]"), "rows are wrong"),
    Mistake("one_hot", "label_as_value", "writes each label, not 1, in its label's column",
            _f(ONE_HOT, "labels = np.ravel(vector)", "encoding = np.zeros((labels.size, number_classes))",
               "encoding[np.arange(labels.size), labels] = labels", "return encoding"), "one 1, in its label's column"),

    # net_1(sample_shape, nb_classes)
    Mistake("net_1", "dropout_after_softmax", "puts the second Dropout after the softmax output",
            _functional(NET_1, "layers.RandomTranslation(0.08, 0.08)", CONV32, CONV64, POOL, "layers.Dropout(0.25)",
                        *HEAD, "layers.Dropout(0.5)"), "comes after the output layer"),
    Mistake("net_1", "same_padding", "pads the convolutions",
            _functional(NET_1, SAME32, SAME64, POOL, *HEAD), "padding"),
    Mistake("net_1", "relu_twice", "an Activation layer after a convolution that has one already",
            _functional(NET_1, CONV32, "layers.Activation('relu')", CONV64, POOL, *HEAD),
            "already has activation='relu' and an Activation layer follows it: apply the ReLU once"),
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
    Mistake("net_1", "pool_stride_1", "2 x 2 pooling that moves one pixel at a time",
            _functional(NET_1, CONV32, CONV64, "layers.MaxPooling2D((2, 2), strides=(1, 1))", *HEAD),
            "strides = pool_size"),
    Mistake("net_1", "pool_channels_first", "pooling told data_format='channels_first', as in PyTorch's layout",
            _functional(NET_1, CONV32, CONV64, "layers.MaxPooling2D((2, 2), data_format='channels_first')", *HEAD),
            "leave data_format at its default"),
    Mistake("net_1", "no_bias", "convolutions without biases (use_bias=False)",
            _functional(NET_1, "layers.Conv2D(32, (3, 3), use_bias=False, activation='relu')",
                        "layers.Conv2D(64, (3, 3), use_bias=False, activation='relu')", POOL, *HEAD),
            "have use_bias=False: leave use_bias at Keras's default"),

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
    Mistake("net_2", "dense_without_bias", "the 128-neuron layer has no bias (use_bias=False)",
            _functional(NET_2, CONV32, "layers.Conv2D(64, (3, 3), strides=(2, 2), activation='relu')", HEAD[0],
                        "layers.Dense(128, use_bias=False, activation='relu')", HEAD[2]),
            "use_bias=False"),
    Mistake("net_2", "dilated_first", "a dilated first convolution (dilation_rate=2)",
            _functional(NET_2, "layers.Conv2D(32, (3, 3), dilation_rate=2, activation='relu')",
                        "layers.Conv2D(64, (3, 3), strides=(2, 2), activation='relu')", *HEAD),
            "dilation_rate"),

    # cifar_net(sample_shape, nb_classes)
    Mistake("cifar_net", "no_dropout", "leaves out both Dropout(0.5) layers",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, *HEAD), "right after Flatten"),
    Mistake("cifar_net", "dropout_after_softmax", "puts the second Dropout after the softmax output",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, HEAD[0], "layers.Dropout(0.5)",
                        HEAD[1], HEAD[2], "layers.Dropout(0.5)"), "comes after the output layer"),
    Mistake("cifar_net", "flip_both_ways", "RandomFlip() with its default mode, which also turns photos upside down",
            _functional(CIFAR, "layers.RandomFlip()", AUGMENT[1], SAME32, SAME32, POOL, SAME64, SAME64, POOL,
                        *CIFAR_HEAD),
            "before the first Conv2D"),
    Mistake("cifar_net", "flip_lost", "calls both augmentation layers on the inputs: the flip drops out of the model",
            _f(CIFAR, "inputs = keras.Input(shape=sample_shape)", f"x = {AUGMENT[0]}(inputs)",
               f"x = {AUGMENT[1]}(inputs)",
               *(f"x = {line}(x)" for line in (SAME32, SAME32, POOL, SAME64, SAME64, POOL, *CIFAR_HEAD)),
               "return keras.Model(inputs, x)"), "got RandomTranslation"),
    Mistake("cifar_net", "dropout_quarter", "Dropout(0.25), net_1's first rate, instead of 0.5",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, HEAD[0], "layers.Dropout(0.25)",
                        HEAD[1], "layers.Dropout(0.25)", HEAD[2]), "rate=0.25"),
    Mistake("cifar_net", "valid_padding", "convolutions without padding",
            _functional(CIFAR, *AUGMENT, CONV32, CONV32, POOL, CONV64, CONV64, POOL, HEAD[0],
                        "layers.Dropout(0.5)", HEAD[1], "layers.Dropout(0.5)", HEAD[2]), "padding"),
    Mistake("cifar_net", "one_conv_per_block", "one convolution before each pooling",
            _functional(CIFAR, *AUGMENT, SAME32, POOL, SAME64, POOL, *CIFAR_HEAD), "layers (apart from"),
    Mistake("cifar_net", "second_pool_missing", "pools only once",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, *CIFAR_HEAD), "layers (apart from"),
    Mistake("cifar_net", "sigmoid_output", "sigmoid outputs, as for one class",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, *CIFAR_HEAD[:4],
                        "layers.Dense(nb_classes, activation='sigmoid')"), "activation"),
    Mistake("cifar_net", "fixed_input", "always (32, 32, 3)",
            _f(CIFAR, "inputs = keras.Input(shape=(32, 32, 3))", "x = inputs",
               *(f"x = {line}(x)" for line in (*AUGMENT, SAME32, SAME32, POOL, SAME64, SAME64, POOL, *CIFAR_HEAD)),
               "return keras.Model(inputs, x)"), "Use sample_shape"),
    Mistake("cifar_net", "pool_same_padding", "pads the pooling layers (padding='same')",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, "layers.MaxPooling2D((2, 2), padding='same')", SAME64,
                        SAME64, "layers.MaxPooling2D((2, 2), padding='same')", *CIFAR_HEAD),
            "Keep MaxPooling2D's default stride and padding"),
    Mistake("cifar_net", "pool_stride_1", "2 x 2 pooling that moves one pixel at a time",
            _functional(CIFAR, *AUGMENT, SAME32, SAME32, "layers.MaxPooling2D((2, 2), strides=1)", SAME64, SAME64,
                        "layers.MaxPooling2D((2, 2), strides=1)", *CIFAR_HEAD), "strides = pool_size"),
    Mistake("cifar_net", "dilated", "dilated convolutions: with padding='same' the parameter count stays the same",
            _functional(CIFAR, *AUGMENT, *(f"layers.Conv2D({n}, (3, 3), padding='same', dilation_rate=2, "
                                           f"activation='relu')" for n in (32, 32)), POOL, SAME64, SAME64, POOL,
                        *CIFAR_HEAD), "dilation_rate"),
    Mistake("cifar_net", "no_bias", "convolutions without biases (use_bias=False)",
            _functional(CIFAR, *AUGMENT, *(line.replace("padding='same'", "padding='same', use_bias=False")
                                           for line in (SAME32, SAME32, POOL, SAME64, SAME64, POOL)), *CIFAR_HEAD),
            "use_bias=False: leave use_bias at Keras's default"),
)
