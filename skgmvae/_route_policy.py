"""Which routes a search runs, what predicts when there are too few labels to search, and which route wins.

- **Which routes run.** A route whose feature block cannot be had on the
  data is left out with the reason, whether it came from ``'auto'``, a
  list or a dict: the UMAP block needs umap-learn and about ten rows per
  cluster of ``UMAPMixture()``; precomputed features have only the blocks
  given. ``'auto'`` also leaves label spreading out above
  :data:`MAX_SPREADING_ROWS` rows, for its cost; a route named in a list
  or a dict is run however many rows there are.
- **Too few labels.** With fewer than two classes of ``n_splits`` labeled
  rows, nothing is searched and one route predicts (:func:`fallback_route`).
- **The choice.** Routes come in order of preference; the first within
  one standard error of the best mean wins
  (:func:`first_within_one_standard_error`).
"""

import warnings

import numpy as np

from ._manifold import UMAPMixture
from ._routes import FEATURES, ROUTE_TEXT, builtin_routes

# UMAPMixture's default number of clusters wants about this many rows per cluster before 'auto' tries it.
UMAP_ROWS_PER_CLUSTER = 10
# Above this many rows, 'auto' leaves label spreading out: its neighbour graph, rebuilt for every fold, would
# cost more than the rest of the search together (on the development rows of Fashion-MNIST, 50,000 rows,
# searching it too made no detectable difference: benchmarks/VARIANTS.md, LabelSpreading above 20,000 rows).
MAX_SPREADING_ROWS = 20_000


def umap_block_unavailable(n_samples):
    """Why the UMAP block cannot be computed on ``n_samples`` rows, or None when it can."""
    n_clusters = UMAPMixture().k
    if n_samples < UMAP_ROWS_PER_CLUSTER * n_clusters:
        return f"{n_samples} rows, fewer than the {UMAP_ROWS_PER_CLUSTER * n_clusters} its {n_clusters} clusters need"
    if not _umap_installed():
        return "umap-learn is not installed (pip install 'skgmvae[umap]')"
    return None


def resolve_routes(routes):
    """The routes ``routes`` names, as ``{name: (features, estimator)}`` in order of preference, checked.

    Parameters
    ----------
    routes : 'auto', list of str or dict
        As ``RouteSearchCV(routes=...)``.
    """
    builtin = builtin_routes()
    if isinstance(routes, dict):
        candidates = dict(routes)
    elif isinstance(routes, str):  # 'auto', as the parameter constraints allow
        candidates = builtin
    else:
        unknown = [name for name in routes if name not in builtin]
        if unknown or not routes:
            raise ValueError(f"routes names routes among {sorted(builtin)}; got {routes!r}.")
        candidates = {name: builtin[name] for name in routes}
    for name, route in candidates.items():
        if not (isinstance(route, tuple) and len(route) == 2 and route[0] in FEATURES
                and hasattr(route[1], "fit") and hasattr(route[1], "predict")):
            raise ValueError(
                f"routes[{name!r}] must be a (features, estimator) pair with features one of {FEATURES} and "
                f"an estimator with fit and predict; got {route!r}."
            )
        if not isinstance(name, str) or not name or "__" in name:
            raise ValueError(f"Route names must be non-empty strings without '__' (it separates the route's "
                             f"name from its fit parameters' names); got {name!r}.")
    if not candidates:
        raise ValueError("routes is empty: give at least one route.")
    return candidates


def check_routes(routes, n_samples, missing_blocks):
    """The routes to compare and those left out, each with the reason.

    Parameters
    ----------
    routes : 'auto', list of str or dict
        As ``RouteSearchCV(routes=...)``.
    n_samples : int
    missing_blocks : dict of str to str
        Feature blocks that cannot be had on the data, with the reason.

    Returns
    -------
    runnable : dict of str to (str, estimator)
        In order of preference.
    skipped : dict of str to str
        Routes left out, with the reason.
    """
    candidates = resolve_routes(routes)
    skipped = {name: missing_blocks[block] for name, (block, _) in candidates.items() if block in missing_blocks}
    if routes == "auto" and n_samples > MAX_SPREADING_ROWS:
        skipped["label-spreading"] = (f"{n_samples} rows, more than {MAX_SPREADING_ROWS}: its neighbour graph, "
                                      "rebuilt for every fold, would cost more than the search")
    runnable = {name: route for name, route in candidates.items() if name not in skipped}
    reasons = "; ".join(f"{name!r} ({why})" for name, why in skipped.items())
    if not runnable:
        raise ValueError(f"No route can run on this data: {reasons}. Give routes that read features it has.")
    if skipped and routes != "auto":
        warnings.warn(f"RouteSearchCV leaves out routes that cannot run on this data: {reasons}.", UserWarning,
                      stacklevel=4)
    return runnable, skipped


def fallback_route(runnable, missing_blocks):
    """The route that predicts when there are too few labels to search, as ``(name, (features, estimator))``.

    'umap-soft' when it can run, whatever its place in the order of preference: with one label per class
    it was ahead of soft decoding of q(c|x) by 3.9 ± 1.2 points on the development rows of letters
    (benchmarks/VARIANTS.md, the fallback). Else 'soft', as given in the routes or the built-in one, even
    when the routes leave it out; without q(c|x) (precomputed features without a posterior block), the
    first route that can run.
    """
    if "umap-soft" in runnable:
        return "umap-soft", runnable["umap-soft"]
    if "soft" in runnable:
        return "soft", runnable["soft"]
    if "posterior" in missing_blocks:
        name = next(iter(runnable))  # no q(c|x): the first route that can run, in the order of preference
        return name, runnable[name]
    return "soft", builtin_routes()["soft"]


def fallback_reason(counts, n_splits, route, *, named_by_user):
    """Why no search is made (the message of the warning), or None when there are labels enough to search.

    Parameters
    ----------
    counts : ndarray of shape (n_classes,)
        Labeled rows of each class.
    n_splits : int
    route : str
        The route that predicts instead (see :func:`fallback_route`).
    named_by_user : bool
        Whether the route's name is the user's own (a dict of routes): it is then named as it is.
    """
    enough = int((counts >= n_splits).sum())
    if enough >= 2:
        return None
    described = route if named_by_user or route not in ROUTE_TEXT else f"{ROUTE_TEXT[route]} ({route!r})"
    return (
        f"RouteSearchCV needs at least two classes with {n_splits} labeled rows each (one per fold) to compare "
        f"routes, but {len(counts)} classes are labeled and {enough} of them have that many (the most "
        f"frequent has {int(counts.max())}). Predicting with {described}, without a search. Label more "
        "rows, or lower cv."
    )


def first_within_one_standard_error(cv_results):
    """Index of the first route whose mean score is within one standard error of the best mean.

    Routes come in order of preference, so a route has to beat the earlier
    ones by more than the noise of the folds to be chosen. Used as
    ``GridSearchCV(refit=...)``.
    """
    means = np.asarray(cv_results["mean_test_score"], dtype=np.float64)
    scored = np.isfinite(means)
    if not scored.any():
        return 0
    means = np.where(scored, means, -np.inf)
    best = int(np.argmax(means))
    n_splits = sum(key.startswith("split") and key.endswith("_test_score") for key in cv_results)
    margin = float(cv_results["std_test_score"][best]) / np.sqrt(max(n_splits, 1))
    return int(np.flatnonzero(means >= means[best] - margin)[0])


def _umap_installed():
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True
