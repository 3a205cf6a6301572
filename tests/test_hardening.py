"""Faults during training, persistence, reproducibility and hostile input."""

import subprocess
import sys

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skgmvae import (
    ClusterLabelDecoder,
    ComponentCollapseWarning,
    GMVAETransformer,
    labeled_accuracy_scorer,
    read_model_metadata,
)

TINY = dict(k=3, latent_dim=2, hidden_sizes=(16,), max_epochs=2, pretrain_epochs=1, batch_size=16,
            random_state=0, device="cpu")
pytestmark = pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")


# ------------------------------------------------------------------ faults during training
# (Ctrl-C during fit: tests/test_fitted_record.py)
def test_nan_loss_stops_with_epoch_and_cause(digits, small_gmvae):
    X, _ = digits
    with pytest.raises(FloatingPointError, match=r"epoch \d+.*learning_rate"):
        small_gmvae(learning_rate=1e6, max_epochs=5, pretrain_epochs=2).fit(X)


def test_component_collapse_is_reported_with_usage_figures(digits, small_gmvae):
    X, _ = digits
    with pytest.warns(ComponentCollapseWarning, match=r"equally used.*% of the posterior mass"):
        small_gmvae(max_epochs=1, pretrain_epochs=0, balance_weight=0.0).fit(X)


@pytest.mark.filterwarnings("error::skgmvae.ComponentCollapseWarning")
@pytest.mark.slow
def test_no_collapse_with_default_training_on_digits(digits):
    X, _ = digits
    gmvae = GMVAETransformer(k=100, random_state=0, device="cpu").fit(X)
    assert gmvae.n_components_used_ > 50


# ------------------------------------------------------------------ persistence
def test_joblib_round_trip(fitted_gmvae, digits, tmp_path):
    X, _ = digits
    joblib.dump(fitted_gmvae, tmp_path / "m.joblib")
    copy = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(copy.transform(X[:20]), fitted_gmvae.transform(X[:20]))


def test_save_load_weights_only(fitted_gmvae, digits, tmp_path):
    X, _ = digits
    path = tmp_path / "gmvae.pt"
    fitted_gmvae.save(path)
    torch.load(path, weights_only=True)  # nothing but safe types inside
    loaded = GMVAETransformer.load(path, device="cpu")
    np.testing.assert_array_equal(loaded.transform(X[:50]), fitted_gmvae.transform(X[:50]))
    assert loaded.get_params() == {**fitted_gmvae.get_params(), "device": "cpu"}
    assert loaded.n_epochs_ == fitted_gmvae.n_epochs_


def test_a_version_2_file_loads_as_it_was_trained(fitted_gmvae, digits, tmp_path):
    X, _ = digits
    fitted_gmvae.save(tmp_path / "model.pt")
    new = torch.load(tmp_path / "model.pt", weights_only=True)
    added_since = ("contrastive_weight", "architecture")
    params = {name: value for name, value in new["params"].items() if name not in added_since}
    old = {"format": new["format"], "format_version": 2, "params": params, "state_dict": new["state_dict"],
           "n_features_in": new["fitted"]["n_features_in_"], "feature_names_in": [],
           "history": new["fitted"]["history_"], "pretrain_history": new["fitted"]["pretrain_history_"],
           "component_usage": new["fitted"]["component_usage_"], "augment": new["fitted"]["augment_"],
           "metadata": {"side": 8}}  # as written before the contrastive term and the architecture parameter
    torch.save(old, tmp_path / "old.pt")
    loaded = GMVAETransformer.load(tmp_path / "old.pt", device="cpu")
    assert loaded.contrastive_weight == 0.0 and loaded.architecture == loaded.architecture_ == "mlp"
    assert not loaded.interrupted_ and read_model_metadata(tmp_path / "old.pt") == {"side": 8}
    np.testing.assert_array_equal(loaded.transform(X[:50]), fitted_gmvae.transform(X[:50]))


def test_load_refuses_other_versions_corrupt_and_foreign_files(fitted_gmvae, tmp_path):
    path = tmp_path / "gmvae.pt"
    fitted_gmvae.save(path)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 999
    torch.save(payload, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="format version 999"):
        GMVAETransformer.load(tmp_path / "future.pt")
    (tmp_path / "corrupt.pt").write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="could not be read"):
        GMVAETransformer.load(tmp_path / "corrupt.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a file written by GMVAETransformer.save"):
        GMVAETransformer.load(tmp_path / "other.pt")


# ------------------------------------------------------------------ reproducibility
@pytest.mark.slow
def test_bit_identical_across_processes(digits):
    X, _ = digits
    code = (
        "import numpy as np, torch; torch.set_num_threads(2);"
        "from skgmvae import GMVAETransformer; from skgmvae.datasets import load_digits_dataset;"
        "X = load_digits_dataset().X_train;"
        "Q = GMVAETransformer(k=5, hidden_sizes=(32,), max_epochs=2, pretrain_epochs=1, random_state=3, n_jobs=2,"
        " device='cpu').fit(X).transform(X[:100]);"
        "print(Q.tobytes().hex())"
    )
    outputs = [subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                              check=True).stdout for _ in range(2)]
    assert outputs[0] == outputs[1] and len(outputs[0]) > 100


def test_results_do_not_depend_on_global_random_state(digits):
    X, _ = digits
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002
    first = GMVAETransformer(**TINY).fit(X).transform(X[:50])
    torch.manual_seed(2)
    np.random.seed(2)  # noqa: NPY002
    second = GMVAETransformer(**TINY).fit(X).transform(X[:50])
    np.testing.assert_array_equal(first, second)


# ------------------------------------------------------------------ hostile and odd input
def test_sparse_input_is_refused_with_the_fix():
    with pytest.raises(TypeError, match="toarray"):
        GMVAETransformer(**TINY).fit(sp.csr_matrix(np.eye(10)))


def test_pandas_dataframe_with_feature_names(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    gmvae = GMVAETransformer(**TINY).fit(frame)
    assert list(gmvae.feature_names_in_[:2]) == ["px0", "px1"]
    assert gmvae.transform(frame).shape == (len(X), 3)
    with pytest.raises(ValueError, match="feature names"):
        gmvae.transform(frame.rename(columns={"px0": "other"}))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.uint8, np.int64, bool])
def test_dtypes(dtype):
    X = (np.random.RandomState(0).rand(40, 9) > 0.5).astype(dtype)
    Q = GMVAETransformer(**TINY).fit(X).transform(X)
    assert Q.dtype == np.float64 and np.allclose(Q.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "X, k",
    [
        (np.full((1, 16), 0.5), 1),                     # one sample
        (np.random.RandomState(0).rand(30, 1), 2),      # one feature
        (np.zeros((30, 16)), 3),                        # constant images
        (np.random.RandomState(0).rand(30, 16), 1),     # k = 1
        (np.random.RandomState(0).rand(12, 16), 12),    # k = n_samples
    ],
)
def test_odd_shapes_fit_and_give_posteriors(X, k):
    Q = GMVAETransformer(**{**TINY, "k": k}).fit(X).transform(X)
    assert Q.shape == (len(X), k)
    assert np.isfinite(Q).all() and np.allclose(Q.sum(axis=1), 1.0)


def test_labels_unseen_at_fit_count_as_errors_in_score():
    Q = np.array([[1.0, 0.0], [0.0, 1.0]])
    decoder = ClusterLabelDecoder().fit(Q, ["a", "b"])
    assert decoder.score(np.vstack([Q, Q]), ["a", "b", "c", "c"]) == 0.5


def test_decoder_given_raw_pixels_says_to_add_the_transformer(digits):
    X, y = digits
    with pytest.raises(ValueError, match="put a GMVAETransformer before the decoder"):
        ClusterLabelDecoder().fit(X, y)


def test_unlabeled_rows_only_in_some_folds(digits, small_gmvae):
    X, y = digits
    X, y = X[:400], y[:400].copy()
    y[:200][np.random.RandomState(0).rand(200) > 0.3] = -1  # first half partly labeled, second half fully
    pipe = Pipeline([("gmvae", small_gmvae(k=10, max_epochs=5)), ("decoder", ClusterLabelDecoder())])
    search = GridSearchCV(pipe, {"decoder__mode": ["soft", "hard"]}, cv=KFold(2), scoring=labeled_accuracy_scorer)
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_validation_never_lets_garbage_through(X):
    """Any 2-D float array either fits into valid posteriors or raises a ValueError."""
    gmvae = GMVAETransformer(**{**TINY, "k": 1, "max_epochs": 1})
    try:
        gmvae.fit(X)
    except ValueError as error:
        assert any(word in str(error) for word in ("NaN", "infinity", "[0, 1]", "value too large"))
        return
    assert np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1
    Q = gmvae.transform(X)
    assert np.isfinite(Q).all() and np.allclose(Q.sum(axis=1), 1.0)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)),
                  elements=st.floats(-1, 2, width=64)))
def test_decoder_validation_never_lets_garbage_through(Q):
    y = np.arange(len(Q)) % 2
    try:
        decoder = ClusterLabelDecoder().fit(Q, y)
    except ValueError as error:
        assert "expects q(c|x)" in str(error)
        assert Q.min() < -1e-3 or not np.allclose(Q.sum(axis=1), 1.0, atol=1e-3)
        return
    proba = decoder.predict_proba(Q)
    assert np.allclose(proba.sum(axis=1), 1.0)
