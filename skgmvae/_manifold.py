"""UMAPMixture: clusters of the GMVAE's codes from a Gaussian mixture on their UMAP embedding."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._runtime import draw_seed

# Added to the mixture's variances: UMAP packs near-duplicate codes onto almost the same point, where a
# component's empirical variance would otherwise vanish.
_REG_COVAR = 1e-4


def _umap_class():
    try:
        from umap import UMAP
    except ImportError as error:
        raise ImportError(
            "UMAPMixture needs the umap-learn package: pip install 'skgmvae[umap]' (or pip install umap-learn)."
        ) from error
    return UMAP


class UMAPMixture(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A posterior over ``k`` clusters from a Gaussian mixture fitted on a UMAP embedding of the input.

    Meant for the GMVAE's latent codes: ``GMVAETransformer(output='latent')``,
    then :class:`~sklearn.preprocessing.Normalizer`, then this, then
    :class:`ClusterLabelDecoder`. UMAP keeps the neighbourhoods of the codes
    in a few dimensions, where a mixture separates them better than the
    GMVAE's own prior does in the latent space (the N2D recipe: McConville
    et al., 2020). The soft and hard decoding rules read its output exactly
    as they read q(c|x).

    Needs the optional dependency umap-learn (``pip install 'skgmvae[umap]'``).

    Parameters
    ----------
    k : int, default=200
        Number of clusters (mixture components).
    embedding_dim : int, default=10
        Dimension of the UMAP embedding.
    n_neighbors : int, default=20
        Neighbours UMAP's graph keeps per row (at most ``n_samples - 1`` are
        used).
    random_state : int, RandomState instance or None, default=None
        Seeds UMAP and the mixture. A seed makes fitting reproducible, and
        UMAP then runs on one thread; with None it uses every core.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, embedding_dim)
        UMAP's embedding of the training rows.
    mixture_ : sklearn.mixture.GaussianMixture
        Diagonal Gaussian mixture with ``k`` components fitted on the
        embedding of the training rows.
    n_features_in_ : int
        Number of input features (the latent dimension).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the input features, when they were all strings.

    See Also
    --------
    GMVAETransformer : Its ``output='posterior'`` is the GMVAE's own q(c|x).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import Normalizer
    >>> from skgmvae import ClusterLabelDecoder, GMVAETransformer, UMAPMixture
    >>> model = make_pipeline(  # doctest: +SKIP
    ...     GMVAETransformer(output="latent"),
    ...     Normalizer(),
    ...     UMAPMixture(k=200),
    ...     ClusterLabelDecoder(),
    ... )
    """

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, k=200, *, embedding_dim=10, n_neighbors=20, random_state=None):
        self.k = k
        self.embedding_dim = embedding_dim
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    def _fit_embedding(self, X):
        X = validate_data(self, X, dtype=np.float32)
        n_samples = X.shape[0]
        if n_samples <= self.embedding_dim + 1:
            raise ValueError(
                f"UMAPMixture needs more than embedding_dim + 1 = {self.embedding_dim + 1} rows to embed, got "
                f"n_samples={n_samples}. Fit on more rows or lower embedding_dim."
            )
        if self.k > n_samples:
            raise ValueError(f"k={self.k} clusters need k <= n_samples, but there are {n_samples} rows. Lower k.")
        seed = draw_seed(self.random_state)
        # UMAP is reproducible only on one thread; unseeded, it may use every core.
        umap_seed = None if self.random_state is None else seed
        n_neighbors = min(self.n_neighbors, n_samples - 1)
        embedding = _umap_class()(
            n_components=self.embedding_dim, n_neighbors=n_neighbors, min_dist=0.0, random_state=umap_seed,
            n_jobs=1 if umap_seed is not None else -1,
        ).fit_transform(X)
        self.embedding_ = np.asarray(embedding, dtype=np.float64)
        self.mixture_ = GaussianMixture(self.k, covariance_type="diag", reg_covar=_REG_COVAR,
                                        random_state=seed).fit(self.embedding_)
        posterior = self.mixture_.predict_proba(self.embedding_)
        # A new row takes the distance-weighted mean of its neighbours' posteriors: its answer then does not
        # depend on the other rows of its batch, a training row keeps its own, and a row between two clusters
        # shares its mass between them instead of landing in the gap with a confident answer.
        self._posterior_neighbors = KNeighborsRegressor(n_neighbors, weights="distance").fit(X, posterior)
        self._n_features_out = self.k
        return posterior

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Embed ``X`` with UMAP and fit the mixture on the embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Latent codes (e.g. unit-length means of q(z|x)).
        y : Ignored
            Accepted for Pipeline compatibility.

        Returns
        -------
        self : UMAPMixture
        """
        self._fit_embedding(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit, then the posterior of the training rows from their own embedding.

        The same as ``fit(X).transform(X)`` (a training row keeps its own
        posterior), without searching the neighbours again.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        ndarray of shape (n_samples, k)
            Rows sum to one.
        """
        return self._fit_embedding(X)

    def transform(self, X):
        """Posterior over the ``k`` clusters of new rows.

        Each row takes the distance-weighted mean of the posteriors of its
        ``n_neighbors`` nearest training rows (a training row its own).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, k)
            Rows sum to one.
        """
        check_is_fitted(self, "mixture_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        posterior = self._posterior_neighbors.predict(X)
        return posterior / posterior.sum(axis=1, keepdims=True)
