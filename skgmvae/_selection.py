"""Choosing the route from a fitted GMVAE to labels by cross-validation on the user's own labels.

A route is what turns the GMVAE's features into classes with the help of a
few labels: soft or hard decoding of q(c|x), soft decoding of the clusters a
:class:`UMAPMixture` finds in the unit-length latent codes, label spreading or
an SVC on those codes. Which one wins depends on the data and on the number
of labels, so :class:`RouteSearchCV` measures them on the labels at hand.

Only the routes use labels, so only they are cross-validated: the GMVAE (and
the UMAP mixture, unsupervised too) is fitted once on every row, the features
are computed once, and a :class:`~sklearn.model_selection.GridSearchCV` over
the route step runs on that feature matrix with
:class:`PartiallyLabeledKFold`, which keeps every unlabeled row in every
training fold.
"""

import copy
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, TransformerMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import BaseCrossValidator, GridSearchCV, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import normalize
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data

from ._decoder import ClusterLabelDecoder
from ._labeled import LabeledAccuracyMixin, LabeledOnlyClassifier, labeled_accuracy_scorer
from ._labels import encode_labels
from ._manifold import UMAPMixture
from ._transformer import GMVAETransformer

FEATURES = ("posterior", "latent", "umap")
# UMAPMixture's default number of clusters wants about this many rows per cluster before 'auto' tries it.
_UMAP_ROWS_PER_CLUSTER = 10
# Above this many rows, 'auto' leaves label spreading out: its neighbour graph, rebuilt for every fold, would
# cost more than the rest of the search together (on the development rows of Fashion-MNIST, 50,000 rows,
# searching it too made no detectable difference: benchmarks/VARIANTS.md, LabelSpreading above 20,000 rows).
_MAX_SPREADING_ROWS = 20_000


class PartiallyLabeledKFold(BaseCrossValidator):
    """K-fold cross-validation over the labeled rows; unlabeled rows always train.

    The rows whose label is not -1 (nor ``"-1"``) are split into
    ``n_splits`` folds stratified by class, as
    :class:`~sklearn.model_selection.StratifiedKFold` would split them. Every
    unlabeled row is in every training fold and in no test fold, so a
    semi-supervised estimator sees all the unlabeled data in each fit and is
    scored on labeled rows only.

    Rows of a class with fewer than ``n_splits`` labeled rows cannot be
    spread over the test folds: they are in every training fold and in no
    test fold (a warning names those classes), so such a class is learned in
    every fold but never scored.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; at least 2.
    shuffle : bool, default=True
        Shuffle each class's labeled rows before splitting them into folds.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle; only used with ``shuffle=True``.

    See Also
    --------
    RouteSearchCV : Uses this splitter to choose a route from the GMVAE to labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmvae import PartiallyLabeledKFold
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> for train, test in PartiallyLabeledKFold(n_splits=2, random_state=0).split(np.zeros((6, 1)), y):
    ...     print(train, test)
    [0 3 4 5] [1 2]
    [1 2 4 5] [0 3]
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        if not isinstance(n_splits, Integral) or isinstance(n_splits, bool) or n_splits < 2:
            raise ValueError(f"PartiallyLabeledKFold needs an int n_splits of at least 2, got {n_splits!r}.")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y, groups=None):
        """Indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Only its number of rows is used.
        y : array-like of shape (n_samples,)
            Labels; -1 or ``"-1"`` marks an unlabeled row.
        groups : None
            Ignored.

        Yields
        ------
        train : ndarray of int
            Every unlabeled row and the labeled rows outside the test fold.
        test : ndarray of int
            The fold's labeled rows.
        """
        if y is None:
            raise ValueError("PartiallyLabeledKFold.split needs y, with -1 marking the unlabeled rows.")
        return super().split(X, y, groups)

    def _iter_test_indices(self, X, y, groups=None):
        mask, classes, codes = encode_labels(y, estimator_name=type(self).__name__)
        counts = np.bincount(codes, minlength=len(classes))
        testable = counts[codes] >= self.n_splits
        if not testable.any():
            raise ValueError(
                f"PartiallyLabeledKFold(n_splits={self.n_splits}) needs a class with at least {self.n_splits} "
                f"labeled rows to make its test folds, but the most frequent class has {counts.max()}. "
                "Label more rows or lower n_splits."
            )
        rare = classes[counts < self.n_splits]
        if rare.size:
            warnings.warn(
                f"{rare.size} classes have fewer than n_splits={self.n_splits} labeled rows and are never scored "
                f"(their rows are in every training fold): {', '.join(map(str, rare[:10]))}"
                f"{', ...' if rare.size > 10 else ''}.",
                UserWarning,
                stacklevel=3,
            )
        rows = np.flatnonzero(mask)[testable]
        splitter = StratifiedKFold(self.n_splits, shuffle=self.shuffle,
                                   random_state=self.random_state if self.shuffle else None)
        for _, test in splitter.split(np.zeros((len(rows), 1)), codes[testable]):
            yield rows[test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        int
        """
        return self.n_splits


class _RouteFeatures(TransformerMixin, BaseEstimator):
    """``[q(c|x) | latent means]`` -> ``[q(c|x) | unit-length latent means | UMAPMixture posterior]``.

    The UMAP block is there only when ``umap`` is given; ``blocks_`` maps
    each name of ``FEATURES`` present to its columns.
    """

    def __init__(self, k, *, umap=None):
        self.k = k
        self.umap = umap

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        if X.shape[1] <= self.k:
            raise ValueError(f"Expected q(c|x) over k={self.k} components beside latent means, got "
                             f"{X.shape[1]} columns.")
        self.umap_ = None if self.umap is None else clone(self.umap)
        blocks = self._blocks(X, fit=True)
        widths = np.cumsum([0] + [block.shape[1] for block in blocks])
        self.blocks_ = {name: slice(int(start), int(stop))
                        for name, start, stop in zip(FEATURES, widths[:-1], widths[1:])}
        return np.hstack(blocks)

    def transform(self, X):
        check_is_fitted(self, "blocks_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.hstack(self._blocks(X, fit=False))

    def _blocks(self, X, fit):
        """q(c|x), the unit-length latent means and, with a UMAP mixture, its posterior of those codes."""
        unit = normalize(X[:, self.k:])
        blocks = [X[:, :self.k], unit]
        if self.umap_ is not None:
            blocks.append(self.umap_.fit_transform(unit) if fit else self.umap_.transform(unit))
        return blocks


def _route_has(attribute):
    return lambda self: hasattr(self.estimator, attribute)


class _FeatureRoute(ClassifierMixin, BaseEstimator):
    """One route: ``estimator`` on ``columns`` of the feature matrix, with the classes coded 0..n-1.

    The estimator sees the labels as indices (and -1 for unlabeled rows), so
    routes that need numeric labels (LabelSpreading) accept strings too;
    predictions come back in the user's labels.
    """

    def __init__(self, estimator, *, columns, name=None):
        self.estimator = estimator
        self.columns = columns
        self.name = name

    def fit(self, X, y):
        X = validate_data(self, X, dtype=np.float64)
        mask, self.classes_, codes = encode_labels(y, estimator_name=self.name or type(self).__name__)
        y_codes = np.full(len(mask), -1, dtype=np.intp)
        y_codes[mask] = codes
        self.estimator_ = clone(self.estimator).fit(X[:, self.columns], y_codes)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.classes_[np.asarray(self.estimator_.predict(X[:, self.columns])).astype(np.intp)]

    @available_if(_route_has("predict_proba"))
    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.estimator_.predict_proba(X[:, self.columns])


def _auto_routes():
    return {
        "umap-soft": ("umap", ClusterLabelDecoder(mode="soft")),
        "soft": ("posterior", ClusterLabelDecoder(mode="soft")),
        "hard": ("posterior", ClusterLabelDecoder(mode="hard")),
        "label-spreading": ("latent", LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100)),
        "svc": ("latent", LabeledOnlyClassifier(SVC(C=10))),
    }


# What the built-in routes are, in words, for messages.
_ROUTE_TEXT = {"soft": "soft decoding of the GMVAE clusters",
               "umap-soft": "soft decoding of UMAPMixture's clusters of the codes"}


def _umap_route_unusable(n_samples):
    """Why the 'umap-soft' route cannot run on ``n_samples`` rows, or None when it can."""
    n_clusters = UMAPMixture().k
    if n_samples < _UMAP_ROWS_PER_CLUSTER * n_clusters:
        return f"{n_samples} rows, fewer than the {_UMAP_ROWS_PER_CLUSTER * n_clusters} its {n_clusters} clusters need"
    if not _umap_installed():
        return "umap-learn is not installed (pip install 'skgmvae[umap]')"
    return None


def _fallback_route(routes, n_samples):
    """The route that predicts when there are too few labels to search, as ``(name, (features, estimator))``.

    'umap-soft' when it is among ``routes`` and can run on ``n_samples`` rows, whatever its place in the
    order of preference: with one label per class it was ahead of soft decoding of q(c|x) by 3.9 ± 1.2
    points on the development rows of letters (benchmarks/VARIANTS.md, the fallback). Else 'soft', as
    given in ``routes`` or the built-in one.
    """
    if "umap-soft" in routes and _umap_route_unusable(n_samples) is None:
        return "umap-soft", routes["umap-soft"]
    return "soft", routes.get("soft", _auto_routes()["soft"])


def _first_within_one_standard_error(cv_results):
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


class RouteSearchCV(LabeledAccuracyMixin, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Chooses, by cross-validation on the labeled rows, the route from a GMVAE to labels.

    ``fit`` fits the GMVAE once on every row without labels (or uses it as
    it is when it is fitted already), computes the features once, then
    cross-validates the routes, the only steps that use labels, with a
    :class:`~sklearn.model_selection.GridSearchCV` on those features. The
    chosen route, refitted on every row, ends :attr:`best_estimator_`, a
    Pipeline that takes raw images.

    The features are q(c|x) and the latent means (``output='both'``), the
    latent means scaled to unit length, and, when a route reads them, the
    posterior of a :class:`UMAPMixture` fitted once on the unit-length codes.

    **Choice.** Routes come in order of preference; the chosen one is the
    first whose mean score is within one standard error of the best mean
    (the best route's fold standard deviation over the square root of the
    number of folds), so the first route of ``'auto'`` (soft decoding of
    UMAPMixture's clusters where it can run, else soft decoding of q(c|x))
    stays unless another route beats it by more than the noise of the folds.
    The choice is deterministic for a fixed ``random_state``.

    **Too few labels.** When fewer than two classes have ``n_splits`` labeled
    rows each, no search is made: a warning says so, ``fallback_`` holds the
    message and the model predicts with the 'umap-soft' route (soft decoding
    of the UMAP mixture's clusters, which fits the mixture on every row)
    when it is among the routes and can run (umap-learn installed, ten rows
    per UMAP cluster), else with soft decoding of q(c|x) ('soft', even when
    ``routes`` leaves it out). Classes with fewer
    labeled rows than folds (but at least two classes with enough) are
    trained on in every fold and never scored (see
    :class:`PartiallyLabeledKFold`).

    Parameters
    ----------
    transformer : GMVAETransformer or FrozenEstimator of one
        Used frozen (a copy with ``output='both'``) when fitted already,
        else a clone is fitted on ``X`` without labels. ``clone`` unfits a
        GMVAETransformer, so in a cross-validation of the search itself wrap
        a fitted one in :class:`~sklearn.frozen.FrozenEstimator` to keep it.
    routes : 'auto', list of str or dict, default='auto'
        Routes to compare, in order of preference. 'auto' is, in order,
        ``'umap-soft'`` (soft decoding of ``UMAPMixture()`` clusters of the
        unit-length codes; only when umap-learn is installed and there are
        at least ten rows per UMAP cluster, else it is skipped and
        ``skipped_routes_`` says why), ``'soft'`` and ``'hard'``
        (:class:`ClusterLabelDecoder` on q(c|x)), ``'label-spreading'``
        (``LabelSpreading(kernel='knn', n_neighbors=10)`` on the
        unit-length codes; up to 20,000 rows, its graph being rebuilt for
        every fold) and ``'svc'`` (``SVC(C=10)`` through
        :class:`LabeledOnlyClassifier`, on the same codes). A list picks
        some of these names. A dict maps a name to ``(features, estimator)``
        with ``features`` one of ``'posterior'``, ``'latent'`` (unit-length
        latent means) or ``'umap'``, and ``estimator`` a classifier that
        takes -1 for unlabeled rows.
    cv : int, cross-validation splitter, iterable or None, default=5
        An int (None: 5) is the number of folds of a shuffled
        :class:`PartiallyLabeledKFold`; a splitter should keep the
        unlabeled rows out of the test folds as that one does.
    scoring : callable or None, default=None
        ``scorer(estimator, X, y)``; None is
        :func:`labeled_accuracy_scorer`.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the UMAP mixture (not the GMVAE, which keeps its
        own ``random_state``).
    n_jobs : int or None, default=None
        Parallel fits of the search, as in GridSearchCV.
    verbose : int, default=0
        Passed to GridSearchCV; from 1 on, a line per route is also printed.

    Attributes
    ----------
    best_route_ : str
        Name of the chosen route (the fallback route, 'umap-soft' or 'soft',
        when there were too few labels to search).
    best_estimator_ : sklearn.pipeline.Pipeline
        Steps ``'transformer'`` (the frozen GMVAE, ``output='both'``),
        ``'features'`` (the frozen feature step) and ``'route'`` (the chosen
        route fitted on every row). Takes raw images.
    best_score_ : float
        Mean cross-validated score of the chosen route (NaN after a
        fallback).
    best_score_std_ : float
        Standard deviation of its fold scores (NaN after a fallback).
    cv_results_ : dict or None
        The GridSearchCV's ``cv_results_`` (None after a fallback); candidate
        ``i`` is the ``i``-th route of ``route_scores_``.
    route_scores_ : dict of str to ndarray of shape (n_splits,)
        Fold scores of each route searched, in order of preference.
    skipped_routes_ : dict of str to str
        Routes of ``'auto'`` left out, with the reason (also after a
        fallback, where it says why 'umap-soft' did not predict).
    fallback_ : str or None
        Why no search was made, or None when one was.
    transformer_ : GMVAETransformer
        The fitted GMVAE (with ``output='both'``).
    classes_ : ndarray of shape (n_classes,)
        Labels of the labeled rows, sorted.
    n_features_in_ : int
        Number of pixels seen in fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    PartiallyLabeledKFold : The splitter used by default.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skgmvae import GMVAETransformer, RouteSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> y_partial = np.where(np.arange(len(y)) < 200, y, -1)  # 200 labeled rows
    >>> gmvae = GMVAETransformer(k=10, max_epochs=2, pretrain_epochs=1, random_state=0)
    >>> search = RouteSearchCV(gmvae, routes=["soft", "hard", "svc"], random_state=0).fit(X, y_partial)
    >>> list(search.route_scores_)
    ['soft', 'hard', 'svc']
    >>> search.best_route_ in search.route_scores_, search.fallback_
    (True, None)
    >>> search.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "transformer": [GMVAETransformer, FrozenEstimator],
        "routes": [StrOptions({"auto"}), list, dict],
        "cv": ["cv_object"],
        "scoring": [callable, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": [Interval(Integral, 0, None, closed="left"), "boolean"],
    }

    def __init__(self, transformer, routes="auto", *, cv=5, scoring=None, random_state=None, n_jobs=None, verbose=0):
        self.transformer = transformer
        self.routes = routes
        self.cv = cv
        self.scoring = scoring
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _fitted_transformer(self, X):
        transformer = self.transformer
        if isinstance(transformer, FrozenEstimator):  # fitted, and kept so through clone
            transformer = transformer.estimator
        try:
            check_is_fitted(transformer)
        except NotFittedError:
            return clone(transformer).set_params(output="both").fit(X)
        return copy.deepcopy(transformer).set_params(output="both")

    def _check_routes(self, n_samples):
        auto = _auto_routes()
        skipped = {}
        if isinstance(self.routes, dict):
            routes = dict(self.routes)
        elif self.routes == "auto":
            routes = auto
            if (reason := _umap_route_unusable(n_samples)) is not None:
                skipped["umap-soft"] = reason
            if n_samples > _MAX_SPREADING_ROWS:
                skipped["label-spreading"] = (f"{n_samples} rows, more than {_MAX_SPREADING_ROWS}: its neighbour "
                                              "graph, rebuilt for every fold, would cost more than the search")
            routes = {name: route for name, route in routes.items() if name not in skipped}
        else:
            unknown = [name for name in self.routes if name not in auto]
            if unknown or not self.routes:
                raise ValueError(f"routes names routes among {sorted(auto)}; got {self.routes!r}.")
            routes = {name: auto[name] for name in self.routes}
        for name, route in routes.items():
            if not (isinstance(route, tuple) and len(route) == 2 and route[0] in FEATURES
                    and hasattr(route[1], "fit") and hasattr(route[1], "predict")):
                raise ValueError(
                    f"routes[{name!r}] must be a (features, estimator) pair with features one of {FEATURES} and "
                    f"an estimator with fit and predict; got {route!r}."
                )
        if not routes:
            raise ValueError("routes is empty: give at least one route.")
        return routes, skipped

    def _fallback_message(self, classes, counts, n_splits, route="soft"):
        described = route if isinstance(self.routes, dict) else f"{_ROUTE_TEXT[route]} ({route!r})"
        enough = int((counts >= n_splits).sum())
        if enough >= 2:
            return None
        return (
            f"RouteSearchCV needs at least two classes with {n_splits} labeled rows each (one per fold) to compare "
            f"routes, but {len(classes)} classes are labeled and {enough} of them have that many (the most "
            f"frequent has {int(counts.max())}). Predicting with {described}, without a search. Label more "
            "rows, or lower cv."
        )

    def _routes_to_run(self, n_samples, classes, counts, n_splits):
        """The routes to search, those of 'auto' left out, and why no search is made (None when one is).

        With fewer labels than the folds need, the one route is the fallback (see :func:`_fallback_route`).
        """
        routes, skipped = self._check_routes(n_samples)
        name, route = _fallback_route(routes, n_samples)
        fallback = self._fallback_message(classes, counts, n_splits, name)
        return (routes if fallback is None else {name: route}), skipped, fallback

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the GMVAE once, compute the features, and cross-validate the routes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images flattened to rows, as :class:`GMVAETransformer` takes them.
        y : array-like of shape (n_samples,)
            Labels; -1 or ``"-1"`` marks an unlabeled row.

        Returns
        -------
        self : RouteSearchCV
        """
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        _, self.classes_, codes = encode_labels(y, estimator_name=type(self).__name__)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if self.cv is None or isinstance(self.cv, Integral):
            cv = PartiallyLabeledKFold(5 if self.cv is None else self.cv, random_state=seed)
        else:
            cv = check_cv(self.cv)
        self.transformer_ = self._fitted_transformer(X)
        self.n_features_in_ = self.transformer_.n_features_in_
        if hasattr(self.transformer_, "feature_names_in_"):
            self.feature_names_in_ = self.transformer_.feature_names_in_
        both = self.transformer_.transform(X)

        routes, self.skipped_routes_, self.fallback_ = self._routes_to_run(
            len(y), self.classes_, np.bincount(codes), cv.get_n_splits(both, y))
        if self.fallback_ is not None:
            warnings.warn(self.fallback_, UserWarning, stacklevel=2)
        uses_umap = any(features == "umap" for features, _ in routes.values())
        umap = UMAPMixture(random_state=seed) if uses_umap else None
        features = _RouteFeatures(self.transformer_.spec_.n_components, umap=umap)
        F = features.fit_transform(both)
        candidates = [_FeatureRoute(estimator, columns=features.blocks_[block], name=name)
                      for name, (block, estimator) in routes.items()]

        if self.fallback_ is None:
            search = GridSearchCV(
                Pipeline([("route", candidates[0])]), {"route": candidates},
                scoring=self.scoring if self.scoring is not None else labeled_accuracy_scorer,
                cv=cv, refit=_first_within_one_standard_error, n_jobs=self.n_jobs, verbose=self.verbose,
            ).fit(F, y)
            self.cv_results_ = search.cv_results_
            n_splits = search.n_splits_
            self.route_scores_ = {
                name: np.array([search.cv_results_[f"split{fold}_test_score"][index] for fold in range(n_splits)])
                for index, name in enumerate(routes)
            }
            index = search.best_index_
            self.best_route_ = candidates[index].name
            self.best_score_ = float(search.cv_results_["mean_test_score"][index])
            self.best_score_std_ = float(search.cv_results_["std_test_score"][index])
            route = search.best_estimator_.named_steps["route"]
            if self.verbose:
                for name, scores in self.route_scores_.items():
                    print(f"{name:>16}: {scores.mean():.3f} ± {scores.std():.3f}"
                          f"{'  (chosen)' if name == self.best_route_ else ''}")
        else:
            self.cv_results_, self.route_scores_ = None, {}
            self.best_route_, self.best_score_, self.best_score_std_ = candidates[0].name, float("nan"), float("nan")
            route = clone(candidates[0]).fit(F, y)
        self.best_estimator_ = Pipeline([
            ("transformer", FrozenEstimator(self.transformer_)),
            ("features", FrozenEstimator(features)),
            ("route", route),
        ])
        return self

    def predict(self, X):
        """Labels of raw images from the chosen route.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(lambda self: not hasattr(self, "best_estimator_") or hasattr(self.best_estimator_, "predict_proba"))
    def predict_proba(self, X):
        """Class probabilities (or scores) from the chosen route.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)


def _umap_installed():
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True
