"""Choosing the route from a fitted GMVAE to labels by cross-validation on the user's own labels.

A route turns the GMVAE's features into classes with a few labels
(:mod:`skgmvae._routes`); which one wins depends on the data and on the number
of labels. Only the routes use labels, so only they are cross-validated: the
GMVAE (and the UMAP mixture, unsupervised too) is fitted once on every row, the
features are computed once, and a :class:`~sklearn.model_selection.GridSearchCV`
over the route step runs on that feature matrix. The steps of ``fit`` are
methods of :class:`~skgmvae._search_steps.SearchSteps`.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from ._labeled import labeled_accuracy_score, labeled_accuracy_scorer
from ._labels import encode_labels
from ._route_policy import (
    check_routes,
    fallback_reason,
    fallback_route,
    resolve_routes,
)
from ._routes import _FeatureRoute
from ._runtime import draw_seed
from ._search_steps import SearchSteps
from ._splitter import PartiallyLabeledKFold
from ._transformer import GMVAETransformer


def _chosen_route_has(attribute):
    """Whether the fitted search's chosen route has ``attribute``; before fit, whether one of the routes has it
    (then the call says the search is unfitted), as scikit-learn's searches ask their estimator."""
    def check(self):
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attribute)  # its AttributeError names the route's estimator
            return True
        try:
            routes = resolve_routes(self.routes)
        except ValueError:  # routes fit will refuse, with the reason: let the call say unfitted
            return True
        return any(hasattr(estimator, attribute) for _, estimator in routes.values())
    return check


class RouteSearchCV(SearchSteps, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Chooses, by cross-validation on the labeled rows, the route from a GMVAE to labels.

    ``fit`` fits the GMVAE once on every row without labels (or takes it
    fitted, in a :class:`~sklearn.frozen.FrozenEstimator`), computes the
    features once (q(c|x), the unit-length latent means and, when a route
    reads it, a :class:`UMAPMixture` posterior of those codes), then
    cross-validates the routes on them. Attributes and methods are those of
    scikit-learn's searches, the route being the one parameter searched.

    The chosen route is the first, in the order of preference, whose mean
    score is within one standard error of the best mean. A route that
    cannot run on the data is left out (``skipped_routes_``). With fewer
    than two classes of ``n_splits`` labeled rows, nothing is searched and
    'umap-soft' (where it can run) or 'soft' predicts, with a warning. The
    user guide gives the reasons for each rule (:ref:`route-search`).

    Parameters
    ----------
    transformer : GMVAETransformer, FrozenEstimator of a fitted one, or 'precomputed'
        An unfitted GMVAETransformer is cloned and fitted on ``X`` without
        labels. A fitted one wrapped in
        :class:`~sklearn.frozen.FrozenEstimator` is used as it is (a copy
        with ``output='posterior_and_latent'``), and stays fitted through ``clone``.
        ``'precomputed'``: ``X`` is the route features, described by
        ``feature_blocks``. A fitted GMVAETransformer passed bare is used as
        it is, with a FutureWarning: from version 0.3 it will be refitted.
    routes : 'auto', list of str or dict, default='auto'
        Routes to compare, in order of preference. 'auto' is
        :func:`builtin_routes` ('umap-soft', 'soft', 'hard',
        'label-spreading' up to 20,000 rows, 'svc'); a list picks some of
        their names. A dict maps a name to ``(features, estimator)``, with
        ``features`` one of ``'posterior'``, ``'latent'`` (unit-length
        latent means) or ``'umap'`` and ``estimator`` a classifier that
        takes -1 for unlabeled rows.
    feature_blocks : dict of str to slice or array-like of int, default=None
        With ``transformer='precomputed'`` only: the columns of ``X`` that
        hold each block, among ``'posterior'`` (q(c|x)), ``'latent'``
        (unit-length latent means, used as given) and ``'umap'`` (a
        UMAPMixture's posterior of those codes). Routes that read a block
        not given are left out.
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
    best_params_ : dict
        ``{'route': best_route_}``.
    best_index_ : int or None
        Index of the chosen route in ``cv_results_`` (None after a
        fallback).
    best_estimator_ : sklearn.pipeline.Pipeline
        Steps ``'transformer'`` (the frozen GMVAE, ``output='posterior_and_latent'``),
        ``'features'`` (the frozen feature step) and ``'route'`` (the chosen
        route fitted on every row); the first two are ``'passthrough'`` with
        precomputed features. Takes what ``fit`` took.
    best_score_ : float
        Mean cross-validated score of the chosen route (NaN after a
        fallback).
    best_score_std_ : float
        Standard deviation of its fold scores (NaN after a fallback).
    cv_results_ : dict of str to ndarray, or None
        As GridSearchCV's, with ``params`` ``[{'route': name}, ...]`` and
        ``param_route`` the names, in order of preference (None after a
        fallback).
    route_scores_ : dict of str to ndarray of shape (n_splits,)
        Fold scores of each route searched, in order of preference.
    skipped_routes_ : dict of str to str
        Routes left out, with the reason (also after a fallback, where it
        says why 'umap-soft' did not predict).
    fallback_reason_ : str or None
        Why no search was made, or None when one was.
    n_splits_ : int
        Number of cross-validation folds (those the search would have had,
        after a fallback).
    scorer_ : callable
        The scorer of the folds and of :meth:`score`.
    refit_time_ : float
        Seconds taken to fit the chosen route on every row.
    transformer_ : GMVAETransformer or None
        The fitted GMVAE (with ``output='posterior_and_latent'``); None with precomputed
        features.
    classes_ : ndarray of shape (n_classes,)
        Labels of the labeled rows, sorted.
    n_features_in_ : int
        Number of columns seen in fit (pixels, or precomputed features).
    feature_names_in_ : ndarray of shape (n_features,)
        Column names, when X was a DataFrame with string column names.

    See Also
    --------
    PartiallyLabeledKFold : The splitter used by default.
    builtin_routes : The routes of ``'auto'``.

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
    >>> search.best_params_["route"] in search.route_scores_, search.fallback_reason_
    (True, None)
    >>> search.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "transformer": [GMVAETransformer, FrozenEstimator, StrOptions({"precomputed"})],
        "routes": [StrOptions({"auto"}), list, dict],
        "feature_blocks": [dict, None],
        "cv": ["cv_object"],
        "scoring": [callable, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": [Interval(Integral, 0, None, closed="left"), "boolean"],
    }

    def __init__(self, transformer, routes="auto", *, feature_blocks=None, cv=5, scoring=None, random_state=None,
                 n_jobs=None, verbose=0):
        self.transformer = transformer
        self.routes = routes
        self.feature_blocks = feature_blocks
        self.cv = cv
        self.scoring = scoring
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ metadata routing
    def _splitter(self, seed):
        if self.cv is None or isinstance(self.cv, Integral):
            return PartiallyLabeledKFold(5 if self.cv is None else self.cv, random_state=seed)
        return check_cv(self.cv)

    def get_metadata_routing(self):
        """How ``fit``'s parameters are routed: ``groups`` to the splitter, the rest to the routes requesting them.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        router = MetadataRouter(owner=type(self).__name__)
        router.add(splitter=self._splitter(None), method_mapping=MethodMapping().add(caller="fit", callee="split"))
        if isinstance(self.transformer, GMVAETransformer):
            router.add(transformer=self.transformer, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        for name, (_, estimator) in resolve_routes(self.routes).items():
            router.add(**{f"route {name}": estimator},
                       method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        return router

    def _routed_fit_params(self, params):
        """``fit``'s parameters as ``(groups, transformer's, routes')``, the routes' named ``'<route>__<name>'``."""
        if not _routing_enabled():
            params = dict(params)
            groups = params.pop("groups", None)
            _raise_for_params(params, self, "fit")
            return groups, {}, {}
        routed = process_routing(self, "fit", **params)
        transformer_params = routed["transformer"].fit if "transformer" in routed else {}
        route_params = {f"{name}__{key}": value for name in resolve_routes(self.routes)
                        for key, value in routed[f"route {name}"].fit.items()}
        return routed.splitter.split.get("groups"), transformer_params, route_params

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **params):
        """Fit the GMVAE once, compute the features, and cross-validate the routes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images flattened to rows, as :class:`GMVAETransformer` takes them
            (with ``transformer='precomputed'``, the route features).
        y : array-like of shape (n_samples,)
            Labels; -1 or ``"-1"`` marks an unlabeled row.
        **params : dict
            ``groups`` goes to the splitter (``PartiallyLabeledKFold``
            honours them). With ``sklearn.set_config(enable_metadata_routing=True)``,
            any parameter goes where it is requested (the splitter, the
            GMVAE, the routes' estimators), and one nothing requests is an
            error; without it, ``groups`` is the only one accepted.

        Returns
        -------
        self : RouteSearchCV
        """
        groups, transformer_params, route_params = self._routed_fit_params(params)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        _, self.classes_, codes = encode_labels(y, estimator_name=type(self).__name__)
        seed = draw_seed(self.random_state)
        cv = self._splitter(seed)
        source, missing_blocks = self._feature_source(X, len(y), transformer_params)

        routes, self.skipped_routes_ = check_routes(self.routes, len(y), missing_blocks)
        self.n_splits_ = cv.get_n_splits(source, y, groups)
        counts = np.bincount(codes)
        if int((counts >= self.n_splits_).sum()) >= 2:
            self.fallback_reason_ = None
        else:
            name, route = fallback_route(routes, missing_blocks)
            self.fallback_reason_ = fallback_reason(counts, self.n_splits_, name,
                                                    named_by_user=isinstance(self.routes, dict))
            warnings.warn(self.fallback_reason_, UserWarning, stacklevel=3)
            routes = {name: route}
        features, matrix, blocks = self._feature_step(source, routes, seed)
        candidates = [_FeatureRoute(estimator, columns=blocks[block], name=name)
                      for name, (block, estimator) in routes.items()]
        self.scorer_ = self.scoring if self.scoring is not None else labeled_accuracy_scorer
        if self.fallback_reason_ is None:
            route = self._search(candidates, matrix, y, list(cv.split(matrix, y, groups)), route_params)
        else:
            route = self._fit_fallback(candidates[0], matrix, y, route_params)
        self.best_params_ = {"route": self.best_route_}
        self.best_estimator_ = Pipeline([
            ("transformer", "passthrough" if self.transformer_ is None else FrozenEstimator(self.transformer_)),
            ("features", features),
            ("route", route),
        ])
        return self

    # ------------------------------------------------------------------ the chosen route's methods
    # Each takes X as ``fit`` took it, of shape (n_samples, n_features), and is there when the chosen route has it.
    @available_if(_chosen_route_has("predict"))
    def predict(self, X):
        """Labels from the chosen route.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images, or the precomputed features with ``transformer='precomputed'``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_chosen_route_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the chosen route.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images, or the precomputed features with ``transformer='precomputed'``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_chosen_route_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log of the class probabilities from the chosen route.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images, or the precomputed features with ``transformer='precomputed'``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_chosen_route_has("decision_function"))
    def decision_function(self, X):
        """Class scores from the chosen route's estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images, or the precomputed features with ``transformer='precomputed'``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @available_if(_chosen_route_has("transform"))
    def transform(self, X):
        """The chosen route's estimator's ``transform`` of its features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images, or the precomputed features with ``transformer='precomputed'``.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    @available_if(_chosen_route_has("score"))
    def score(self, X, y, sample_weight=None):
        """``scorer_`` of the chosen route on ``X``, ``y`` (by default accuracy on the rows whose y is not -1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            -1 or ``"-1"`` marks rows that are not scored.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if self.scoring is None:  # labeled_accuracy_scorer, with the weights it does not take
            return labeled_accuracy_score(y, self.predict(X), sample_weight=sample_weight)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.scorer_(self.best_estimator_, X, y, **weights)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = not isinstance(self.transformer, str)  # pixels in [0, 1]
        return tags
