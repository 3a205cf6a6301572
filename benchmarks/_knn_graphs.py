"""LabelSpreading with a k-nearest-neighbour graph built once per feature matrix.

The benchmark refits LabelSpreading on the same rows with the labels of each draw. Its graph depends only on
the rows and the number of neighbours, so it is built once and kept: :class:`KnnGraph` is a kernel that
``LabelSpreading(kernel=...)`` takes, and gives the graph of ``kernel='knn'``, and
:class:`GraphCachedLabelSpreading` the LabelSpreading that takes it.
"""

import hashlib

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.semi_supervised import LabelSpreading

# A few feature matrices at a time (each model's candidates and held-out rows).
_MAX_CACHED = 8
_CACHE = {}


def _neighbours(X, n_neighbors, n_jobs):
    """The neighbour search fitted on ``X`` and the graph of ``X``'s rows, built on the first call."""
    key = (hashlib.sha1(np.ascontiguousarray(X).view(np.uint8)).hexdigest(), X.shape, n_neighbors)
    if key not in _CACHE:
        if len(_CACHE) >= _MAX_CACHED:
            _CACHE.clear()
        search = NearestNeighbors(n_neighbors=n_neighbors, n_jobs=n_jobs).fit(X)
        _CACHE[key] = search, search.kneighbors_graph(X, n_neighbors, mode="connectivity")
    return _CACHE[key]


class KnnGraph:
    """Connectivity to the ``n_neighbors`` nearest rows, the graph of ``LabelSpreading(kernel='knn')``, cached.

    Parameters
    ----------
    n_neighbors : int
    n_jobs : int or None, default=None
        Threads of the neighbour search (the graph does not depend on it).
    """

    def __init__(self, n_neighbors, n_jobs=None):
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    def __call__(self, X, Y):
        """Graph of shape (n_rows of X, n_rows of Y): 1 where a row of X is among a row of Y's neighbours in X.

        Parameters
        ----------
        X : ndarray of shape (n_fitted, n_features)
            The rows LabelSpreading was fitted on.
        Y : ndarray of shape (n_rows, n_features)
            ``X`` itself in ``fit``; the rows to predict in ``predict``.

        Returns
        -------
        scipy.sparse matrix of shape (n_fitted, n_rows)
        """
        search, graph = _neighbours(X, self.n_neighbors, self.n_jobs)
        if Y is X:
            return graph.copy()
        return search.kneighbors_graph(Y, self.n_neighbors, mode="connectivity").T


class GraphCachedLabelSpreading(LabelSpreading):
    """LabelSpreading for a :class:`KnnGraph` kernel: ``GraphCachedLabelSpreading(kernel=KnnGraph(10))``.

    The kernel tells ``fit``'s call (the fitted rows against themselves) from ``predict``'s by the rows being
    the same array; this copies the rows it predicts, so that predicting the fitted array itself reads as
    ``predict``.
    """

    def predict_proba(self, X):
        return super().predict_proba(np.array(X, copy=True))
