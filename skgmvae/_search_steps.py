"""The steps of :meth:`~skgmvae.RouteSearchCV.fit`: the fitted GMVAE, the features, the search, the fallback route."""

import copy
import time
import warnings

import numpy as np
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from ._manifold import UMAPMixture
from ._route_policy import first_within_one_standard_error, umap_block_unavailable
from ._routes import FEATURES, _RouteFeatures, check_feature_blocks
from ._transformer import GMVAETransformer


class SearchSteps:
    """The steps :meth:`~skgmvae.RouteSearchCV.fit` runs, each a method a subclass can override."""

    def _fitted_transformer(self, X, fit_params):
        transformer = self.transformer
        if isinstance(transformer, FrozenEstimator):
            transformer = transformer.estimator
            if not isinstance(transformer, GMVAETransformer):
                raise TypeError(f"RouteSearchCV's FrozenEstimator must hold a fitted GMVAETransformer, got "
                                f"{type(transformer).__name__}.")
            try:
                check_is_fitted(transformer)
            except NotFittedError:
                raise ValueError("RouteSearchCV's FrozenEstimator holds an unfitted GMVAETransformer: fit it first, "
                                 "or pass it without FrozenEstimator to have the search fit it.") from None
            return copy.deepcopy(transformer).set_params(output="posterior_and_latent")
        try:
            check_is_fitted(transformer)
        except NotFittedError:
            return clone(transformer).set_params(output="posterior_and_latent").fit(X, **fit_params)
        warnings.warn(
            "RouteSearchCV was given a fitted GMVAETransformer without saying so: it is used as it is, but from "
            "version 0.3 it will be refitted on X as an unfitted one is. Say it is fitted with "
            "RouteSearchCV(FrozenEstimator(transformer), ...) (from sklearn.frozen import FrozenEstimator), or "
            "pass clone(transformer) to have it refitted.",
            FutureWarning,
            stacklevel=4,
        )
        return copy.deepcopy(transformer).set_params(output="posterior_and_latent")

    def _feature_source(self, X, n_samples, fit_params):
        """``(source, missing_blocks)``: what the feature step reads, and the blocks that cannot be had."""
        if isinstance(self.transformer, str):  # 'precomputed'
            X = validate_data(self, X, dtype=np.float64)
            self.transformer_ = None
            blocks = check_feature_blocks(self.feature_blocks, X.shape[1])
            missing = {block: "feature_blocks gives no columns for it" for block in FEATURES if block not in blocks}
            return X, missing
        if self.feature_blocks is not None:
            raise ValueError("feature_blocks describes precomputed features: give it with transformer='precomputed'.")
        self.transformer_ = self._fitted_transformer(X, fit_params)
        self.n_features_in_ = self.transformer_.n_features_in_
        if hasattr(self.transformer_, "feature_names_in_"):
            self.feature_names_in_ = self.transformer_.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        reason = umap_block_unavailable(n_samples)
        return self.transformer_.transform(X), ({} if reason is None else {"umap": reason})

    def _feature_step(self, source, routes, seed):
        """The fitted feature step (or 'passthrough'), the feature matrix, and the columns of each block."""
        if self.transformer_ is None:
            return "passthrough", source, check_feature_blocks(self.feature_blocks, source.shape[1])
        uses_umap = any(block == "umap" for block, _ in routes.values())
        features = _RouteFeatures(self.transformer_.spec_.k,
                                  umap=UMAPMixture(random_state=seed) if uses_umap else None)
        matrix = features.fit_transform(source)
        return FrozenEstimator(features), matrix, features.blocks_

    def _search(self, candidates, matrix, y, folds, route_params):
        """Cross-validate the candidate routes; the chosen one, fitted on every row."""
        search = GridSearchCV(
            Pipeline([("route", candidates[0])]), {"route": candidates}, scoring=self.scorer_, cv=folds,
            refit=first_within_one_standard_error, n_jobs=self.n_jobs, verbose=self.verbose,
        )
        # The routes' parameters come already routed, named '<route>__<name>'; the inner search passes them on
        # (each cut to the fold's rows) without routing them again.
        with config_context(enable_metadata_routing=False):
            search.fit(matrix, y, **{f"route__{key}": value for key, value in route_params.items()})
        names = [candidate.name for candidate in candidates]
        results = dict(search.cv_results_)
        results["params"] = [{"route": name} for name in names]
        results["param_route"] = np.ma.MaskedArray(np.array(names, dtype=object), mask=False)
        self.cv_results_ = results
        self.n_splits_ = search.n_splits_
        self.best_index_ = int(search.best_index_)
        self.refit_time_ = search.refit_time_
        self.route_scores_ = {
            name: np.array([results[f"split{fold}_test_score"][index] for fold in range(self.n_splits_)])
            for index, name in enumerate(names)
        }
        self.best_route_ = names[self.best_index_]
        self.best_score_ = float(results["mean_test_score"][self.best_index_])
        self.best_score_std_ = float(results["std_test_score"][self.best_index_])
        if self.verbose:
            for name, scores in self.route_scores_.items():
                print(f"{name:>16}: {scores.mean():.3f} ± {scores.std():.3f}"
                      f"{'  (chosen)' if name == self.best_route_ else ''}")
        return search.best_estimator_.named_steps["route"]

    def _fit_fallback(self, candidate, matrix, y, route_params):
        """The one route that predicts without a search, fitted on every row."""
        self.cv_results_, self.best_index_, self.route_scores_ = None, None, {}
        self.best_route_, self.best_score_, self.best_score_std_ = candidate.name, float("nan"), float("nan")
        start = time.time()
        route = clone(candidate).fit(matrix, y, **route_params)
        self.refit_time_ = time.time() - start
        return route
