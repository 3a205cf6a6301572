"""What the cluster view shows: the clusters in the order it visits them, and the grid of each."""

import numpy as np


def cluster_order(log_density, first_images=None):
    """The components in the order the cluster view visits them.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples, k)
        ``transformer.component_log_density(X)``; p(c) is uniform, so its
        softmax over components is q(c|x).
    first_images : array-like of int, optional
        Images in the order a selection rule would have them labeled
        (``suggest_labels``): the components they are most probable in come
        first, in that order.

    Returns
    -------
    ndarray of int
        The components that are the most probable one of at least one image:
        those of ``first_images`` first, then the others by their mass (the
        sum of q(c|x) over the images), largest first.
    """
    from scipy.special import softmax

    log_density = np.asarray(log_density)
    assigned = log_density.argmax(axis=1)
    mass = softmax(log_density, axis=1).sum(axis=0)
    present = np.bincount(assigned, minlength=log_density.shape[1]) > 0
    by_mass = np.argsort(-mass, kind="stable")
    led = [] if first_images is None else list(dict.fromkeys(assigned[np.asarray(first_images, dtype=int)].tolist()))
    rest = [component for component in by_mass[present[by_mass]] if component not in set(led)]
    return np.asarray(led + rest, dtype=int)


def cluster_grid(log_density, component, *, available=None, size=20):
    """The most typical images of one cluster: the grid the cluster view shows.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples, k)
        ``transformer.component_log_density(X)``.
    component : int
    available : ndarray of bool, shape (n_samples,), optional
        Images that may be shown (not labeled yet, not excluded from this
        cluster before); all when None.
    size : int, default=20

    Returns
    -------
    ndarray of int
        Up to ``size`` row indices: the available images whose most probable
        component is ``component``, highest ``log_density[:, component]``
        first.
    """
    log_density = np.asarray(log_density)
    members = np.flatnonzero(log_density.argmax(axis=1) == component)
    if available is not None:
        members = members[np.asarray(available, dtype=bool)[members]]
    return members[np.argsort(-log_density[members, component], kind="stable")][:size]


def next_cluster(log_density, order, position, available, excluded=(), *, size=20):
    """The grid the cluster view shows next: the first cluster from ``position`` on with images to show.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples, k)
        ``transformer.component_log_density(X)``.
    order : ndarray of int
        The components in visiting order (:func:`cluster_order`).
    position : int
        Where in ``order`` to start; the search wraps round to the start.
    available : ndarray of bool, shape (n_samples,)
        Images not labeled yet.
    excluded : collection of (int, int)
        ``(component, row)`` pairs: images the person took out of that
        cluster's grid, not shown for it again.
    size : int, default=20

    Returns
    -------
    tuple of (int, int, ndarray of int) or None
        ``(position, component, rows)`` of the grid (:func:`cluster_grid`),
        or None when no cluster has an image left to show.
    """
    available = np.asarray(available, dtype=bool)
    for step in range(len(order)):
        at = (position + step) % len(order)
        component = int(order[at])
        shown = available.copy()
        shown[[row for excluded_component, row in excluded if excluded_component == component]] = False
        rows = cluster_grid(log_density, component, available=shown, size=size)
        if len(rows):
            return at, component, rows
    return None
