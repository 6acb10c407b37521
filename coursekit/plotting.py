"""Small plotting helpers for looking at images and learning curves."""
import math

import numpy as np


def show_images(images, titles=None, ncols=6, size=2.0):
    """Show images of shape (m, height, width, 3) in a grid, with an optional title each."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    count = len(images)
    if count == 0:
        print("No images to show.")
        return None
    ncols = max(1, min(ncols, count))
    nrows = math.ceil(count / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(images[index])
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize=9)
    fig.tight_layout()
    plt.show()
    return fig


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
    return fig
