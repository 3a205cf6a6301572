"""Figures: accuracy against the number of labels, image grids and the course of training."""

import numpy as np

# More methods than this and the legend of plot_label_efficiency goes beside the axes.
_MAX_LEGEND_INSIDE = 6


def plot_label_efficiency(summary, ax=None, split="rest", title=None):
    """Accuracy against the number of labels (log x axis), one line per method, with confidence bands.

    Parameters
    ----------
    summary : list of dict
        Output of :func:`skgmvae.evaluation.summarize`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    split : str, default='rest'
        Which split of the summary to draw.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    rows = [row for row in summary if row["split"] == split]
    for method in dict.fromkeys(row["method"] for row in rows):
        points = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n_labels"])
        counts = [r["n_labels"] for r in points]
        mean = 100 * np.array([r["mean"] for r in points])
        half_width = 100 * np.array([r["ci"] for r in points])
        ours = method.startswith("GMVAE")  # drawn thicker and on top, so that no other line hides them
        (line,) = ax.plot(counts, mean, marker="o", label=method, linewidth=2.5 if ours else 1.5,
                          zorder=3 if ours else 2)
        low, high = np.clip(mean - half_width, 0, 100), np.clip(mean + half_width, 0, 100)
        ax.fill_between(counts, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    counts = sorted({row["n_labels"] for row in rows})
    ax.set_xticks(counts, [str(count) for count in counts])
    ax.minorticks_off()
    ax.set_xlabel("number of labeled images (drawn at random)")
    ax.set_ylabel("accuracy (%)")
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if len(ax.get_lines()) > _MAX_LEGEND_INSIDE:
        # Beside the axes: inside, a long legend hides the curves of the lower right.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    else:
        ax.legend()
    return ax


def plot_image_grid(images, image_shape, ax=None, n_columns=None, title=None):
    """Tile images (one per row of ``images``) into one grey picture.

    Parameters
    ----------
    images : ndarray of shape (n_images, height * width)
        Values in [0, 1].
    image_shape : tuple of int
        (height, width).
    ax : matplotlib Axes, optional
    n_columns : int, optional
        Images per row of the grid; about square by default.
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images).reshape(-1, *image_shape)
    n_columns = n_columns or int(np.ceil(np.sqrt(len(images))))
    n_rows = int(np.ceil(len(images) / n_columns))
    height, width = image_shape
    canvas = np.ones((n_rows * (height + 1) + 1, n_columns * (width + 1) + 1))
    for index, image in enumerate(images):
        row, column = divmod(index, n_columns)
        canvas[1 + row * (height + 1):1 + row * (height + 1) + height,
               1 + column * (width + 1):1 + column * (width + 1) + width] = 1.0 - image
    if ax is None:
        _, ax = plt.subplots()
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_training_history(transformer, ax=None):
    """ELBO and components in use after each epoch of a fitted GMVAETransformer.

    The ELBO (per image) is drawn on the left axis; the components in
    effective use on the right axis, with a mark at every epoch after which
    unused components were moved back onto the data (see
    ``min_component_usage``).

    Parameters
    ----------
    transformer : fitted GMVAETransformer
    ax : matplotlib Axes, optional
        Where to draw the ELBO; a new figure when omitted.

    Returns
    -------
    ax, ax_components : matplotlib Axes
        The ELBO axis and the twin axis of the components in use.
    """
    import matplotlib.pyplot as plt

    history = transformer.history_
    if not history:
        raise ValueError("history_ is empty: fit the transformer with max_epochs >= 1 first.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    epochs = np.array([entry["epoch"] for entry in history])
    ax.plot(epochs, [entry["elbo"] for entry in history], color="tab:blue")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO per image", color="tab:blue")
    ax_components = ax.twinx()
    used = np.array([entry.get("components_used", np.nan) for entry in history])
    moved = np.array([entry.get("components_moved", 0) for entry in history])
    ax_components.plot(epochs, used, color="tab:orange")
    revived = moved > 0
    ax_components.scatter(epochs[revived], used[revived], marker="v", color="tab:red", zorder=3,
                          label="components moved after this epoch")
    ax_components.set_ylim(0, transformer.spec_.k * 1.05)
    ax_components.set_ylabel(f"components in use (of {transformer.spec_.k})", color="tab:orange")
    if revived.any():
        ax_components.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return ax, ax_components


def _figure(figsize):
    """A figure drawn off-screen, with no pyplot state and no backend switch (safe in library code)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="tight")


def save_label_efficiency_figure(summary, path, title, split="rest"):
    """Save :func:`plot_label_efficiency` of ``summary`` to an image file.

    Parameters
    ----------
    summary : list of dict
        Output of :func:`skgmvae.evaluation.summarize`.
    path : str or path-like
    title : str
    split : str, default='rest'
    """
    fig = _figure((9.5, 4.5))
    plot_label_efficiency(summary, ax=fig.subplots(), split=split, title=title)
    fig.savefig(path, dpi=120)


def save_training_figure(transformer, path, title):
    """Save :func:`plot_training_history` of a fitted transformer to an image file.

    Parameters
    ----------
    transformer : fitted GMVAETransformer
    path : str or path-like
    title : str
    """
    fig = _figure((7, 3.5))
    ax, _ = plot_training_history(transformer, ax=fig.subplots())
    ax.set_title(title)
    fig.savefig(path, dpi=100)
