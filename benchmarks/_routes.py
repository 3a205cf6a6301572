"""The cross-validated route of the benchmark: a route chosen on each draw's labeled rows alone.

:class:`skgmvae.RouteSearchCV` takes images: each ``fit`` encodes them and fits a :class:`UMAPMixture` on
their codes before it cross-validates the routes. The benchmark encodes each model's candidates once and
runs many draws on them, so it runs the search's own steps on precomputed features: the same routes
(``'auto'``, with the same skips), the same folds (:class:`skgmvae.PartiallyLabeledKFold` seeded as
``RouteSearchCV(random_state=<draw seed>)`` seeds it), the same fallback with too few labels
(UMAPMixture's soft decoding where the route search has it, else soft decoding), the same scorer and
the same choice (the first route within one standard error of the best), as a
:class:`~sklearn.model_selection.GridSearchCV` over the route step on the feature matrix, as ``fit`` does.
Two things differ from a ``RouteSearchCV.fit`` per draw: the UMAP mixture is the model's one
(``UMAPMixture(k, random_state=0)`` fitted once on the candidates' codes) rather than one seeded by each
draw, and LabelSpreading reuses the k-nearest-neighbour graph of a feature matrix it has seen (the same
graph, hence the same result, built once).
"""

import hashlib
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.semi_supervised import LabelSpreading
from sklearn.utils import check_random_state

from skgmvae import GMVAETransformer, PartiallyLabeledKFold, RouteSearchCV, labeled_accuracy_scorer
from skgmvae._selection import _FeatureRoute, _first_within_one_standard_error
from skgmvae.evaluation import draw_labeled_rows, semi_supervised_dtype

CV_ROUTE = "cross-validated route"
# The benchmark's features by the names the route search gives its feature blocks.
ROUTE_FEATURES = {"posterior": "posterior", "latent": "latent", "umap": "umap-posterior"}

_GRAPHS = {}


class GraphCachedLabelSpreading(LabelSpreading):
    """LabelSpreading that builds the graph of a feature matrix once and reuses it on later fits.

    The graph depends only on the rows and the kernel's settings, not on the labels; refits on the same
    rows with other labels (the draws of a benchmark) then skip the neighbour search, with the result of
    :class:`LabelSpreading`.
    """

    def _build_graph(self):
        key = (hashlib.sha1(np.ascontiguousarray(self.X_).view(np.uint8)).hexdigest(), self.X_.shape,
               self.kernel, self.n_neighbors, self.gamma)
        if key not in _GRAPHS:
            if len(_GRAPHS) >= 8:
                _GRAPHS.clear()
            _GRAPHS[key] = (super()._build_graph(), self.nn_fit)
        graph, self.nn_fit = _GRAPHS[key]  # predict reads the neighbours of the fitted rows
        return graph.copy()


def _with_cached_graphs(estimator, n_jobs):
    if type(estimator) is LabelSpreading:
        return GraphCachedLabelSpreading(**{**estimator.get_params(), "n_jobs": n_jobs})
    return estimator


def route_matrix(features):
    """The route search's feature matrix from the benchmark's features, and the columns of each block.

    Parameters
    ----------
    features : dict of str to ndarray
        With ``'posterior'``, ``'latent'`` (unit-length codes) and ``'umap-posterior'``.

    Returns
    -------
    F : ndarray of shape (n_rows, n_columns)
    blocks : dict of str to slice
        Columns of the blocks ``'posterior'``, ``'latent'`` and ``'umap'``, as the route search names them.
    """
    parts = [np.asarray(features[ROUTE_FEATURES[name]], dtype=np.float64) for name in ROUTE_FEATURES]
    edges = np.cumsum([0] + [part.shape[1] for part in parts])
    blocks = {name: slice(int(start), int(stop)) for name, start, stop in zip(ROUTE_FEATURES, edges[:-1], edges[1:])}
    return np.hstack(parts), blocks


def search_routes(F, blocks, y_semi, *, routes="auto", cv=5, random_state=0, n_jobs=None):
    """The route :class:`RouteSearchCV` would pick on these features and labels, fitted on every row.

    Parameters
    ----------
    F : ndarray of shape (n_rows, n_columns)
        Output of :func:`route_matrix` on the label candidates.
    blocks : dict of str to slice
    y_semi : ndarray of shape (n_rows,)
        Labels, -1 on the unlabeled rows.
    routes : 'auto' or list of str, default='auto'
        As ``RouteSearchCV(routes=...)``: a list names routes in order of preference.
    cv : int, default=5
    random_state : int, default=0
        As ``RouteSearchCV(random_state=...)``: seeds the folds.
    n_jobs : int or None, default=None
        Threads of LabelSpreading's neighbour search.

    Returns
    -------
    route : estimator
        The chosen route, fitted on every row; ``predict`` takes rows of ``F``.
    info : dict
        ``chosen_route``, ``cv_score`` and ``cv_score_std`` (NaN after a fallback) and ``fallback``
        (whether the search fell back to its fallback route for lack of labels).
    """
    rules = RouteSearchCV(GMVAETransformer(), routes=routes, cv=cv, random_state=random_state)
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    splitter = PartiallyLabeledKFold(cv, random_state=seed)
    classes, counts = np.unique(y_semi[y_semi != -1], return_counts=True)
    routes, _, fallback = rules._routes_to_run(len(y_semi), classes, counts, cv)
    candidates = [_FeatureRoute(_with_cached_graphs(estimator, n_jobs), columns=blocks[block], name=name)
                  for name, (block, estimator) in routes.items()]
    if fallback is not None:
        route = candidates[0].fit(F, y_semi)
        return route, {"chosen_route": route.name, "cv_score": np.nan, "cv_score_std": np.nan, "fallback": True}
    with warnings.catch_warnings():
        # Classes with fewer labeled rows than folds: the splitter says they are never scored.
        warnings.simplefilter("ignore", UserWarning)
        search = GridSearchCV(Pipeline([("route", candidates[0])]), {"route": candidates},
                              scoring=labeled_accuracy_scorer, cv=splitter,
                              refit=_first_within_one_standard_error).fit(F, y_semi)
    index = search.best_index_
    return search.best_estimator_, {"chosen_route": candidates[index].name,
                                    "cv_score": float(search.cv_results_["mean_test_score"][index]),
                                    "cv_score_std": float(search.cv_results_["std_test_score"][index]),
                                    "fallback": False}


def cross_validated_route_records(features, y, counts, n_seeds, *, test_features=None, y_test=None,
                                  random_state=0, cv=5, n_jobs=None, routes="auto"):
    """The ``cross-validated route`` row: on each draw, the route the search picks on the labeled rows alone.

    Parameters
    ----------
    features : dict of str to ndarray
        The benchmark's features on the label candidates (see :func:`route_matrix`).
    y : ndarray of shape (n_rows,)
        The candidates' labels.
    counts : sequence of int
    n_seeds : int
        Draws per count; draw ``s`` is ``draw_labeled_rows(n_rows, n_labels, random_state + s)``, as in
        :func:`skgmvae.evaluation.label_efficiency`, and its search is seeded ``random_state + s``.
    test_features : dict of str to ndarray, optional
        The same features on held-out rows.
    y_test : ndarray, optional
    random_state : int, default=0
    cv : int, default=5
    n_jobs : int or None, default=None
    routes : 'auto' or list of str, default='auto'
        The routes searched, as ``RouteSearchCV(routes=...)``.

    Returns
    -------
    list of dict
        Records as :func:`skgmvae.evaluation.label_efficiency` writes them (``split`` 'rest' or 'test'),
        with ``method`` :data:`CV_ROUTE`, ``chosen_route``, ``cv_score``, ``cv_score_std`` and ``fallback``.
    """
    y = np.asarray(y)
    F, blocks = route_matrix(features)
    F_test = None if test_features is None else route_matrix(test_features)[0]
    records = []
    for n_labels in counts:
        for seed in range(n_seeds):
            labeled = draw_labeled_rows(len(y), n_labels, random_state + seed)
            rest = np.setdiff1d(np.arange(len(y)), labeled)
            y_semi = np.full(len(y), -1, dtype=semi_supervised_dtype(y.dtype))
            y_semi[labeled] = y[labeled]
            route, info = search_routes(F, blocks, y_semi, routes=routes, cv=cv, random_state=random_state + seed,
                                        n_jobs=n_jobs)
            base = {"method": CV_ROUTE, "n_labels": n_labels, "seed": seed}
            with np.errstate(invalid="ignore", divide="ignore"):
                records.append({**base, "split": "rest", "accuracy": float(np.mean(route.predict(F[rest]) == y[rest])),
                                **info})
                if F_test is not None:
                    records.append({**base, "split": "test",
                                    "accuracy": float(np.mean(route.predict(F_test) == y_test)), **info})
    return records
