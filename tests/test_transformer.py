import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skgmvae import ClusterLabelDecoder, GMVAETransformer


def test_transform_is_a_posterior_over_k_components(fitted_gmvae, digits):
    X, _ = digits
    Q = fitted_gmvae.transform(X)
    assert Q.shape == (len(X), 30)
    assert (Q >= 0).all()
    np.testing.assert_allclose(Q.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(fitted_gmvae.predict(X), Q.argmax(axis=1))


def test_fitted_attributes(fitted_gmvae):
    assert fitted_gmvae.n_features_in_ == 64
    assert fitted_gmvae.n_epochs_ == 40 == len(fitted_gmvae.history_)
    assert len(fitted_gmvae.pretrain_history_) == 10
    assert isinstance(fitted_gmvae.module_, torch.nn.Module)
    assert fitted_gmvae.component_usage_.shape == (30,)
    np.testing.assert_allclose(fitted_gmvae.component_usage_.sum(), 1.0)
    assert 1.0 <= fitted_gmvae.n_components_used_ <= 30.0
    assert set(fitted_gmvae.history_[0]) >= {"epoch", "elbo", "reconstruction", "kl_z", "kl_c"}
    assert list(fitted_gmvae.get_feature_names_out()) == [f"gmvaetransformer_c{i}" for i in range(30)]


def test_training_raises_the_elbo(fitted_gmvae):
    elbo = [entry["elbo"] for entry in fitted_gmvae.history_]
    assert np.mean(elbo[-5:]) > np.mean(elbo[:5]) + 1.0


def test_clusters_carry_label_information(fitted_gmvae, digits):
    """A few labels per class name the clusters well above chance (10%)."""
    X, y = digits
    Q = fitted_gmvae.transform(X)
    labeled = np.random.RandomState(0).choice(len(X), 50, replace=False)
    rest = np.setdiff1d(np.arange(len(X)), labeled)
    for mode, floor in [("soft", 0.75), ("hard", 0.7)]:
        decoder = ClusterLabelDecoder(mode=mode).fit(Q[labeled], y[labeled])
        assert decoder.score(Q[rest], y[rest]) > floor


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_score_is_mean_elbo_and_prefers_trained_model(fitted_gmvae, digits, small_gmvae):
    X, _ = digits
    per_sample = fitted_gmvae.score_samples(X)
    assert per_sample.shape == (len(X),)
    assert fitted_gmvae.score(X) == pytest.approx(per_sample.mean())
    barely_trained = small_gmvae(max_epochs=1, pretrain_epochs=0).fit(X)
    assert fitted_gmvae.score(X) > barely_trained.score(X)


def test_sample_images_and_components(fitted_gmvae):
    images, components = fitted_gmvae.sample(12, random_state=0)
    assert images.shape == (12, 64)
    assert ((images >= 0) & (images <= 1)).all()
    assert components.shape == (12,) and components.max() < 30
    images_3, components_3 = fitted_gmvae.sample(4, component=3, random_state=0)
    assert (components_3 == 3).all()
    again, _ = fitted_gmvae.sample(12, random_state=0)
    np.testing.assert_array_equal(images, again)
    with pytest.raises(ValueError, match="component"):
        fitted_gmvae.sample(2, component=30)


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_same_random_state_gives_identical_transform(digits, small_gmvae):
    X, _ = digits
    params = dict(max_epochs=3, pretrain_epochs=1)
    first = small_gmvae(**params).fit(X).transform(X)
    second = small_gmvae(**params).fit(X).transform(X)
    np.testing.assert_array_equal(first, second)
    other = small_gmvae(random_state=1, **params).fit(X).transform(X)
    assert not np.allclose(first, other)


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_fit_leaves_global_random_state_alone(digits, small_gmvae):
    X, _ = digits
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch, expected_numpy = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    small_gmvae(max_epochs=1, pretrain_epochs=1).fit(X)
    np.testing.assert_array_equal(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)


def test_pickle_round_trip_gives_identical_output(fitted_gmvae, digits):
    X, _ = digits
    copy = pickle.loads(pickle.dumps(fitted_gmvae))
    np.testing.assert_array_equal(copy.transform(X[:100]), fitted_gmvae.transform(X[:100]))
    unfitted = clone(fitted_gmvae)
    assert not hasattr(unfitted, "module_")
    with pytest.raises(NotFittedError):
        unfitted.transform(X[:5])


@pytest.mark.parametrize(
    "n_features, expected",
    [(784, "conv"), (256, "conv"), (64, "mlp"), (144, "mlp"), (900, "mlp"), (30, "mlp")],
)
def test_auto_architecture_is_conv_for_square_images_from_16_pixels_with_a_side_divisible_by_4(n_features, expected):
    from skgmvae._fitting import resolve_architecture

    assert resolve_architecture("auto", n_features) == expected
    assert resolve_architecture("mlp", n_features) == "mlp"


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_conv_architecture_fits_digits_and_survives_save_and_load(digits, small_gmvae, tmp_path):
    X, y = digits
    gmvae = small_gmvae(architecture="conv", max_epochs=3, pretrain_epochs=2).fit(X)
    Q = gmvae.transform(X[:50])
    assert Q.shape == (50, 30) and np.allclose(Q.sum(axis=1), 1.0)
    gmvae.save(tmp_path / "conv.pt")
    loaded = GMVAETransformer.load(tmp_path / "conv.pt")
    assert loaded.architecture == loaded.architecture_ == gmvae.architecture_ == "conv"
    np.testing.assert_array_equal(loaded.transform(X[:50]), Q)


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_each_rows_posterior_is_the_same_alone_in_a_large_call_and_reordered(digits, small_gmvae, architecture):
    from skgmvae._inference import INFERENCE_BATCH_SIZE

    X, _ = digits
    X = X[:INFERENCE_BATCH_SIZE + 100]  # two batches, the second one padded
    gmvae = small_gmvae(architecture=architecture, max_epochs=1, pretrain_epochs=1).fit(X)
    together = gmvae.transform(X)
    alone = np.vstack([gmvae.transform(X[i:i + 1]) for i in (0, 5, len(X) - 1)])
    np.testing.assert_array_equal(alone, together[[0, 5, len(X) - 1]])
    order = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_array_equal(gmvae.transform(X[order]), together[order])
    np.testing.assert_array_equal(gmvae.component_log_density(X[:3]), gmvae.component_log_density(X)[:3])
    assert together.dtype == np.float64


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_verbose_shows_progress_bar_and_silent_otherwise(digits, capsys, small_gmvae):
    X, _ = digits
    small_gmvae(max_epochs=2, pretrain_epochs=1, verbose=True).fit(X)
    assert "GMVAE" in capsys.readouterr().err
    small_gmvae(max_epochs=2, pretrain_epochs=1).fit(X)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_warm_start_continues_training(digits, small_gmvae):
    X, _ = digits
    gmvae = small_gmvae(max_epochs=2, pretrain_epochs=1, warm_start=True).fit(X)
    first_module = gmvae.module_
    gmvae.fit(X)
    assert gmvae.n_epochs_ == 4 and gmvae.module_ is first_module


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_learning_rate_schedule(digits, schedule, small_gmvae):
    X, _ = digits
    gmvae = small_gmvae(max_epochs=4, pretrain_epochs=1, learning_rate=2e-3,
                        learning_rate_schedule=schedule).fit(X[:300])
    rates = [entry["learning_rate"] for entry in gmvae.history_]
    if schedule == "constant":
        assert rates == [2e-3] * 4
    else:
        assert np.all(np.diff(rates) < 0) and rates[-1] == pytest.approx(0, abs=1e-12)
        assert rates[1] == pytest.approx(1e-3)  # half-way through a half cosine: half the step size


def test_history_tracks_component_usage_and_moves(fitted_gmvae):
    # Digits has fewer rows than the usage sample, so the last epoch's figure is measured on the
    # same images and the same model as n_components_used_ (float32 against float64).
    assert fitted_gmvae.history_[-1]["components_used"] == pytest.approx(fitted_gmvae.n_components_used_, rel=1e-3)
    moved = [entry["components_moved"] for entry in fitted_gmvae.history_]
    assert moved[-1] == 0  # nothing moves after the last epoch: it would stay untrained


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_min_component_usage_revives_a_dead_component(digits, small_gmvae):
    """A component pushed far from every code holds no mass; revival brings it back into use."""
    X, _ = digits
    gmvae = small_gmvae(max_epochs=3, pretrain_epochs=2, warm_start=True).fit(X)
    with torch.no_grad():
        gmvae.module_.prior.means[7] = 1e3
    gmvae.set_params(max_epochs=2, min_component_usage=0.0).fit(X)
    assert [entry["components_moved"] for entry in gmvae.history_[-2:]] == [0, 0]
    assert gmvae.module_.prior.means[7].abs().min() > 900  # off: the dead component stays where it is
    gmvae.set_params(max_epochs=2, min_component_usage=0.5).fit(X)
    first, last = gmvae.history_[-2], gmvae.history_[-1]
    assert first["components_moved"] >= 1
    assert last["components_moved"] == 0  # nothing moves after the last epoch: it would stay untrained
    assert gmvae.module_.prior.means[7].abs().max() < 100
    assert gmvae.component_usage_[7] > 0.5 / 30 / 10


def test_revive_components_moves_only_the_unused_ones_onto_image_codes():
    from skgmvae.nn import revive_components
    from skgmvae.nn.modules import GMVAE

    torch.manual_seed(0)
    model = GMVAE(n_features=16, n_components=5, latent_dim=3, hidden_sizes=(8,))
    x = torch.rand(50, 16)
    with torch.no_grad():
        codes = model.encoder(x)[0]
        model.prior.means.copy_(codes[:5])
        model.prior.means[2] = 1e3
        model.prior.log_vars[2] = 5.0
    before = model.prior.means.detach().clone()
    usage, n_moved = revive_components(model, x, 0.1, torch.Generator().manual_seed(0))
    assert n_moved == 1 and usage[2] < 1e-6
    np.testing.assert_allclose(usage.sum().item(), 1.0, rtol=1e-5)
    moved = model.prior.means[2].detach()
    assert torch.isclose(codes, moved, atol=1e-6).all(dim=1).any()
    keep = [0, 1, 3, 4]
    assert torch.equal(model.prior.means[keep], before[keep])
    assert torch.equal(model.prior.log_vars[2], model.prior.log_vars[keep].median(dim=0).values)


@pytest.mark.parametrize(
    "X_bad, error, match",
    [
        (np.full((10, 4), np.nan), ValueError, "NaN"),
        (np.full((10, 4), np.inf), ValueError, "infinity"),
        (np.zeros(10), ValueError, "Expected 2D array"),
        (np.zeros((10, 4, 4)), ValueError, "dim 3"),
        (np.full((10, 4), 2.0), ValueError, "MinMaxScaler"),
        (np.full((10, 4), -0.5), ValueError, "\\[0, 1\\]"),
        (np.zeros((0, 4)), ValueError, "0 sample"),
    ],
)
def test_bad_X_raises_clear_error(X_bad, error, match, small_gmvae):
    with pytest.raises(error, match=match):
        small_gmvae(k=2).fit(X_bad)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"k": 0}, "'k' parameter"),
        ({"k": 2.5}, "'k' parameter"),
        ({"k": 50}, "k <= n_samples"),
        ({"hidden_sizes": (0,)}, "hidden_sizes"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"augment": True}, "square"),
        ({"augment": "mirror"}, "square"),
        ({"min_component_usage": 1.5}, "min_component_usage"),
        ({"device": "tpu9"}, "not a torch device; use 'auto', 'cpu', 'cuda'"),
        ({"output": "codes"}, "'output' parameter"),
        ({"n_jobs": 0}, "'n_jobs' parameter"),
        ({"architecture": "resnet"}, "'architecture' parameter"),
        ({"architecture": "conv"}, "side is a multiple of 4"),
    ],
)
def test_bad_params_raise_clear_error(params, match, small_gmvae):
    X = np.random.RandomState(0).rand(20, 6)
    with pytest.raises(ValueError, match=match):
        small_gmvae(**{"k": 2, **params}).fit(X)


def test_transform_before_fit_and_wrong_width(fitted_gmvae):
    with pytest.raises(NotFittedError):
        GMVAETransformer().transform(np.zeros((2, 64)))
    with pytest.raises(ValueError, match="64 features"):
        fitted_gmvae.transform(np.zeros((2, 10)))


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@requires_cuda
@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_cuda_fit_unpickles_and_runs_on_a_cpu_only_process(digits, tmp_path, small_gmvae):
    import subprocess
    import sys

    X, _ = digits
    gmvae = small_gmvae(device="auto", max_epochs=3).fit(X)
    assert gmvae.device_.type == "cuda"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(gmvae))
    np.save(tmp_path / "expected.npy", gmvae.transform(X[:50]))
    np.save(tmp_path / "X.npy", X[:50])
    script = (
        "import pickle, sys, numpy as np, torch; assert not torch.cuda.is_available();"
        f"m = pickle.load(open({str(path)!r}, 'rb'));"
        f"Q = m.transform(np.load({str(tmp_path / 'X.npy')!r}));"
        f"np.testing.assert_allclose(Q, np.load({str(tmp_path / 'expected.npy')!r}), atol=1e-4)"
    )
    env = {**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)


@requires_cuda
@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_cuda_inference_gives_each_row_one_posterior_and_matches_the_cpu(digits, small_gmvae, tmp_path):
    X, _ = digits
    gmvae = small_gmvae(device="cuda", max_epochs=2).fit(X)
    on_gpu = gmvae.transform(X)
    np.testing.assert_array_equal(gmvae.transform(X[:1]), on_gpu[:1])  # alone as in a large call
    gmvae.save(tmp_path / "model.pt")
    on_cpu = GMVAETransformer.load(tmp_path / "model.pt", device="cpu")
    np.testing.assert_allclose(on_cpu.transform(X), on_gpu, atol=1e-4)


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_output_latent_and_posterior_and_latent_compose_with_any_classifier(fitted_gmvae, digits):
    import copy

    from sklearn.neighbors import KNeighborsClassifier

    X, y = digits
    latent_model = copy.deepcopy(fitted_gmvae).set_params(output="latent")
    Z = latent_model.transform(X)
    assert Z.shape == (len(X), 10)
    assert list(latent_model.get_feature_names_out()[:2]) == ["gmvaetransformer_z0", "gmvaetransformer_z1"]
    latent_model.set_params(output="posterior_and_latent")
    both = latent_model.transform(X[:20])
    np.testing.assert_allclose(both[:, :30], fitted_gmvae.transform(X[:20]))
    np.testing.assert_allclose(both[:, 30:], Z[:20])
    assert len(latent_model.get_feature_names_out()) == 40
    accuracy = KNeighborsClassifier(5).fit(Z[::2], y[::2]).score(Z[1::2], y[1::2])
    assert accuracy > 0.85  # the codes separate the digits


def test_output_both_is_a_deprecated_spelling_of_posterior_and_latent(fitted_gmvae, digits):
    import copy

    X, _ = digits
    renamed = copy.deepcopy(fitted_gmvae).set_params(output="posterior_and_latent")
    deprecated = copy.deepcopy(fitted_gmvae).set_params(output="both")
    with pytest.warns(FutureWarning, match="output='posterior_and_latent'"):
        columns = deprecated.transform(X[:20])
    np.testing.assert_array_equal(columns, renamed.transform(X[:20]))
    with pytest.warns(FutureWarning, match="removed in version 0.3"):
        names = deprecated.get_feature_names_out()
    np.testing.assert_array_equal(names, renamed.get_feature_names_out())


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_fit_warns_of_output_both_and_the_error_for_a_wrong_output_does_not_offer_it(small_gmvae, digits):
    X, _ = digits
    with pytest.warns(FutureWarning, match="output='both' is deprecated") as record:
        small_gmvae(output="both", max_epochs=1, pretrain_epochs=0, k=5).fit(X[:200])
    assert all(warning.filename == __file__ for warning in record if warning.category is FutureWarning)
    with pytest.raises(ValueError, match="'posterior_and_latent'") as error:
        small_gmvae(output="posterior+latent").fit(X[:200])
    assert "'both'" not in str(error.value)


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
def test_contrastive_weight_adds_its_term_to_the_history(small_gmvae):
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 256) > 0.7).astype(np.float32)  # 16x16 images, so that augment='auto' is on
    gmvae = small_gmvae(k=5, max_epochs=2, pretrain_epochs=1, contrastive_weight=1.0).fit(X)
    assert gmvae.augment_ and all(entry["contrastive"] > 0 for entry in gmvae.history_)
    assert gmvae.pretrain_history_[0]["contrastive"] > 0
