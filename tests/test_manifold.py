"""UMAPMixture: a posterior over clusters from a mixture on a UMAP embedding of the codes."""

import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer

from skgmvae import ClusterLabelDecoder, UMAPMixture

pytest.importorskip("umap")


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(400, n_features=6, centers=4, cluster_std=0.8, random_state=0)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, _ = blobs
    mixture = UMAPMixture(k=8, embedding_dim=3, n_neighbors=10, random_state=0)
    return mixture, mixture.fit_transform(X[:300])


def test_posterior_rows_sum_to_one_and_follow_the_blobs(blobs, fitted):
    X, y = blobs
    mixture, posterior = fitted
    assert posterior.shape == (300, 8) and mixture.transform(X[300:]).shape == (100, 8)
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0, rtol=1e-6)
    # Soft decoding with one labeled row per blob names the clusters of the unseen rows.
    labeled = np.array([np.flatnonzero(y[:300] == label)[0] for label in range(4)])
    decoder = ClusterLabelDecoder().fit(posterior[labeled], y[labeled])
    assert (decoder.predict(mixture.transform(X[300:])) == y[300:]).mean() > 0.95


def test_training_rows_transform_to_their_fitted_posterior_and_batches_do_not_matter(blobs, fitted):
    X, _ = blobs
    mixture, posterior = fitted
    np.testing.assert_allclose(mixture.transform(X[:300]), posterior, atol=1e-8)
    new = X[300:]
    np.testing.assert_allclose(mixture.transform(new)[:10], mixture.transform(new[:10]))


def test_same_seed_same_posterior_and_pickle_round_trip(blobs, fitted):
    X, _ = blobs
    mixture, posterior = fitted
    again = clone(mixture).fit_transform(X[:300])
    np.testing.assert_allclose(again, posterior)
    restored = pickle.loads(pickle.dumps(mixture))
    np.testing.assert_allclose(restored.transform(X[300:]), mixture.transform(X[300:]))
    assert list(mixture.get_feature_names_out()[:2]) == ["umapmixture0", "umapmixture1"]


def test_composes_after_normalizer_and_before_the_decoder(blobs):
    X, y = blobs
    y_semi = np.full(len(y), -1)
    y_semi[:40] = y[:40]
    model = make_pipeline(Normalizer(), UMAPMixture(k=6, embedding_dim=2, n_neighbors=10, random_state=0),
                          ClusterLabelDecoder()).fit(X, y_semi)
    assert model.predict(X).shape == (len(X),)
    assert set(model.classes_) == set(range(4))


@pytest.mark.parametrize(
    "params, X_rows, match",
    [
        ({"k": 50}, 30, "k <= n_samples"),
        ({"embedding_dim": 10}, 8, "n_samples=8"),
        ({"n_neighbors": 1}, 30, "'n_neighbors' parameter"),
        ({"k": 0}, 30, "'k' parameter"),
    ],
)
def test_bad_settings_raise_clear_errors(params, X_rows, match):
    X = np.random.RandomState(0).rand(X_rows, 4)
    with pytest.raises(ValueError, match=match):
        UMAPMixture(**{"k": 3, **params}).fit(X)


def test_nan_codes_are_refused():
    X = np.random.RandomState(0).rand(30, 4)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        UMAPMixture(k=3).fit(X)


def test_missing_umap_learn_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # what an uninstalled package looks like to import
    with pytest.raises(ImportError, match=r"skgmvae\[umap\]"):
        UMAPMixture(k=3).fit(np.random.RandomState(0).rand(30, 4))


def test_a_new_row_between_two_clusters_shares_its_mass_between_them():
    rng = np.random.RandomState(0)
    right = rng.normal(size=(100, 2)) * 0.3 + [5.0, 0.0]
    X = np.vstack([right, -right])  # two mirrored blobs: a point at the origin is as near to one as to the other
    mixture = UMAPMixture(k=2, embedding_dim=2, n_neighbors=10, random_state=0).fit(X)
    posterior = mixture.transform([[0.0, 0.0]])[0]
    assert posterior.min() > 0.3
    sides = mixture.transform(np.array([[5.0, 0.0], [-5.0, 0.0]]))
    assert sides.max(axis=1).min() > 0.95 and sides[0].argmax() != sides[1].argmax()
