"""The same grid search on Ray, through Ray's joblib backend (a local Ray started and stopped here)."""

import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skgmvae import ClusterLabelDecoder, GMVAETransformer, labeled_accuracy_scorer

ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture(scope="module")
def local_ray():
    from ray.util.joblib import register_ray

    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as error:  # e.g. a sandbox without the shared memory or ports Ray needs
        pytest.skip(f"a local Ray could not start here: {error}")
    register_ray()
    yield
    ray.shutdown()


def test_search_on_ray_equals_the_search_on_one_process(local_ray, digits):
    X, y = digits
    X, y = X[:600], y[:600].copy()
    y[np.random.RandomState(0).rand(len(y)) > 0.3] = -1

    def search(n_jobs):
        # n_jobs=1: Ray's workers run one thread each, and another number of threads rounds differently.
        gmvae = GMVAETransformer(latent_dim=6, hidden_sizes=(64,), max_epochs=5, pretrain_epochs=2, random_state=0,
                                 device="cpu", n_jobs=1)
        pipe = Pipeline([("gmvae", gmvae), ("decoder", ClusterLabelDecoder())])
        return GridSearchCV(pipe, {"gmvae__k": [5, 10]}, cv=KFold(2, shuffle=True, random_state=0),
                            scoring=labeled_accuracy_scorer, n_jobs=n_jobs)

    local = search(1).fit(X, y)
    with parallel_config(backend="ray"):
        on_ray = search(-1).fit(X, y)
    assert on_ray.best_params_ == local.best_params_
    np.testing.assert_array_equal(on_ray.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
