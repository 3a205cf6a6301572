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


@pytest.mark.parametrize("strategy", ["representative", "uncertain"])
def test_suggested_labels_beat_random_ones_on_digits(fitted_gmvae, digits, strategy):
    X, y = digits
    Q = fitted_gmvae.transform(X)
    n_labels = fitted_gmvae.k

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
