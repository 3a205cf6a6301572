import numpy as np
import pytest

from skgmvae import ClusterLabelDecoder, suggest_labels


def test_first_round_names_every_component_in_order_of_mass(fitted_gmvae, digits):
    X, _ = digits
    k = fitted_gmvae.k
    chosen = suggest_labels(fitted_gmvae, X, k)
    assert len(chosen) == len(set(chosen)) == k
    resp = fitted_gmvae.transform(X)
    populated = np.unique(resp.argmax(axis=1))
    assert set(resp[chosen].argmax(axis=1)) == set(populated)
    masses = resp.sum(axis=0)[resp[chosen].argmax(axis=1)]
    assert np.all(np.diff(masses) <= 1e-9)  # largest components first


def test_budget_below_k_spreads_over_the_latent_space(fitted_gmvae, digits):
    X, _ = digits
    n_labels = fitted_gmvae.k // 3
    chosen = suggest_labels(fitted_gmvae, X, n_labels)
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


@pytest.mark.parametrize("strategy", ["representative", "uncertain"])
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


def test_budget_beyond_k_and_bad_arguments(fitted_gmvae, digits):
    X, _ = digits
    chosen = suggest_labels(fitted_gmvae, X, 3 * fitted_gmvae.k)
    assert len(set(chosen)) == 3 * fitted_gmvae.k
    with pytest.raises(ValueError, match="n_labels"):
        suggest_labels(fitted_gmvae, X, 0)
    with pytest.raises(ValueError, match="strategy"):
        suggest_labels(fitted_gmvae, X, 5, strategy="greedy")


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
