"""Choosing which images to label first, from what the GMVAE learned."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted


@validate_params(
    {
        "transformer": [HasMethods(["component_log_density", "predict_proba"])],
        "X": ["array-like"],
        "n_labels": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"representative", "uncertain"})],
    },
    prefer_skip_nested_validation=True,
)
def suggest_labels(transformer, X, n_labels, *, strategy="representative"):
    """Indices of the images a person should label first.

    Rule: components are visited in order of their mass on ``X`` (the mean of
    q(c|x)), largest first. In the first round each component contributes its
    most representative member: among the images whose most probable
    component it is, the one whose code is most typical of it (highest
    E_q(z|x)[log p(z|c)]); K labels name every component once. With a budget
    smaller than the number of components, the components are first grouped
    into ``n_labels`` groups of neighbours (k-means on their means in the
    latent space, weighted by mass) and only the largest component of each
    group is named, so that the labels spread over the whole latent space
    instead of the largest components, which often are several styles of one
    class. Later rounds depend on ``strategy``:

    - ``'representative'``: further rounds repeat the first, each component
      giving its next most representative member (components with fewer
      members run out first);
    - ``'uncertain'``: the remaining budget goes to the images whose
      posterior q(c|x) has the highest entropy, where a label resolves the
      most doubt.

    Parameters
    ----------
    transformer : fitted GMVAETransformer
        Read through ``predict_proba`` (q(c|x)), ``component_log_density``
        and ``component_means_``.
    X : array-like of shape (n_samples, n_features)
        The unlabeled pool to choose from (a memmap too: read by batches).
    n_labels : int
        How many images to suggest, at most ``n_samples``.
    strategy : {'representative', 'uncertain'}, default='representative'

    Returns
    -------
    ndarray of int, shape (n_labels,)
        Row indices into ``X``, in the order they should be labeled.
    """
    check_is_fitted(transformer)
    log_density = transformer.component_log_density(X)
    resp = transformer.predict_proba(X)
    n_samples = len(resp)
    if n_labels > n_samples:
        raise ValueError(f"n_labels must be at most the number of images, {n_samples}; got {n_labels}.")

    assigned = resp.argmax(axis=1)
    order = np.argsort(-resp.sum(axis=0), kind="stable")
    queues = _members_most_representative_first(assigned, log_density, order)

    mass = resp.sum(axis=0)[order]
    nonempty = [position for position, queue in enumerate(queues) if queue]
    if n_labels < len(nonempty):
        nonempty = _one_component_per_group(transformer, order, mass, nonempty, n_labels)
    chosen = [queues[position].pop(0) for position in nonempty[:n_labels]]
    if strategy == "uncertain":
        return _add_most_uncertain(chosen, resp, n_labels)
    while len(chosen) < n_labels:
        for queue in queues:
            if queue and len(chosen) < n_labels:
                chosen.append(queue.pop(0))
    return np.asarray(chosen, dtype=int)


def _add_most_uncertain(chosen, resp, n_labels):
    """``chosen`` followed by the other images of highest posterior entropy, ``n_labels`` in all."""
    entropy = -(resp * np.log(np.clip(resp, 1e-300, None))).sum(axis=1)
    taken = np.zeros(len(resp), dtype=bool)
    taken[chosen] = True
    extra = [index for index in np.argsort(-entropy, kind="stable") if not taken[index]]
    return np.asarray(list(chosen) + extra[:n_labels - len(chosen)], dtype=int)


def _members_most_representative_first(assigned, log_density, order):
    """For each component in ``order``, the images assigned to it, most typical (highest density) first."""
    queues = []
    for component in order:
        members = np.flatnonzero(assigned == component)
        queues.append(list(members[np.argsort(-log_density[members, component], kind="stable")]))
    return queues


def _one_component_per_group(transformer, order, mass, positions, n_groups):
    """Positions (into ``order``) of the largest component of each of ``n_groups`` groups of neighbours.

    Components are grouped by k-means on their latent means, weighted by
    their mass; the result keeps the mass order.
    """
    means = transformer.component_means_[order[positions]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct means than groups
        groups = KMeans(n_groups, n_init=3, random_state=0).fit_predict(means, sample_weight=mass[positions])
    largest = {}
    for position, group in zip(positions, groups):
        largest.setdefault(group, position)  # positions come in mass order, so the first is the largest
    chosen = set(largest.values())
    # Identical means can leave fewer distinct groups; the next largest components fill the budget.
    spare = [position for position in positions if position not in chosen]
    return sorted(chosen | set(spare[:n_groups - len(chosen)]))
