"""Small plotting helpers for looking at images and learning curves.

Each helper draws one figure and shows it (``plt.show()``), and returns nothing: a notebook cell
that ends with a call to one of them shows the figure once. (A figure returned after it has been
shown would be drawn a second time as the cell's result.) Where the grader recorded the same
figure from the reference, a kernel it grades shows the recorded output instead of drawing it
again (``figures.py``); on a student's machine every figure is drawn."""
import math

import numpy as np

from .figures import Figure


def _as_tile(image):
    """One image as floats in [0, 1] for the mosaic: uint8 colours divided by 255, float colours
    clipped (as ``imshow`` clips them), grey ones stretched from their own smallest to largest
    value (as ``imshow`` scales each grey image)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image.astype(float)
        low, high = image.min(), image.max()
        grey = (image - low) / (high - low) if high > low else np.zeros_like(image)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.dtype == np.uint8:
        return image / 255.0
    return np.clip(image.astype(float), 0.0, 1.0)


def show_images(images, titles=None, ncols=6, size=2.0):
    """Show images of shape (m, height, width, 3), or grey (m, height, width[, 1]), in a grid,
    with an optional title each.

    The grid is drawn as one picture (the images side by side, each title written above its
    image) rather than one set of axes per image: the same figure, several times faster to draw.
    Each pixel is drawn as a block of the same colour, not smoothed into its neighbours: the
    pictures as the network gets them, and a figure a quarter to a third as large in the notebook."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    count = len(images)
    if count == 0:
        print("No images to show.")
        return
    ncols = max(1, min(ncols, count))
    nrows = math.ceil(count / ncols)
    height, width = images.shape[1:3]
    labels = [str(titles[index]).split("\n") for index in range(count)] if titles is not None else None
    gap = max(2, round(0.08 * width))  # pixels between images
    inches_per_pixel = size / (width + gap)  # each column of the grid is ``size`` inches wide
    fontsize = 9.0
    if labels:  # smaller text where the longest line would run into the next image (about 0.6 em a character)
        longest = max(len(line) for lines in labels for line in lines)
        fontsize = max(5.0, min(fontsize, 0.9 * size * 72 / (0.6 * max(longest, 1))))
    lines = max(len(lines) for lines in labels) if labels else 0
    above = math.ceil(lines * 1.25 * fontsize / 72 / inches_per_pixel) + gap if lines else gap
    tile_height = height + above
    canvas = np.ones((nrows * tile_height, ncols * (width + gap), 3))
    for index in range(count):
        row, column = divmod(index, ncols)
        top, left = row * tile_height + above, column * (width + gap)
        canvas[top:top + height, left:left + width] = _as_tile(images[index])
    figsize = (ncols * (width + gap) * inches_per_pixel, nrows * tile_height * inches_per_pixel)
    texts = []
    for index in range(count if labels else 0):
        row, column = divmod(index, ncols)
        texts.append((column * (width + gap) + width / 2, row * tile_height + above - gap / 2,
                      "\n".join(labels[index])))
    figure = Figure("show_images", [canvas, figsize, fontsize, texts])
    if figure.replayed():
        return
    fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")
    for x, y, text in texts:
        ax.text(x, y, text, ha="center", va="bottom", fontsize=fontsize, linespacing=1.1)
    figure.show()


def plot_costs(curves, every=50, title="Cost during training"):
    """Plot one or more cost curves recorded every ``every`` iterations.

    ``curves`` is a list of costs, or a dict mapping a label to such a list.
    """
    import matplotlib.pyplot as plt

    if not isinstance(curves, dict):
        curves = {"cost": curves}
    lines = []
    for label, costs in curves.items():
        costs = np.ravel(np.asarray(costs, dtype=float))
        lines.append((np.arange(len(costs)) * every, costs, str(label)))
    figure = Figure("plot_costs", [lines, title])
    if figure.replayed():
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for iterations, costs, label in lines:
        ax.plot(iterations, costs, label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J")
    ax.set_title(title)
    if len(lines) > 1:
        ax.legend()
    fig.tight_layout()
    figure.show()


def plot_history(history, title="Training"):
    """Loss and accuracy per epoch from a Keras ``History`` (or its ``.history`` dict)."""
    import matplotlib.pyplot as plt

    curves = getattr(history, "history", history)
    metrics = [m for m in ("loss", "accuracy") if m in curves]
    panels = [(metric, [(label, np.asarray(curves[prefix + metric]))
                        for prefix, label in (("", "training"), ("val_", "validation")) if prefix + metric in curves])
              for metric in metrics]
    figure = Figure("plot_history", [panels, title])
    if figure.replayed():
        return
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, (metric, lines) in zip(axes.flat, panels):
        for label, values in lines:
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    figure.show()


def confusion_matrix(true_labels, predicted_labels, number_classes):
    """counts[i, j]: how many examples of class i were predicted as class j."""
    counts = np.zeros((number_classes, number_classes), dtype=np.int64)
    np.add.at(counts, (np.ravel(true_labels).astype(int), np.ravel(predicted_labels).astype(int)), 1)
    return counts


def plot_confusion(true_labels, predicted_labels, class_names, title="Confusion matrix"):
    """Show the confusion matrix of a classifier, with the counts written in the cells
    (:func:`confusion_matrix` gives the counts themselves)."""
    import matplotlib.pyplot as plt

    # Never recorded (figures.py): a kernel may look up any figure it can describe, so a recorded
    # one would confirm a guess of what it draws, and a few counts of predictions can be guessed.
    counts = confusion_matrix(true_labels, predicted_labels, len(class_names))
    names = [str(c) for c in class_names]
    size = 0.45 * len(class_names) + 2
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(counts, cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, names, rotation=45, ha="right")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > counts.max() / 2 else "black")
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    plt.show()
