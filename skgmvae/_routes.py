"""The routes from a fitted GMVAE to labels: the features they read, and the built-in ones.

A route is ``(features, estimator)``: a classifier that takes -1 for
unlabeled rows, fitted on one block of the route features. The blocks
(:data:`FEATURES`) are q(c|x) (``'posterior'``), the latent means scaled to
unit length (``'latent'``) and the posterior of a :class:`UMAPMixture`
fitted on those unit-length codes (``'umap'``).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.preprocessing import normalize
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._decoder import ClusterLabelDecoder
from ._labeled import LabeledOnlyClassifier
from ._labels import encode_labels

FEATURES = ("posterior", "latent", "umap")

# What the built-in routes are, in words, for messages.
ROUTE_TEXT = {"soft": "soft decoding of the GMVAE clusters",
              "umap-soft": "soft decoding of UMAPMixture's clusters of the codes"}


def builtin_routes():
    """The routes of ``RouteSearchCV(routes='auto')``, in their order of preference.

    Each call builds new, unfitted estimators, so the result can be edited
    (an estimator replaced, a route added) and passed as ``routes``.

    Returns
    -------
    dict of str to (str, estimator)
        ``{name: (features, estimator)}`` with ``features`` one of
        ``'posterior'``, ``'latent'`` or ``'umap'``: ``'umap-soft'``,
        ``'soft'``, ``'hard'``, ``'label-spreading'`` and ``'svc'``.

    See Also
    --------
    RouteSearchCV : Cross-validates these routes on the labeled rows.

    Examples
    --------
    >>> from skgmvae import builtin_routes
    >>> list(builtin_routes())
    ['umap-soft', 'soft', 'hard', 'label-spreading', 'svc']
    >>> builtin_routes()["hard"]
    ('posterior', ClusterLabelDecoder(mode='hard'))
    """
    return {
        "umap-soft": ("umap", ClusterLabelDecoder(mode="soft")),
        "soft": ("posterior", ClusterLabelDecoder(mode="soft")),
        "hard": ("posterior", ClusterLabelDecoder(mode="hard")),
        "label-spreading": ("latent", LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100)),
        "svc": ("latent", LabeledOnlyClassifier(SVC(C=10))),
    }


def check_feature_blocks(feature_blocks, n_features):
    """``feature_blocks`` checked against ``n_features`` columns of precomputed features.

    Parameters
    ----------
    feature_blocks : dict of str to slice or array-like of int, or None
        As ``RouteSearchCV(feature_blocks=...)``.
    n_features : int

    Returns
    -------
    dict of str to slice or array-like of int
    """
    if feature_blocks is None:
        raise ValueError("transformer='precomputed' needs feature_blocks: which columns of X hold 'posterior' "
                         "(q(c|x)), 'latent' (unit-length latent means) and, optionally, 'umap'.")
    for block, columns in feature_blocks.items():
        if block not in FEATURES:
            raise ValueError(f"feature_blocks names blocks among {FEATURES}; got {block!r}.")
        try:
            selected = np.arange(n_features)[columns]
        except (IndexError, TypeError, ValueError):
            raise ValueError(f"feature_blocks[{block!r}] must select columns of X, which has {n_features}; got "
                             f"{columns!r}.") from None
        if np.ndim(selected) != 1 or len(selected) == 0:
            raise ValueError(f"feature_blocks[{block!r}] must select at least one column of X; got {columns!r}.")
    return dict(feature_blocks)


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


def _route_estimator_has(attribute):
    return lambda self: hasattr(self.estimator, attribute)


class _FeatureRoute(ClassifierMixin, BaseEstimator):
    """One route: ``estimator`` on ``columns`` of the feature matrix, with the classes coded 0..n-1.

    The estimator sees the labels as indices (and -1 for unlabeled rows), so
    routes that need numeric labels (LabelSpreading) accept strings too;
    predictions come back in the user's labels.

    ``fit`` takes the fit parameters of every route of a search, each
    named ``'<route name>__<parameter>'``, and passes its own on.
    """

    def __init__(self, estimator, *, columns, name):
        self.estimator = estimator
        self.columns = columns
        self.name = name

    def fit(self, X, y, **route_params):
        X = validate_data(self, X, dtype=np.float64)
        mask, self.classes_, codes = encode_labels(y, estimator_name=self.name)
        y_codes = np.full(len(mask), -1, dtype=np.intp)
        y_codes[mask] = codes
        prefix = f"{self.name}__"
        own = {key[len(prefix):]: value for key, value in route_params.items() if key.startswith(prefix)}
        self.estimator_ = clone(self.estimator).fit(X[:, self.columns], y_codes, **own)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.classes_[np.asarray(self.estimator_.predict(X[:, self.columns])).astype(np.intp)]

    @available_if(_route_estimator_has("predict_proba"))
    def predict_proba(self, X):
        return self._delegate("predict_proba", X)

    @available_if(_route_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        return self._delegate("predict_log_proba", X)

    @available_if(_route_estimator_has("decision_function"))
    def decision_function(self, X):
        return self._delegate("decision_function", X)

    @available_if(_route_estimator_has("transform"))
    def transform(self, X):
        return self._delegate("transform", X)

    def _delegate(self, method, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return getattr(self.estimator_, method)(X[:, self.columns])
