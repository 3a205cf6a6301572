"""The benchmarks' protocol: disjoint development and report rows, paired ties, the route search on features."""

import numpy as np
import pytest
from sklearn.preprocessing import normalize
from sklearn.semi_supervised import LabelSpreading

from benchmarks._protocol import REPORT_DRAW_SEED, VALIDATION_SIZE, protocol_split
from benchmarks._routes import GraphCachedLabelSpreading, route_matrix, search_routes
from benchmarks._stats import paired_difference, paired_rows, summarize_over_seeds, ties_with_best
from benchmarks.cluster_anchor import cluster_accuracy
from benchmarks.compare_runs import compare
from benchmarks.labeling_loop import predict_choice
from benchmarks.small_folder_length import LENGTHS, length_comparison
from skgmvae import ClusterLabelDecoder, GMVAETransformer, RouteSearchCV, UMAPMixture
from skgmvae._selection import _UMAP_ROWS_PER_CLUSTER


def _data(n_pool, n_candidates, with_test, n_classes=10, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n_pool) % n_classes
    rng.shuffle(y)
    return {"X_pool": rng.rand(n_pool, 4), "y_pool": y, "label_candidates": np.arange(n_candidates),
            "X_test": rng.rand(50, 4) if with_test else None,
            "y_test": np.arange(50) % n_classes if with_test else None}


def test_halves_are_disjoint_stratified_and_fixed():
    data = _data(1200, 1000, with_test=False)
    development, report = protocol_split(data, "development"), protocol_split(data, "report")
    assert not set(development.candidates) & set(report.candidates)
    assert sorted(np.concatenate([development.candidates, report.candidates])) == list(range(1000))
    y = data["y_pool"]
    assert np.abs(np.bincount(y[development.candidates]) - np.bincount(y[report.candidates])).max() <= 1
    np.testing.assert_array_equal(development.candidates, protocol_split(data, "development").candidates)
    assert development.X_test is None and report.held_out is None
    assert (development.draw_seed, report.draw_seed) == (0, REPORT_DRAW_SEED)


def test_validation_rows_are_never_label_candidates_and_test_is_report_only():
    data = _data(VALIDATION_SIZE + 2000, VALIDATION_SIZE + 2000, with_test=True)
    development, report = protocol_split(data, "development"), protocol_split(data, "report")
    assert development.held_out == "validation" and report.held_out == "test"
    assert len(development.y_test) == VALIDATION_SIZE
    validation = np.setdiff1d(np.arange(VALIDATION_SIZE + 2000), development.candidates)
    np.testing.assert_array_equal(development.X_test, data["X_pool"][validation])
    np.testing.assert_array_equal(report.candidates, development.candidates)  # the validation rows stay out
    assert report.X_test is data["X_test"]


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        protocol_split(_data(100, 100, False), "test")


def test_paired_difference_calls_a_difference_inside_the_spread_a_tie():
    ahead = paired_difference([0.80, 0.82, 0.81], [0.70, 0.71, 0.72])
    assert ahead["verdict"] == "a ahead" and ahead["difference"] == pytest.approx(0.1)
    assert ahead["low"] > 0
    # The same means, but the pairs disagree in sign: inside the interval.
    assert paired_difference([0.80, 0.70, 0.75], [0.75, 0.75, 0.74])["verdict"] == "tie"
    assert paired_difference([0.5], [0.9])["verdict"] == "tie"  # one pair says nothing
    with pytest.raises(ValueError, match="paired"):
        paired_difference([0.1, 0.2], [0.1])


def _records():
    rows = []
    for train_seed in (0, 1):
        for seed in range(4):
            for method, accuracy in (("A", 0.80 + 0.01 * seed + 0.02 * train_seed),
                                     ("B", 0.60 + 0.01 * seed),
                                     ("C", 0.80 + 0.01 * seed + (0.02 if seed % 2 else -0.02))):
                rows.append({"protocol_split": "report", "split": "rest", "method": method, "n_labels": 10,
                             "train_seed": train_seed, "seed": seed, "accuracy": accuracy})
    return rows


def test_summary_separates_the_spread_over_draws_from_the_spread_over_training_seeds():
    summary = {row["method"]: row for row in summarize_over_seeds(_records())}
    assert summary["A"]["n_train_seeds"] == 2 and summary["A"]["n_draws"] == 4
    assert summary["A"]["seed_sd"] == pytest.approx(np.std([0.815, 0.835], ddof=1))
    assert summary["B"]["seed_sd"] == 0.0
    assert summary["B"]["draw_sd"] == pytest.approx(np.std([0.60, 0.61, 0.62, 0.63], ddof=1))


def test_ties_with_best_lists_the_methods_within_the_paired_interval():
    records = _records()
    summary, paired = summarize_over_seeds(records), paired_rows(records)
    (row,) = ties_with_best(summary, paired)
    assert row["best"] == "A"
    # C trails A by 0.01 on average, but the pairs swing with the training seed: a tie. B is far behind.
    assert row["tied"] == "C"


def test_compare_runs_pairs_the_same_draws_and_reads_the_direction_of_b_minus_a():
    keys = [(100, "0", str(draw), "test") for draw in range(5)]
    a = {key: 0.70 + 0.01 * index for index, key in enumerate(keys)}
    b = {key: value + 0.05 for key, value in a.items()}
    b[(300, "0", "0", "test")] = 0.9  # only in b: not paired
    (row,) = compare(a, b)
    assert row["n_labels"] == 100 and row["n_pairs"] == 5
    assert row["difference_b_minus_a"] == pytest.approx(0.05) and row["verdict"] == "b ahead"
    assert compare(b, a)[0]["verdict"] == "a ahead"


def test_predict_choice_reads_the_route_and_estimate_that_skgmvae_predict_prints():
    searched = ("route: umap-soft, chosen by 5-fold cross-validation on the 100 labeled images (the first route, "
                "in the order of preference, whose mean accuracy is within one standard error of the best)\n"
                "estimated accuracy 85.5% ± 5.9 (mean ± standard deviation over the 5 folds; ...)\n")
    assert predict_choice(searched) == {"route": "umap-soft", "cv_estimate": pytest.approx(0.855)}
    fallback = ("route: taken without a cross-validated choice or accuracy estimate: RouteSearchCV needs at least "
                "two classes with 5 labeled rows each (one per fold) to compare routes, but 10 classes are labeled "
                "and 1 of them have that many (the most frequent has 5). Predicting with soft decoding of the GMVAE "
                "clusters ('soft'), without a search. Label more rows, or lower cv.\n")
    assert predict_choice(fallback) == {"route": "soft (fallback, no search)", "cv_estimate": None}


def test_small_folder_summary_pairs_runs_by_seed_and_draw_not_by_position():
    default, short = LENGTHS
    records = [{"length": length, "labels": "10 random", "train_seed": seed, "draw": draw,
                "accuracy": 0.5 + 0.1 * seed + 0.01 * draw + (0.02 if length == short else 0.0)}
               for length in LENGTHS for seed in range(2) for draw in range(3)]
    shuffled = records[:6] + records[6:][::-1]  # the short runs in another order
    (row,) = length_comparison(shuffled)
    assert row["n_labels"] == "10 random" and row["n_pairs"] == 6
    assert row["difference_b_minus_a"] == pytest.approx(0.02) and row["verdict"] == "b ahead"  # b: half the caps
    assert row["ci"] == pytest.approx(0, abs=1e-9)  # positional pairing would spread the differences


def test_cluster_accuracy_matches_clusters_to_classes_one_to_one():
    y = np.array([0, 0, 0, 1, 1, 2])
    assert cluster_accuracy(y, np.array([7, 7, 7, 4, 4, 9])) == 1.0
    # Two clusters of one class: only one of them can be matched to it.
    assert cluster_accuracy(y, np.array([1, 1, 2, 3, 3, 4])) == pytest.approx(5 / 6)


def test_label_spreading_with_a_cached_graph_gives_label_spreadings_result():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 5)
    y = np.full(200, -1)
    y[:20] = np.arange(20) % 3
    for labels in (y, np.roll(y, 7)):
        cached = GraphCachedLabelSpreading(kernel="knn", n_neighbors=7).fit(X, labels)
        reference = LabelSpreading(kernel="knn", n_neighbors=7).fit(X, labels)
        np.testing.assert_allclose(cached.label_distributions_, reference.label_distributions_)
        np.testing.assert_array_equal(cached.predict(X[:30]), reference.predict(X[:30]))


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning", "ignore::UserWarning")
def test_route_search_on_features_picks_what_route_search_cv_picks(digits):
    X, y = digits
    gmvae = GMVAETransformer(k=10, max_epochs=2, pretrain_epochs=1, random_state=0).fit(X)
    y_semi = np.full(len(y), -1)
    labeled = np.random.RandomState(3).choice(len(y), 150, replace=False)
    y_semi[labeled] = y[labeled]
    search = RouteSearchCV(gmvae, cv=3, random_state=5).fit(X, y_semi)
    both = gmvae.set_params(output="both").transform(X)
    features = {"posterior": both[:, :10], "latent": normalize(both[:, 10:]),
                "umap-posterior": np.zeros((len(X), 1))}  # too few rows for UMAP: 'auto' skips that route
    F, blocks = route_matrix(features)
    route, info = search_routes(F, blocks, y_semi, cv=3, random_state=5)
    assert info["chosen_route"] == search.best_route_
    assert info["cv_score"] == pytest.approx(search.best_score_)
    np.testing.assert_array_equal(route.predict(F), search.predict(X))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_route_search_falls_back_to_soft_decoding_with_a_label_or_two_per_class():
    rng = np.random.RandomState(0)
    features = {"posterior": rng.dirichlet(np.ones(6), 300), "latent": normalize(rng.randn(300, 4)),
                "umap-posterior": rng.dirichlet(np.ones(6), 300)}
    y_semi = np.full(300, -1)
    y_semi[:6] = [0, 1, 2, 3, 4, 5]
    route, info = search_routes(*route_matrix(features), y_semi, cv=5, random_state=0)
    assert info["fallback"] and info["chosen_route"] == "soft" and np.isnan(info["cv_score"])
    assert set(route.predict(route_matrix(features)[0])) <= set(range(6))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_route_search_falls_back_to_umap_soft_decoding_when_it_has_enough_rows():
    pytest.importorskip("umap")
    rng = np.random.RandomState(0)
    n_rows = _UMAP_ROWS_PER_CLUSTER * UMAPMixture().k  # the fewest rows 'auto' keeps its UMAP route for
    features = {"posterior": rng.dirichlet(np.ones(6), n_rows), "latent": normalize(rng.randn(n_rows, 4)),
                "umap-posterior": rng.dirichlet(np.ones(UMAPMixture().k), n_rows)}
    y_semi = np.full(n_rows, -1)
    y_semi[:6] = [0, 1, 2, 3, 4, 5]
    F, blocks = route_matrix(features)
    route, info = search_routes(F, blocks, y_semi, cv=5, random_state=0)
    assert info["fallback"] and info["chosen_route"] == "umap-soft"
    decoder = ClusterLabelDecoder(mode="soft").fit(features["umap-posterior"], y_semi)
    np.testing.assert_array_equal(route.predict(F), decoder.predict(features["umap-posterior"]))
