"""PartiallyLabeledKFold and RouteSearchCV: folds over the labeled rows, one GMVAE fit, the documented choice."""

import copy
import importlib.util
import pickle
import types
import warnings

import numpy as np
import pytest
import sklearn
from scipy.special import softmax
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import normalize
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from skgmvae import (
    ClusterLabelDecoder,
    GMVAETransformer,
    LabeledOnlyClassifier,
    PartiallyLabeledKFold,
    RouteSearchCV,
    UMAPMixture,
    builtin_routes,
    labeled_accuracy_scorer,
)
from skgmvae._route_policy import (
    MAX_SPREADING_ROWS,
    UMAP_ROWS_PER_CLUSTER,
    check_routes,
    fallback_route,
    first_within_one_standard_error,
    umap_block_unavailable,
)
from skgmvae._routes import _RouteFeatures

TINY = dict(k=10, max_epochs=2, pretrain_epochs=1, random_state=0, device="cpu")


class CountingGMVAE(GMVAETransformer):
    """Counts calls to fit over all its clones (a class attribute, since the search fits a clone)."""

    fit_calls = 0

    def fit(self, X, y=None):
        type(self).fit_calls += 1
        return super().fit(X, y)


@pytest.fixture(scope="module")
def digits_semi():

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    y_semi = np.full_like(y, -1)
    for label in range(10):
        y_semi[rng.choice(np.flatnonzero(y == label), 20, replace=False)] = label
    return X / 16.0, y, y_semi


@pytest.fixture(scope="module")
def tiny_gmvae(digits_semi):
    return GMVAETransformer(**TINY).fit(digits_semi[0])


@pytest.fixture(scope="module")
def frozen_gmvae(tiny_gmvae):
    return FrozenEstimator(tiny_gmvae)


# ----------------------------------------------------------------- the splitter
def _semi_labels(rng, counts, n_unlabeled):
    y = np.concatenate([np.full(count, label) for label, count in enumerate(counts)] + [np.full(n_unlabeled, -1)])
    return y[rng.permutation(len(y))]


def test_unlabeled_rows_train_in_every_fold_and_labeled_rows_are_tested_once_stratified():
    y = _semi_labels(np.random.RandomState(0), counts=[10, 15, 23], n_unlabeled=40)
    unlabeled = np.flatnonzero(y == -1)
    tested = []
    for train, test in PartiallyLabeledKFold(5, random_state=0).split(np.zeros((len(y), 2)), y):
        assert np.isin(unlabeled, train).all()
        assert not np.isin(test, unlabeled).any()
        assert np.intersect1d(train, test).size == 0 and len(train) + len(test) == len(y)
        # Stratified: each class is split as evenly as its count allows.
        np.testing.assert_allclose(np.bincount(y[test], minlength=3), np.array([10, 15, 23]) / 5, atol=1)
        tested.extend(test)
    np.testing.assert_array_equal(np.sort(tested), np.flatnonzero(y != -1))


def test_string_labels_and_the_string_marker():
    y = np.array(["a", "b", "-1"] * 6, dtype=object)
    for train, test in PartiallyLabeledKFold(3, random_state=0).split(np.zeros(18), y):
        assert set(y[test]) == {"a", "b"}
        assert (y == "-1")[train].sum() == 6


def test_a_class_with_fewer_rows_than_folds_always_trains_with_a_warning():
    y = _semi_labels(np.random.RandomState(1), counts=[10, 10, 3], n_unlabeled=5)
    with pytest.warns(UserWarning, match="1 classes have fewer than n_splits=5 labeled rows.*: 2"):
        folds = list(PartiallyLabeledKFold(5, random_state=0).split(np.zeros(len(y)), y))
    rare = np.flatnonzero(y == 2)
    for train, test in folds:
        assert np.isin(rare, train).all() and not np.isin(test, rare).any()


def test_seeded_folds_repeat_and_shuffle_false_keeps_order():
    y = _semi_labels(np.random.RandomState(2), counts=[6, 6], n_unlabeled=3)
    first, again = (list(PartiallyLabeledKFold(3, random_state=7).split(np.zeros(15), y)) for _ in range(2))
    for (_, test_a), (_, test_b) in zip(first, again):
        np.testing.assert_array_equal(test_a, test_b)
    ordered = [test for _, test in PartiallyLabeledKFold(3, shuffle=False).split(np.zeros(15), y)]
    assert all(np.all(np.diff(test) > 0) for test in ordered)
    assert PartiallyLabeledKFold(3).get_n_splits() == 3


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: PartiallyLabeledKFold(1), "at least 2"),
        (lambda: list(PartiallyLabeledKFold(5).split(np.zeros(6), [0, 0, 1, 1, -1, -1])), "at least 5 labeled rows"),
        (lambda: list(PartiallyLabeledKFold(2).split(np.zeros(3), None)), "needs y"),
        (lambda: list(PartiallyLabeledKFold(2).split(np.zeros(3), [-1, -1, -1])), "at least one labeled row"),
    ],
)
def test_splitter_errors_say_what_to_do(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------- the choice rule
def _results(means, stds, n_splits=5):
    results = {"mean_test_score": np.array(means), "std_test_score": np.array(stds)}
    results |= {f"split{fold}_test_score": np.zeros(len(means)) for fold in range(n_splits)}
    return results


@pytest.mark.parametrize(
    "means, stds, expected",
    [
        ([0.80, 0.82, 0.70], [0.05, 0.05, 0.05], 0),  # 0.02 < 0.05 / sqrt(5): the first route stays
        ([0.70, 0.90, 0.89], [0.05, 0.05, 0.05], 1),  # the second beats the first by far and comes before the third
        ([0.70, 0.88, 0.90], [0.05, 0.05, 0.0], 2),  # a spread of zero makes the best mean the only choice
        ([np.nan, 0.5, 0.6], [np.nan, 0.0, 0.0], 2),  # a route whose fits failed is never chosen
    ],
)
def test_first_route_within_one_standard_error_of_the_best_mean_is_chosen(means, stds, expected):
    assert first_within_one_standard_error(_results(means, stds)) == expected


# ----------------------------------------------------------------- the search
def test_search_picks_what_a_hand_written_grid_search_picks(digits_semi, tiny_gmvae, frozen_gmvae):
    X, _, y_semi = digits_semi
    routes = {"soft": ("posterior", ClusterLabelDecoder()), "hard": ("posterior", ClusterLabelDecoder(mode="hard")),
              "label-spreading": ("latent", LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100)),
              "svc": ("latent", LabeledOnlyClassifier(SVC(C=10)))}
    search = RouteSearchCV(frozen_gmvae, routes, cv=PartiallyLabeledKFold(5, random_state=0)).fit(X, y_semi)

    k = tiny_gmvae.k
    features = copy.deepcopy(tiny_gmvae).set_params(output="posterior_and_latent").transform(X)
    F = np.hstack([features[:, :k], normalize(features[:, k:])])
    columns = {"posterior": slice(0, k), "latent": slice(k, F.shape[1])}
    candidates = [Pipeline([("select", ColumnTransformer([("block", "passthrough", columns[block])])),
                            ("classify", estimator)]) for block, estimator in routes.values()]
    by_hand = GridSearchCV(Pipeline([("route", candidates[0])]), {"route": candidates},
                           cv=PartiallyLabeledKFold(5, random_state=0), scoring=labeled_accuracy_scorer).fit(F, y_semi)

    means = by_hand.cv_results_["mean_test_score"]
    np.testing.assert_allclose([scores.mean() for scores in search.route_scores_.values()], means)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means)
    margin = by_hand.cv_results_["std_test_score"][np.argmax(means)] / np.sqrt(5)
    expected = list(routes)[np.flatnonzero(means >= means.max() - margin)[0]]
    assert search.best_route_ == expected
    assert search.best_score_ == pytest.approx(means[list(routes).index(expected)])
    assert search.best_score_std_ == pytest.approx(by_hand.cv_results_["std_test_score"][list(routes).index(expected)])
    assert search.fallback_reason_ is None


def test_an_unfitted_transformer_is_fitted_once_and_a_frozen_one_never(digits_semi):
    X, _, y_semi = digits_semi
    CountingGMVAE.fit_calls = 0
    unfitted = CountingGMVAE(**TINY)
    search = RouteSearchCV(unfitted, ["soft", "hard", "label-spreading", "svc"], random_state=0).fit(X, y_semi)
    assert CountingGMVAE.fit_calls == 1
    assert not hasattr(unfitted, "module_")  # the user's estimator is left unfitted; a clone was fitted

    fitted = search.transformer_
    fitted.set_params(output="posterior")
    CountingGMVAE.fit_calls = 0
    again = RouteSearchCV(FrozenEstimator(fitted), ["soft", "svc"], random_state=0).fit(X, y_semi)
    assert CountingGMVAE.fit_calls == 0
    assert fitted.output == "posterior"  # the search works on a copy with output='posterior_and_latent'
    np.testing.assert_array_equal(again.transformer_.transform(X[:5])[:, :10], fitted.transform(X[:5]))
    # Refitting the best estimator refits the route only: the GMVAE step is frozen.
    again.best_estimator_.fit(X, y_semi)
    # A frozen GMVAE stays fitted through clone, so the search itself can be cross-validated.
    scores = cross_val_score(again, X, y_semi, cv=StratifiedKFold(2, shuffle=True, random_state=0),
                             scoring=labeled_accuracy_scorer)
    assert CountingGMVAE.fit_calls == 0 and np.all((scores >= 0) & (scores <= 1))


def test_a_fitted_transformer_passed_bare_is_used_as_it_is_with_a_future_warning(digits_semi, tiny_gmvae,
                                                                                 frozen_gmvae):
    X, _, y_semi = digits_semi
    with pytest.warns(FutureWarning, match=r"from version 0\.3 it will be refitted.*FrozenEstimator"):
        bare = RouteSearchCV(tiny_gmvae, ["soft", "hard"], random_state=0).fit(X, y_semi)
    frozen = RouteSearchCV(frozen_gmvae, ["soft", "hard"], random_state=0).fit(X, y_semi)
    np.testing.assert_array_equal(bare.predict(X), frozen.predict(X))
    np.testing.assert_array_equal(bare.route_scores_["hard"], frozen.route_scores_["hard"])


def test_a_frozen_estimator_must_hold_a_fitted_gmvae(digits_semi):
    X, _, y_semi = digits_semi
    with pytest.raises(ValueError, match="FrozenEstimator holds an unfitted GMVAETransformer: fit it first"):
        RouteSearchCV(FrozenEstimator(GMVAETransformer(**TINY))).fit(X, y_semi)
    with pytest.raises(TypeError, match="must hold a fitted GMVAETransformer, got ClusterLabelDecoder"):
        RouteSearchCV(FrozenEstimator(ClusterLabelDecoder())).fit(X, y_semi)


def test_predicts_raw_images_in_the_users_labels_and_the_best_estimator_pickles(digits_semi, frozen_gmvae):
    X, y, y_semi = digits_semi
    names = np.array(list("abcdefghij"), dtype=object)
    y_str = np.where(y_semi == -1, "-1", names[y_semi]).astype(object)  # LabelSpreading itself needs numbers
    search = RouteSearchCV(frozen_gmvae, ["soft", "label-spreading"], random_state=0).fit(X, y_str)
    np.testing.assert_array_equal(search.classes_, names)
    predicted = search.predict(X)
    assert set(predicted) <= set(names)
    assert search.score(X, names[y]) == pytest.approx((predicted == names[y]).mean())
    assert search.n_features_in_ == 64
    assert list(search.best_estimator_.named_steps) == ["transformer", "features", "route"]
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X[:100]), predicted[:100])
    proba = search.predict_proba(X[:10])
    np.testing.assert_array_equal(names[proba.argmax(axis=1)], predicted[:10])


def test_auto_skips_the_umap_route_on_few_rows_with_a_note(digits_semi, frozen_gmvae):
    X, _, y_semi = digits_semi
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'auto' leaves routes out without a warning
        search = RouteSearchCV(frozen_gmvae, random_state=0).fit(X, y_semi)
    assert list(search.route_scores_) == ["soft", "hard", "label-spreading", "svc"]
    assert "umap-soft" in search.skipped_routes_ and "1797 rows" in search.skipped_routes_["umap-soft"]
    assert all(scores.shape == (5,) for scores in search.route_scores_.values())


def test_auto_prefers_the_umap_route_and_leaves_label_spreading_out_above_its_row_limit():
    assert list(builtin_routes()) == ["umap-soft", "soft", "hard", "label-spreading", "svc"]

    def check(n_samples):
        reason = umap_block_unavailable(n_samples)
        return check_routes("auto", n_samples, {} if reason is None else {"umap": reason})

    routes, skipped = check(MAX_SPREADING_ROWS)
    assert "label-spreading" in routes and "label-spreading" not in skipped
    if importlib.util.find_spec("umap") is not None:
        assert list(routes) == ["umap-soft", "soft", "hard", "label-spreading", "svc"]
    else:
        assert list(routes) == ["soft", "hard", "label-spreading", "svc"]
        assert "umap-learn is not installed" in skipped["umap-soft"]
    routes, skipped = check(MAX_SPREADING_ROWS + 1)
    assert "label-spreading" not in routes
    assert skipped["label-spreading"].startswith(f"{MAX_SPREADING_ROWS + 1} rows, more than")
    # A list is run however many rows there are: the row limit is a cost rule of 'auto'.
    assert "label-spreading" in check_routes(["soft", "label-spreading"], MAX_SPREADING_ROWS + 1, {})[0]


@pytest.mark.parametrize("labels_per_class, classes", [(2, 10), (30, 1)])
def test_too_few_labels_fall_back_to_soft_decoding_with_a_message(digits_semi, tiny_gmvae, frozen_gmvae,
                                                                  labels_per_class, classes):
    X, y, _ = digits_semi
    y_few = np.full_like(y, -1)
    for label in range(classes):
        rows = np.flatnonzero(y == label)[:labels_per_class]
        y_few[rows] = label
    with pytest.warns(UserWarning, match="Predicting with soft decoding") as record:
        search = RouteSearchCV(frozen_gmvae, random_state=0).fit(X, y_few)
    assert search.fallback_reason_ == str(record[0].message)
    assert "Label more rows" in search.fallback_reason_
    assert search.best_params_ == {"route": "soft"} and search.best_index_ is None and search.n_splits_ == 5
    assert search.best_route_ == "soft" and search.cv_results_ is None and search.route_scores_ == {}
    assert np.isnan(search.best_score_) and np.isnan(search.best_score_std_)
    decoder = ClusterLabelDecoder(mode="soft").fit(tiny_gmvae.transform(X), y_few)
    np.testing.assert_array_equal(search.predict(X), decoder.predict(tiny_gmvae.transform(X)))


def test_clone_and_params_reach_the_transformer(tiny_gmvae):
    search = RouteSearchCV(GMVAETransformer(k=7), ["soft"], cv=3)
    params = search.get_params(deep=True)
    assert params["transformer__k"] == 7 and params["cv"] == 3 and params["routes"] == ["soft"]
    search.set_params(transformer__k=4)
    assert search.transformer.k == 4
    cloned = clone(RouteSearchCV(tiny_gmvae))
    assert not hasattr(cloned.transformer, "module_") and not hasattr(cloned, "best_estimator_")


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(routes=["soft", "knn"]), ValueError, "routes names routes among"),
        (dict(routes={"mine": ("pixels", ClusterLabelDecoder())}), ValueError, "features one of"),
        (dict(routes={"mine": ClusterLabelDecoder()}), ValueError, r"\(features, estimator\) pair"),
        (dict(cv=1), InvalidParameterError, "cv"),
        (dict(routes="best"), InvalidParameterError, "routes"),
    ],
)
def test_bad_settings_raise_clear_errors(digits_semi, frozen_gmvae, params, error, match):
    X, _, y_semi = digits_semi
    with pytest.raises(error, match=match):
        RouteSearchCV(frozen_gmvae, **params).fit(X, y_semi)


def test_unit_codes_and_umap_block_of_the_features():
    pytest.importorskip("umap")
    rng = np.random.RandomState(0)
    both = np.hstack([rng.dirichlet(np.ones(5), 150), rng.randn(150, 4)])
    features = _RouteFeatures(5, umap=UMAPMixture(k=5, n_neighbors=5, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # UMAP's note that a seed forces one thread
        F = features.fit_transform(both)
    assert features.blocks_ == {"posterior": slice(0, 5), "latent": slice(5, 9), "umap": slice(9, 14)}
    np.testing.assert_array_equal(F[:, :5], both[:, :5])
    np.testing.assert_allclose(np.linalg.norm(F[:, 5:9], axis=1), 1.0)
    np.testing.assert_allclose(F[:, 9:].sum(axis=1), 1.0)
    np.testing.assert_allclose(features.transform(both), F, atol=1e-6)


def test_the_fallback_route_is_umap_soft_decoding_where_it_can_run():
    enough = UMAP_ROWS_PER_CLUSTER * UMAPMixture().k

    def fallback(routes, n_samples):
        reason = umap_block_unavailable(n_samples)
        missing = {} if reason is None else {"umap": reason}
        return fallback_route(check_routes(routes, n_samples, missing)[0], missing)

    if importlib.util.find_spec("umap") is not None:
        assert fallback("auto", enough)[0] == "umap-soft"
    assert fallback("auto", enough - 1)[0] == "soft"  # too few rows for its clusters
    name, (features, decoder) = fallback(["soft", "hard", "svc"], enough)
    assert name == "soft" and features == "posterior" and decoder.mode == "soft"
    assert fallback(["svc"], enough)[0] == "soft"  # soft decoding even when not listed


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_too_few_labels_on_enough_rows_predict_with_the_umap_mixture(digits_semi, frozen_gmvae):
    pytest.importorskip("umap")
    X, y, _ = digits_semi
    # 2,097 distinct rows, enough for 200 UMAP clusters: the digits and 300 of them slightly perturbed
    noisy = np.clip(X[:300] + np.random.RandomState(0).uniform(0, 0.05, X[:300].shape), 0, 1)
    X, y = np.vstack([X, noisy]), np.concatenate([y, y[:300]])
    y_few = np.full_like(y, -1)
    for label in range(10):
        y_few[np.flatnonzero(y == label)[:2]] = label
    with pytest.warns(UserWarning, match=r"UMAPMixture's clusters of the codes \('umap-soft'\)"):
        search = RouteSearchCV(frozen_gmvae, routes=["soft", "umap-soft"], random_state=0).fit(X, y_few)
    assert search.best_route_ == "umap-soft" and search.route_scores_ == {} and np.isnan(search.best_score_)
    features = search.best_estimator_.named_steps["features"].estimator
    mixture = features.umap_  # fitted on every row's codes; the decoder learned on its training posterior
    decoder = ClusterLabelDecoder(mode="soft").fit(mixture.mixture_.predict_proba(mixture.embedding_), y_few)
    umap_posterior = search.best_estimator_[:-1].transform(X)[:, features.blocks_["umap"]]
    np.testing.assert_array_equal(search.predict(X), decoder.predict(umap_posterior))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_fallback_keeps_why_the_umap_route_was_skipped(digits_semi, frozen_gmvae):
    X, y, _ = digits_semi
    y_few = np.full_like(y, -1)
    for label in range(10):
        y_few[np.flatnonzero(y == label)[:2]] = label
    search = RouteSearchCV(frozen_gmvae, random_state=0).fit(X, y_few)
    assert search.best_route_ == "soft" and "1797 rows" in search.skipped_routes_["umap-soft"]


# ----------------------------------------------------------------- the same choice as before the split
def _fixed_problem():
    """Digits with a fixed, hand-made q(c|x) (a softmax over distances to one image of each digit) and codes."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    centroids = X[[np.flatnonzero(y == label)[0] for label in range(10)]]
    rng = np.random.RandomState(0)
    projection = rng.randn(64, 6)
    posterior = softmax(-((X[:, None, :] - centroids[None]) ** 2).sum(axis=2) / 4.0, axis=1)
    y_semi = np.full_like(y, -1)
    for label in range(10):
        y_semi[rng.choice(np.flatnonzero(y == label), 12, replace=False)] = label
    return X, y, y_semi, np.hstack([posterior, X @ projection])


class FixedFeatures(GMVAETransformer):
    """A stand-in for a fitted GMVAE whose ``output='posterior_and_latent'`` is the fixed problem's features."""

    def fit(self, X, y=None):
        self.both_ = _fixed_problem()[3]
        self.n_features_in_ = X.shape[1]
        self.spec_ = types.SimpleNamespace(k=10)
        return self

    def transform(self, X):
        assert self.output == "posterior_and_latent"
        return self.both_[:len(X)]


# What commit 41b0d84 (before RouteSearchCV became a search CV and its module was split) gives on the fixed
# problem with random_state=0: RouteSearchCV(<FixedFeatures fitted>, cv=cv), and, for cv=5, benchmarks/_routes.py's
# search_routes on the same features.
BEFORE = {
    5: ("hard", 0.65, 0.05, {
        "soft": [0.5833333333333334, 0.5416666666666666, 0.5833333333333334, 0.5833333333333334, 0.75],
        "hard": [0.7083333333333334, 0.5833333333333334, 0.625, 0.625, 0.7083333333333334],
        "label-spreading": [0.5416666666666666, 0.5833333333333334, 0.7916666666666666, 0.6666666666666666,
                            0.6666666666666666],
        "svc": [0.5, 0.5833333333333334, 0.8333333333333334, 0.6666666666666666, 0.6666666666666666]}),
    3: ("hard", 0.6583333333333333, 0.023570226039551608, {
        "soft": [0.575, 0.6, 0.7], "hard": [0.675, 0.625, 0.675], "label-spreading": [0.575, 0.55, 0.7],
        "svc": [0.575, 0.7, 0.625]}),
}
BEFORE_CORRECT = 1126  # rows of the 1,797 the chosen route predicted right, for both numbers of folds


@pytest.mark.parametrize("n_splits", [5, 3])
def test_the_chosen_route_and_its_scores_are_those_before_the_split(n_splits):
    X, y, y_semi, both = _fixed_problem()
    route, mean, std, fold_scores = BEFORE[n_splits]
    posterior_and_codes = np.hstack([both[:, :10], normalize(both[:, 10:])])
    searches = [
        RouteSearchCV(FrozenEstimator(FixedFeatures().fit(X)), cv=n_splits, random_state=0).fit(X, y_semi),
        RouteSearchCV("precomputed", feature_blocks={"posterior": slice(0, 10), "latent": slice(10, 16)},
                      cv=n_splits, random_state=0).fit(posterior_and_codes, y_semi),
    ]
    for search, rows in zip(searches, (X, posterior_and_codes)):
        assert search.best_route_ == route and search.best_params_ == {"route": route}
        assert search.best_score_ == pytest.approx(mean) and search.best_score_std_ == pytest.approx(std)
        assert list(search.route_scores_) == list(fold_scores)
        for name, scores in fold_scores.items():
            np.testing.assert_allclose(search.route_scores_[name], scores)
        assert int((search.predict(rows) == y).sum()) == BEFORE_CORRECT
        assert list(search.skipped_routes_) == ["umap-soft"]  # 1,797 rows, or no 'umap' columns given


# ----------------------------------------------------------------- a scikit-learn search
def test_the_search_attributes_are_those_of_a_scikit_learn_search(digits_semi, frozen_gmvae):
    X, _, y_semi = digits_semi
    search = RouteSearchCV(frozen_gmvae, ["soft", "hard", "svc"], cv=4, random_state=0).fit(X, y_semi)
    assert search.n_splits_ == 4 and search.scorer_ is labeled_accuracy_scorer
    assert search.cv_results_["params"] == [{"route": "soft"}, {"route": "hard"}, {"route": "svc"}]
    assert list(search.cv_results_["param_route"]) == ["soft", "hard", "svc"]
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    assert search.best_score_ == search.cv_results_["mean_test_score"][search.best_index_]
    assert all(f"split{fold}_test_score" in search.cv_results_ for fold in range(4))
    assert search.refit_time_ > 0
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    assert search.score(X, y_semi) == labeled_accuracy_scorer(search, X, y_semi)


def test_methods_are_those_of_the_chosen_route(digits_semi, frozen_gmvae):
    X, _, y_semi = digits_semi
    unfitted = RouteSearchCV(frozen_gmvae, ["svc", "soft"])
    assert hasattr(unfitted, "decision_function")  # a route has it: the call says the search is unfitted
    with pytest.raises(sklearn.exceptions.NotFittedError):
        unfitted.decision_function(X)
    # No route has it: absent before fit too, as GridSearchCV's methods follow its estimator's.
    assert not hasattr(RouteSearchCV(frozen_gmvae, ["label-spreading"]), "decision_function")
    assert not hasattr(unfitted, "transform")
    # Routes fit will refuse do not make hasattr raise: the call says unfitted, fit says what is wrong.
    assert hasattr(RouteSearchCV("precomputed", ["no-such-route"]), "predict_proba")

    decoder = RouteSearchCV(frozen_gmvae, ["hard"], random_state=0).fit(X, y_semi)
    posterior = decoder.transformer_.predict_proba(X)
    reference = ClusterLabelDecoder(mode="hard").fit(posterior, y_semi)
    np.testing.assert_allclose(decoder.decision_function(X), reference.decision_function(posterior))
    np.testing.assert_allclose(decoder.predict_proba(X), reference.predict_proba(posterior))
    assert not hasattr(decoder, "transform")  # no built-in route transforms

    svc = RouteSearchCV(frozen_gmvae, ["svc"], random_state=0).fit(X, y_semi)
    assert svc.decision_function(X).shape == (len(X), len(svc.classes_))  # the SVC's class scores
    assert not hasattr(svc, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        svc.predict_proba(X)


# ----------------------------------------------------------------- groups and metadata routing
def _grouped_labels():
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(3), 40)
    y = np.where(rng.rand(len(y)) < 0.4, -1, y)  # about 40% unlabeled, in every group
    groups = np.repeat(np.arange(24), 5)  # 24 groups of five rows
    return y, groups


def test_groups_are_never_in_a_training_and_a_test_fold_at_once():
    y, groups = _grouped_labels()
    tested = []
    for train, test in PartiallyLabeledKFold(4, random_state=0).split(np.zeros(len(y)), y, groups):
        assert not np.isin(groups[train], groups[test]).any()
        assert (y[test] != -1).all()
        # Every other row trains, unlabeled ones included; the test groups' unlabeled rows sit the fold out.
        np.testing.assert_array_equal(train, np.flatnonzero(~np.isin(groups, groups[test])))
        tested.extend(test)
    np.testing.assert_array_equal(np.sort(tested), np.flatnonzero(y != -1))
    with pytest.raises(ValueError, match="span at least 4 groups; they span 3"):
        list(PartiallyLabeledKFold(4).split(np.zeros(len(y)), y, groups % 3))


@pytest.mark.parametrize("routing", [False, True])
@pytest.mark.parametrize("cv", ["partially-labeled", "group-k-fold"])
def test_groups_reach_the_splitter(digits_semi, frozen_gmvae, routing, cv):
    X, _, y_semi = digits_semi
    groups = np.arange(len(X)) // 30  # 60 groups of thirty consecutive rows
    splitter = PartiallyLabeledKFold(3, random_state=0) if cv == "partially-labeled" else GroupKFold(3)
    with sklearn.config_context(enable_metadata_routing=routing):
        search = RouteSearchCV(frozen_gmvae, ["soft", "hard"], cv=splitter).fit(X, y_semi, groups=groups)
    decoders = {"soft": ClusterLabelDecoder(), "hard": ClusterLabelDecoder(mode="hard")}
    posterior = search.transformer_.predict_proba(X)
    for name, decoder in decoders.items():
        scores = []
        for train, test in splitter.split(X, y_semi, groups):
            assert not np.isin(groups[train], groups[test]).any()
            fitted = clone(decoder).fit(posterior[train], y_semi[train])
            scores.append(labeled_accuracy_scorer(fitted, posterior[test], y_semi[test]))
        np.testing.assert_allclose(search.route_scores_[name], scores)


class WeightedDecoder(ClusterLabelDecoder):
    """Records the sample weights of each fit (rows with weight 0 dropped)."""

    seen = []

    def fit(self, X, y, sample_weight=None):
        type(self).seen.append(None if sample_weight is None else np.asarray(sample_weight).copy())
        keep = slice(None) if sample_weight is None else np.asarray(sample_weight) > 0
        return super().fit(np.asarray(X)[keep], np.asarray(y)[keep])


def test_fit_parameters_reach_the_routes_that_request_them_cut_to_each_fold(digits_semi, frozen_gmvae):
    X, _, y_semi = digits_semi
    weights = np.linspace(0.5, 1.5, len(X))
    with sklearn.config_context(enable_metadata_routing=True):
        routes = {"weighted": ("posterior", WeightedDecoder().set_fit_request(sample_weight=True)),
                  "plain": ("posterior", WeightedDecoder().set_fit_request(sample_weight=False))}
        WeightedDecoder.seen = []
        search = RouteSearchCV(frozen_gmvae, routes, cv=PartiallyLabeledKFold(3, random_state=0))
        search.fit(X, y_semi, sample_weight=weights)
    folds = list(PartiallyLabeledKFold(3, random_state=0).split(X, y_semi))
    weighted = [seen for seen in WeightedDecoder.seen if seen is not None]
    assert len(weighted) == 3 + (search.best_route_ == "weighted")  # the folds, and the refit if chosen
    for (train, _), seen in zip(folds, weighted):
        np.testing.assert_array_equal(seen, weights[train])
    assert sum(seen is None for seen in WeightedDecoder.seen) == 3 + (search.best_route_ == "plain")


def test_a_parameter_nothing_requests_is_an_error(digits_semi, frozen_gmvae):
    X, _, y_semi = digits_semi
    search = RouteSearchCV(frozen_gmvae, ["soft"])
    with pytest.raises(ValueError, match="only supported if enable_metadata_routing=True"):
        search.fit(X, y_semi, sample_weight=np.ones(len(X)))
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(TypeError, match="sample_weight.*not routed to any object"):
            search.fit(X, y_semi, sample_weight=np.ones(len(X)))
        with pytest.raises(TypeError, match="groups.*not routed to any object"):  # StratifiedKFold takes none
            RouteSearchCV(frozen_gmvae, ["soft"], cv=StratifiedKFold(3)).fit(X, y_semi, groups=np.zeros(len(X)))
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="set_fit_request"):
            RouteSearchCV(frozen_gmvae, {"mine": ("posterior", WeightedDecoder())}).fit(
                X, y_semi, sample_weight=np.ones(len(X)))


# ----------------------------------------------------------------- routes that cannot run
def test_a_listed_route_that_cannot_run_is_left_out_with_the_reason(digits_semi, frozen_gmvae):
    X, _, y_semi = digits_semi
    X, y_semi = X[:150], y_semi[:150]  # too few rows for UMAPMixture()'s clusters
    y_semi = np.where(np.arange(150) % 3 == 0, np.arange(150) % 4, -1)  # 50 labeled rows of four classes
    with pytest.warns(UserWarning, match=r"leaves out routes that cannot run on this data: 'umap-soft' \(150 rows"):
        search = RouteSearchCV(frozen_gmvae, ["umap-soft", "soft"], cv=3, random_state=0).fit(X, y_semi)
    assert list(search.route_scores_) == ["soft"] and "150 rows" in search.skipped_routes_["umap-soft"]
    mine = {"mine": ("umap", ClusterLabelDecoder()), "soft": ("posterior", ClusterLabelDecoder())}
    with pytest.warns(UserWarning, match="'mine' \\(150 rows"):  # a dict too
        assert list(RouteSearchCV(frozen_gmvae, mine, cv=3).fit(X, y_semi).route_scores_) == ["soft"]
    with pytest.raises(ValueError, match=r"No route can run on this data: 'umap-soft' \(150 rows"):
        RouteSearchCV(frozen_gmvae, ["umap-soft"], cv=3).fit(X, y_semi)


# ----------------------------------------------------------------- precomputed features
def _precomputed(tiny_gmvae, X, umap_posterior=None):
    both = copy.deepcopy(tiny_gmvae).set_params(output="posterior_and_latent").transform(X)
    parts = [both[:, :10], normalize(both[:, 10:])] + ([] if umap_posterior is None else [umap_posterior])
    blocks = {"posterior": slice(0, 10), "latent": slice(10, both.shape[1])}
    if umap_posterior is not None:
        blocks["umap"] = slice(both.shape[1], both.shape[1] + umap_posterior.shape[1])
    return np.hstack(parts), blocks


def test_precomputed_features_give_what_the_gmvae_gives(digits_semi, tiny_gmvae, frozen_gmvae):
    X, _, y_semi = digits_semi
    features, blocks = _precomputed(tiny_gmvae, X)
    on_images = RouteSearchCV(frozen_gmvae, cv=3, random_state=5).fit(X, y_semi)
    on_features = RouteSearchCV("precomputed", feature_blocks=blocks, cv=3, random_state=5).fit(features, y_semi)
    assert on_features.best_route_ == on_images.best_route_
    for name, scores in on_images.route_scores_.items():
        np.testing.assert_allclose(on_features.route_scores_[name], scores)
    np.testing.assert_array_equal(on_features.predict(features), on_images.predict(X))
    assert on_features.transformer_ is None and on_features.n_features_in_ == features.shape[1]
    assert on_features.skipped_routes_ == {"umap-soft": "feature_blocks gives no columns for it"}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_precomputed_features_fall_back_to_umap_soft_decoding_when_its_block_is_given(digits_semi, tiny_gmvae):
    X, y, _ = digits_semi
    umap_posterior = softmax(np.random.RandomState(0).randn(len(X), 6), axis=1)
    y_few = np.full_like(y, -1)
    for label in range(10):
        y_few[np.flatnonzero(y == label)[:2]] = label
    features, blocks = _precomputed(tiny_gmvae, X, umap_posterior)
    search = RouteSearchCV("precomputed", feature_blocks=blocks).fit(features, y_few)
    assert search.fallback_reason_ is not None and search.best_route_ == "umap-soft"
    decoder = ClusterLabelDecoder(mode="soft").fit(umap_posterior, y_few)
    np.testing.assert_array_equal(search.predict(features), decoder.predict(umap_posterior))
    del blocks["umap"]
    search = RouteSearchCV("precomputed", feature_blocks=blocks).fit(features, y_few)
    assert search.best_route_ == "soft"


@pytest.mark.parametrize(
    "transformer, feature_blocks, match",
    [
        ("precomputed", None, "needs feature_blocks"),
        ("precomputed", {"pixels": slice(0, 3)}, "feature_blocks names blocks among"),
        ("precomputed", {"posterior": [0, 99]}, r"must select columns of X, which has 16"),
        ("precomputed", {"posterior": slice(5, 5)}, "at least one column"),
        (GMVAETransformer(), {"posterior": slice(0, 3)}, "give it with transformer='precomputed'"),
    ],
)
def test_feature_blocks_are_checked(transformer, feature_blocks, match):
    X, _, y_semi, both = _fixed_problem()
    with pytest.raises(ValueError, match=match):
        RouteSearchCV(transformer, feature_blocks=feature_blocks).fit(both, y_semi)


def test_builtin_routes_are_new_estimators_each_call():
    first, second = builtin_routes(), builtin_routes()
    assert first.keys() == second.keys()
    assert all(first[name][1] is not second[name][1] for name in first)
