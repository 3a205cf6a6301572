"""Choosing which images to label next, from what the GMVAE learned."""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ._labels import split_labels

# n_neighbors='auto' of the coverage rule: a third of the images per label of the budget, between a floor and
# the largest neighbourhood measured (the neighbour arrays and each greedy pick grow with n_samples * n_neighbors).
AUTO_SHARE_OF_IMAGES_PER_LABEL, AUTO_MIN_NEIGHBORS, AUTO_MAX_NEIGHBORS = 1 / 3, 30, 300


@validate_params(
    {
        "transformer": [HasMethods(["component_log_density", "predict_proba", "transform"])],
        "X": ["array-like"],
        "n_labels": [Interval(Integral, 1, None, closed="left")],
        "y": ["array-like", None],
        "strategy": [StrOptions({"coverage", "representative", "uncertain"})],
        "n_neighbors": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "temperature": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def suggest_labels(transformer, X, n_labels, *, y=None, strategy="coverage", n_neighbors="auto",
                   temperature="auto"):
    """Indices of the images a person should label next.

    ``strategy='coverage'`` (the default) chooses the images whose codes
    best cover the others: greedily, the image that most raises
    ``sum over x of max over chosen s of k(x, s)``, where
    ``k(x, s) = exp((cos(z_x, z_s) - 1) / temperature)`` for the latent means
    ``z`` (a Gaussian kernel on the unit-length means), kept to each image's
    ``n_neighbors`` nearest codes. Each pick lands where many unlabeled
    images lie close together and far from every label already there, so a
    small budget is spread over the clusters of the data, one typical image
    each, and a larger one fills the gaps between them. Images labeled in
    ``y`` count as chosen already: the next round covers what they left out.

    ``'representative'`` and ``'uncertain'`` follow the GMVAE's components
    instead: each component's most typical member (components visited by
    mass, grouped by k-means on their means when the budget is smaller
    than their number), then, once every component is named, its next most
    typical one (``'representative'``) or the images of most uncertain q(c|x)
    (``'uncertain'``). The user guide compares the rules.

    Parameters
    ----------
    transformer : fitted GMVAETransformer
        Read through ``transform`` with ``output='latent'`` (the latent
        means), ``predict_proba`` (q(c|x)), ``component_log_density`` and
        ``component_means_``.
    X : array-like of shape (n_samples, n_features)
        The images to choose from (a memmap too: read by batches), the
        labeled ones included when ``y`` is given.
    n_labels : int
        How many images to suggest, at most the number of unlabeled ones.
    y : array-like of shape (n_samples,), default=None
        Labels in hand, -1 for an unlabeled image; only which images are
        labeled matters, not their labels. Labeled images are never
        suggested; with ``'coverage'`` the next picks go where they leave
        images uncovered, with the component-led rules to the components no
        labeled image belongs to first. None: no image is labeled yet.
    strategy : {'coverage', 'representative', 'uncertain'}, default='coverage'
        The rule, as described above.
    n_neighbors : 'auto' or int, default='auto'
        ``'coverage'``: an image counts as covered only by a label on one of
        its ``n_neighbors`` nearest codes (itself always among them); at most
        ``n_samples`` are used. ``'auto'``: a third of the images there are
        per label, ``n_samples / (3 * (n_in_hand + n_labels))`` for the
        ``n_in_hand`` images labeled in ``y``, from 30 to 300, so that a
        small budget looks at wide neighbourhoods and a large one at narrow
        ones (the record of variants holds the evidence). Memory and the
        time of each pick grow with ``n_samples * n_neighbors``.
    temperature : 'auto' or float, default='auto'
        ``'coverage'``: the kernel's width, in units of ``1 - cos`` between
        codes (``exp(-d**2 / (2 * temperature))`` for the distance ``d``
        between unit-length codes). ``'auto'``: twice the median ``1 - cos``
        between a code and its farthest kept neighbour, so that an image
        covers its typical neighbourhood at about ``exp(-1/2)`` whatever the
        spread of the codes.

    Returns
    -------
    ndarray of shape (n_labels,)
        Row indices (int) into ``X``, in the order they should be labeled.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skgmvae import GMVAETransformer, suggest_labels
    >>> X = load_digits().data / 16
    >>> gmvae = GMVAETransformer(k=10, max_epochs=2, random_state=0).fit(X)
    >>> first = suggest_labels(gmvae, X, 10)
    >>> y = np.full(len(X), -1)
    >>> y[first] = load_digits().target[first]
    >>> then = suggest_labels(gmvae, X, 10, y=y)
    >>> bool(np.isin(then, first).any())
    False
    """
    check_is_fitted(transformer)
    if y is None:
        labeled = np.zeros(len(X), dtype=bool)
    else:
        check_consistent_length(X, y)
        labeled, _ = split_labels(y, estimator_name="suggest_labels", allow_unlabeled=True)
    n_unlabeled = int((~labeled).sum())
    if n_labels > n_unlabeled:
        raise ValueError(f"n_labels must be at most the number of unlabeled images, {n_unlabeled}; got {n_labels}.")
    if strategy == "coverage":
        codes = copy.copy(transformer).set_params(output="latent").transform(X)
        return _greedy_coverage(normalize(codes), n_labels, labeled, n_neighbors, temperature)
    return _follow_components(transformer, X, n_labels, strategy, labeled)


def _greedy_coverage(codes, n_labels, labeled, n_neighbors, temperature):
    """Greedy facility location: each pick most raises the summed best kernel value of every row.

    The objective is monotone submodular, so the greedy order is within
    ``1 - 1/e`` of the best set of each size.
    """
    n_samples = len(codes)
    if n_neighbors == "auto":
        n_neighbors = _auto_n_neighbors(n_samples, int(labeled.sum()), n_labels)
    n_neighbors = min(n_neighbors, n_samples)
    distance, neighbor = NearestNeighbors(n_neighbors=n_neighbors).fit(codes).kneighbors(codes)
    neighbor = neighbor.astype(np.int32, copy=False)  # halves the largest index arrays on large pools
    # A chosen row covers itself fully, also where duplicates of its code crowd it out of its neighbours.
    itself = np.arange(n_samples, dtype=np.int32)
    crowded_out = ~(neighbor == itself[:, None]).any(axis=1)
    neighbor[crowded_out, -1], distance[crowded_out, -1] = itself[crowded_out], 0.0
    rows = np.repeat(itself, n_neighbors)
    if temperature == "auto":  # twice the median 1 - cos to the farthest neighbour kept (d**2 = 2 - 2 cos)
        temperature = max(float(np.median(distance[:, -1] ** 2)), np.finfo(float).eps)
    covers, weight = neighbor.ravel(), np.exp(-distance.ravel() ** 2 / (2 * temperature))
    by_cover = np.argsort(covers, kind="stable")
    starts = np.searchsorted(covers[by_cover], np.arange(n_samples + 1))

    covered = np.zeros(n_samples)
    taken = labeled.copy()

    def take(index):
        edges = by_cover[starts[index]:starts[index + 1]]
        np.maximum.at(covered, rows[edges], weight[edges])
        taken[index] = True

    for index in np.flatnonzero(labeled):
        take(index)
    chosen = []
    for _ in range(n_labels):
        gain = np.bincount(covers, weights=np.maximum(weight - covered[rows], 0.0), minlength=n_samples)
        gain[taken] = -np.inf
        best = int(np.argmax(gain))
        take(best)
        chosen.append(best)
    return np.asarray(chosen, dtype=int)


def _auto_n_neighbors(n_samples, n_labeled, n_labels):
    """``n_neighbors='auto'``: a third of the images per label of the whole budget, from 30 to 300."""
    images_per_label = n_samples / (n_labeled + n_labels)
    return round(min(AUTO_MAX_NEIGHBORS, max(AUTO_MIN_NEIGHBORS, AUTO_SHARE_OF_IMAGES_PER_LABEL * images_per_label)))


def _follow_components(transformer, X, n_labels, strategy, labeled):
    """The component-led rules: each component's most typical unlabeled member, then by ``strategy``."""
    log_density = transformer.component_log_density(X)
    resp = transformer.predict_proba(X)
    assigned = resp.argmax(axis=1)
    named = np.isin(np.arange(resp.shape[1]), assigned[labeled])  # components a label already names
    assigned = np.where(labeled, -1, assigned)  # a labeled image is in no component's queue
    mass = resp[~labeled].sum(axis=0)  # what is left to label
    order = np.lexsort((-mass, named))  # components no label names first, each part by mass
    queues = _members_most_representative_first(assigned, log_density, order)

    mass = mass[order]
    nonempty = [position for position, queue in enumerate(queues) if queue and not named[order[position]]]
    if n_labels < len(nonempty):
        nonempty = _one_component_per_group(transformer, order, mass, nonempty, n_labels)
    chosen = [queues[position].pop(0) for position in nonempty[:n_labels]]
    if strategy == "uncertain":
        return _add_most_uncertain(chosen, resp, n_labels, labeled)
    while len(chosen) < n_labels:
        for queue in queues:
            if queue and len(chosen) < n_labels:
                chosen.append(queue.pop(0))
    return np.asarray(chosen, dtype=int)


def _add_most_uncertain(chosen, resp, n_labels, labeled):
    """``chosen`` followed by the other unlabeled images of highest posterior entropy, ``n_labels`` in all."""
    entropy = -(resp * np.log(np.clip(resp, 1e-300, None))).sum(axis=1)
    taken = labeled.copy()
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
