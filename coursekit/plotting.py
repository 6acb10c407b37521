"""Small plotting helpers for looking at images and learning curves.

Each helper draws one figure and shows it (``plt.show()``), and returns nothing: a notebook cell
that ends with a call to one of them shows the figure once. (A figure returned after it has been
shown would be drawn a second time as the cell's result.)"""
import math

import numpy as np


def show_images(images, titles=None, ncols=6, size=2.0):
    """Show images of shape (m, height, width, 3), or grey (m, height, width[, 1]), in a grid,
    with an optional title each."""
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
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(images[index], cmap="gray" if images.ndim == 3 else None)
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize=9)
    fig.tight_layout()
    plt.show()


def plot_costs(curves, every=50, title="Cost during training"):
    """Plot one or more cost curves recorded every ``every`` iterations.

    ``curves`` is a list of costs, or a dict mapping a label to such a list.
    """
    import matplotlib.pyplot as plt

    if not isinstance(curves, dict):
        curves = {"cost": curves}
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, costs in curves.items():
        costs = np.ravel(np.asarray(costs, dtype=float))
        ax.plot(np.arange(len(costs)) * every, costs, label=str(label))
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost J")
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    fig.tight_layout()
    plt.show()


def plot_history(history, title="Training"):
    """Loss and accuracy per epoch from a Keras ``History`` (or its ``.history`` dict)."""
    import matplotlib.pyplot as plt

    curves = getattr(history, "history", history)
    metrics = [m for m in ("loss", "accuracy") if m in curves]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for prefix, label in (("", "training"), ("val_", "validation")):
            if prefix + metric in curves:
                values = curves[prefix + metric]
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def confusion_matrix(true_labels, predicted_labels, number_classes):
    """counts[i, j]: how many examples of class i were predicted as class j."""
    counts = np.zeros((number_classes, number_classes), dtype=np.int64)
    np.add.at(counts, (np.ravel(true_labels).astype(int), np.ravel(predicted_labels).astype(int)), 1)
    return counts


def plot_confusion(true_labels, predicted_labels, class_names, title="Confusion matrix"):
    """Show the confusion matrix of a classifier, with the counts written in the cells
    (:func:`confusion_matrix` gives the counts themselves)."""
    import matplotlib.pyplot as plt

    counts = confusion_matrix(true_labels, predicted_labels, len(class_names))
    size = 0.45 * len(class_names) + 2
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(counts, cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, [str(c) for c in class_names], rotation=45, ha="right")
    ax.set_yticks(ticks, [str(c) for c in class_names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > counts.max() / 2 else "black")
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    plt.show()
