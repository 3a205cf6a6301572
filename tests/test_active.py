import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.preprocessing import normalize

from skgmvae import ClusterLabelDecoder, suggest_labels
from skgmvae._active import _auto_n_neighbors, _greedy_coverage


def test_first_round_names_every_component_in_order_of_mass(fitted_gmvae, digits):
    X, _ = digits
    k = fitted_gmvae.k
    chosen = suggest_labels(fitted_gmvae, X, k, strategy="representative")
    assert len(chosen) == len(set(chosen)) == k
    resp = fitted_gmvae.transform(X)
    populated = np.unique(resp.argmax(axis=1))
    assert set(resp[chosen].argmax(axis=1)) == set(populated)
    masses = resp.sum(axis=0)[resp[chosen].argmax(axis=1)]
    assert np.all(np.diff(masses) <= 1e-9)  # largest components first


def test_budget_below_k_spreads_over_the_latent_space(fitted_gmvae, digits):
    X, _ = digits
    n_labels = fitted_gmvae.k // 3
    chosen = suggest_labels(fitted_gmvae, X, n_labels, strategy="representative")
    resp = fitted_gmvae.transform(X)
    components = resp[chosen].argmax(axis=1)
    assert len(set(chosen)) == len(set(components)) == n_labels
    mass = resp.sum(axis=0)
    assert mass.argmax() in components  # the largest component heads its group
    means = fitted_gmvae.module_.prior.means.detach().numpy()

    def mean_pairwise_distance(indices):
        points = means[indices]
        return np.linalg.norm(points[:, None] - points[None], axis=-1).mean()

    heaviest = np.argsort(-mass)[:n_labels]
    assert mean_pairwise_distance(components) > mean_pairwise_distance(heaviest)


@pytest.mark.parametrize("strategy", ["coverage", "representative", "uncertain"])
@pytest.mark.parametrize("share_of_k", [0.5, 1])
def test_suggested_labels_beat_random_ones_on_digits(fitted_gmvae, digits, strategy, share_of_k):
    X, y = digits
    Q = fitted_gmvae.transform(X)
    n_labels = int(share_of_k * fitted_gmvae.k)

    def accuracy(labeled):
        rest = np.setdiff1d(np.arange(len(X)), labeled)
        return ClusterLabelDecoder().fit(Q[labeled], y[labeled]).score(Q[rest], y[rest])

    suggested = accuracy(suggest_labels(fitted_gmvae, X, n_labels, strategy=strategy))
    random = np.mean([accuracy(np.random.RandomState(s).choice(len(X), n_labels, replace=False))
                      for s in range(5)])
    assert suggested > random


@pytest.mark.parametrize("strategy", ["coverage", "representative", "uncertain"])
def test_budget_beyond_k_and_bad_arguments(fitted_gmvae, digits, strategy):
    X, _ = digits
    chosen = suggest_labels(fitted_gmvae, X, 3 * fitted_gmvae.k, strategy=strategy)
    assert len(set(chosen)) == 3 * fitted_gmvae.k
    with pytest.raises(ValueError, match="n_labels"):
        suggest_labels(fitted_gmvae, X, 0)
    with pytest.raises(ValueError, match="strategy"):
        suggest_labels(fitted_gmvae, X, 5, strategy="greedy")
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[1797, 3\]"):
        suggest_labels(fitted_gmvae, X, 5, y=[-1, -1, 0])
    with pytest.raises(ValueError, match="missing"):  # NaN is no unlabeled marker here: -1 is
        suggest_labels(fitted_gmvae, X, 5, y=np.r_[np.nan, np.full(len(X) - 1, -1.0)])
    with pytest.raises(ValueError, match="at most the number of unlabeled images, 2; got 5"):
        suggest_labels(fitted_gmvae, X, 5, y=np.r_[np.zeros(len(X) - 2), -1, -1])


@pytest.mark.parametrize("strategy", ["coverage", "representative", "uncertain"])
def test_rounds_never_suggest_an_image_twice_or_once_it_is_labeled(fitted_gmvae, digits, strategy):
    X, y = digits
    y_in_hand = np.full(len(X), -1)
    seen = []
    for _ in range(3):
        chosen = suggest_labels(fitted_gmvae, X, 10, y=y_in_hand, strategy=strategy)
        assert len(set(chosen)) == 10 and (y_in_hand[chosen] == -1).all()
        y_in_hand[chosen] = y[chosen]
        seen.extend(chosen)
    assert len(set(seen)) == 30
    labels_as_text = np.where(y_in_hand == -1, "-1", y_in_hand.astype(str)).astype(object)
    np.testing.assert_array_equal(suggest_labels(fitted_gmvae, X, 5, y=labels_as_text, strategy=strategy),
                                  suggest_labels(fitted_gmvae, X, 5, y=y_in_hand, strategy=strategy))


def _blobs(n_blobs=6):
    codes, blob = make_blobs(600, n_features=8, centers=n_blobs, cluster_std=0.3, random_state=0)
    return normalize(codes), blob


def test_coverage_spreads_a_budget_over_as_many_clusters_as_it_can_name():
    codes, blob = _blobs()
    none_labeled = np.zeros(len(codes), dtype=bool)
    chosen = _greedy_coverage(codes, 6, none_labeled, n_neighbors=30, temperature=0.1)
    assert sorted(blob[chosen]) == list(range(6))
    # Labels in hand cover their clusters: the next picks go to the clusters no label names.
    labeled = none_labeled.copy()
    labeled[[np.flatnonzero(blob == b)[0] for b in (0, 1, 2, 3)]] = True
    then = _greedy_coverage(codes, 2, labeled, n_neighbors=30, temperature=0.1)
    assert sorted(blob[then]) == [4, 5] and not labeled[then].any()


def test_each_coverage_pick_raises_the_objective_most():
    codes, _ = _blobs(3)
    codes = codes[:120]
    n_neighbors, temperature = 10, 0.1
    distance = np.linalg.norm(codes[:, None] - codes[None], axis=-1)
    within = np.argsort(distance, axis=1, kind="stable")[:, :n_neighbors]
    kernel = np.zeros_like(distance)
    rows = np.arange(len(codes))[:, None]
    kernel[rows, within] = np.exp(-distance[rows, within] ** 2 / (2 * temperature))  # kernel[x, s]: s covers x

    def objective(chosen):
        return kernel[:, chosen].max(axis=1).sum() if len(chosen) else 0.0

    chosen = _greedy_coverage(codes, 8, np.zeros(len(codes), dtype=bool), n_neighbors, temperature)
    for step in range(8):
        before = list(chosen[:step])
        gains = [objective(before + [s]) - objective(before) if s not in before else -1 for s in range(len(codes))]
        assert objective(before + [chosen[step]]) - objective(before) == pytest.approx(max(gains))


def test_strategies_share_the_first_round_then_follow_their_own_rule(fitted_gmvae, digits):
    X, _ = digits
    resp = fitted_gmvae.predict_proba(X)
    log_density = fitted_gmvae.component_log_density(X)
    assigned = resp.argmax(axis=1)
    n_first = len(np.unique(assigned))  # one image per populated component
    representative = suggest_labels(fitted_gmvae, X, 2 * n_first, strategy="representative")
    uncertain = suggest_labels(fitted_gmvae, X, 2 * n_first, strategy="uncertain")
    np.testing.assert_array_equal(representative[:n_first], uncertain[:n_first])

    entropy = -(resp * np.log(np.clip(resp, 1e-300, None))).sum(axis=1)
    first = set(uncertain[:n_first])
    most_uncertain = [row for row in np.argsort(-entropy, kind="stable") if row not in first][:n_first]
    np.testing.assert_array_equal(uncertain[n_first:], most_uncertain)
    for row in representative[n_first:]:  # each component's second most typical member
        members = np.flatnonzero(assigned == assigned[row])
        assert (log_density[members, assigned[row]] > log_density[row, assigned[row]]).sum() == 1
    assert entropy[uncertain[n_first:]].mean() > entropy[representative[n_first:]].mean()


def test_coverage_takes_every_unlabeled_image_and_covers_duplicates():
    codes = normalize(np.r_[np.tile([[1.0, 0.0]], (40, 1)), np.random.RandomState(0).rand(20, 2)])
    labeled = np.zeros(len(codes), dtype=bool)
    labeled[45] = True
    chosen = _greedy_coverage(codes, len(codes) - 1, labeled, n_neighbors=30, temperature=0.1)
    assert sorted(chosen) == sorted(set(range(len(codes))) - {45})
    # Forty copies of one code: the first pick is one of them (they cover each other), and no copy is picked
    # again before every other image is covered.
    assert chosen[0] < 40
    first_copy_again = min(position for position, row in enumerate(chosen[1:], 1) if row < 40)
    assert set(chosen[:first_copy_again]) >= set(range(40, 60)) - {45}


@pytest.mark.parametrize("strategy", ["representative", "uncertain"])
def test_component_rules_name_the_components_no_label_names_first(fitted_gmvae, digits, strategy):
    X, y = digits
    assigned = fitted_gmvae.predict(X)
    n_first = len(np.unique(assigned)) // 2
    first = suggest_labels(fitted_gmvae, X, n_first, strategy=strategy)
    y_in_hand = np.full(len(X), -1)
    y_in_hand[first] = y[first]
    unnamed = set(np.unique(assigned)) - set(assigned[first])
    second = suggest_labels(fitted_gmvae, X, len(unnamed), y=y_in_hand, strategy=strategy)
    assert set(assigned[second]) == unnamed


@pytest.mark.parametrize("n_samples, n_labeled, n_labels, expected", [
    (898, 0, 10, 30), (1_797, 0, 10, 60), (4_440, 0, 26, 57), (10_000, 0, 20, 167), (10_000, 10, 10, 167),
    (10_000, 0, 10, 300), (10_000, 0, 300, 30), (20, 0, 5, 30),
])
def test_auto_neighbourhood_is_a_third_of_the_images_per_label_from_30_to_300(n_samples, n_labeled, n_labels,
                                                                              expected):
    assert _auto_n_neighbors(n_samples, n_labeled, n_labels) == expected


def test_auto_neighbourhood_counts_the_labels_in_hand():
    codes = normalize(np.random.RandomState(0).randn(3_000, 8))
    labeled = np.zeros(len(codes), dtype=bool)
    labeled[:10] = True  # with 10 more to choose: 3,000 / (3 * 20) = 50 neighbours, not 100
    auto = _greedy_coverage(codes, 10, labeled, n_neighbors="auto", temperature="auto")
    np.testing.assert_array_equal(auto, _greedy_coverage(codes, 10, labeled, 50, "auto"))
    assert not np.array_equal(auto, _greedy_coverage(codes, 10, labeled, 100, "auto"))
