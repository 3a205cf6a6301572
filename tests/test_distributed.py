"""GridSearchCV over K on a real Dask LocalCluster (2 workers, 1 thread each), started and closed here."""

import numpy as np
import pytest
from joblib import Memory, parallel_config
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skgmvae import ClusterLabelDecoder, GMVAETransformer, labeled_accuracy_scorer
from skgmvae._runtime import resolve_threads

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")]

# n_jobs=1: the workers run one thread each, and another number of threads rounds differently.
SEARCH_GMVAE = dict(latent_dim=6, hidden_sizes=(64,), max_epochs=8, pretrain_epochs=3, random_state=0, device="cpu",
                    n_jobs=1)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.fixture(scope="module")
def partly_labeled_digits(digits):
    X, y = digits
    y_semi = y.copy()
    y_semi[np.random.RandomState(0).rand(len(y)) > 0.3] = -1
    return X[:900], y_semi[:900]


def _search(memory=None, error_score=np.nan, k_values=(5, 10, 20)):
    pipe = Pipeline([("gmvae", GMVAETransformer(**SEARCH_GMVAE)), ("decoder", ClusterLabelDecoder())],
                    memory=memory)
    return GridSearchCV(pipe, {"gmvae__k": list(k_values)}, cv=KFold(2, shuffle=True, random_state=0),
                        scoring=labeled_accuracy_scorer, n_jobs=-1, error_score=error_score)


def test_search_on_dask_equals_the_search_on_one_process(client, partly_labeled_digits, tmp_path):
    X, y = partly_labeled_digits
    local = _search().set_params(n_jobs=1).fit(X, y)
    with parallel_config(backend="dask"):
        on_dask = _search(memory=Memory(tmp_path / "cache", verbose=0)).fit(X, y)
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    # The workers wrote the fitted transformers into the shared cache folder.
    assert any((tmp_path / "cache").rglob("*.pkl"))
    np.testing.assert_array_equal(on_dask.predict(X[:50]), local.predict(X[:50]))


def test_a_fit_in_a_one_thread_worker_uses_one_torch_thread(client, partly_labeled_digits):
    X, _ = partly_labeled_digits
    assert client.submit(resolve_threads, None, pure=False).result() == 1
    fitted = client.submit(GMVAETransformer(k=5, **{**SEARCH_GMVAE, "n_jobs": None}).fit, X, pure=False).result()
    assert fitted.n_threads_ == 1
    assert np.allclose(fitted.transform(X[:5]).sum(axis=1), 1.0)  # came back usable


def test_a_candidate_failing_in_a_worker_is_reported_as_with_one_process(client, partly_labeled_digits):
    X, y = partly_labeled_digits
    too_many = 10_000  # more components than rows: that candidate's fit fails
    local = _search(k_values=(5, too_many)).set_params(n_jobs=1)
    with pytest.warns(FitFailedWarning, match="k <= n_samples"):
        local.fit(X, y)
    with parallel_config(backend="dask"), pytest.warns(FitFailedWarning, match="k <= n_samples"):
        on_dask = _search(k_values=(5, too_many)).fit(X, y)
    assert np.isnan(on_dask.cv_results_["mean_test_score"][1]) and np.isnan(local.cv_results_["mean_test_score"][1])
    assert on_dask.best_params_ == local.best_params_ == {"gmvae__k": 5}
    with parallel_config(backend="dask"), pytest.raises(ValueError, match="k <= n_samples"):
        _search(k_values=(too_many,), error_score="raise").fit(X, y)
