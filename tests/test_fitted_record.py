"""The fitted record, the fitting steps a subclass can override, Ctrl-C, the thread budget and atomic files."""

import os
import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skgmvae import ClusterLabelDecoder, GMVAETransformer, TrainingInterrupted, labeled_accuracy_scorer
from skgmvae._io import write_atomic
from skgmvae._runtime import ThreadBudget, native_bfloat16, resolve_precision

TINY = dict(k=4, latent_dim=3, hidden_sizes=(16,), max_epochs=2, pretrain_epochs=1, batch_size=64,
            random_state=0, device="cpu", n_jobs=1)
pytestmark = pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")


@pytest.fixture(scope="module")
def X(digits):
    return digits[0][:300]


# ----------------------------------------------------------------- the fitted record
def test_set_params_after_fit_changes_nothing_until_the_next_fit(X):
    gmvae = GMVAETransformer(**TINY, output="posterior_and_latent").fit(X)
    before = gmvae.transform(X)
    gmvae.set_params(k=7, latent_dim=5)
    after = gmvae.transform(X)
    np.testing.assert_array_equal(after, before)
    assert after.shape == (len(X), 4 + 3)
    np.testing.assert_allclose(after[:, :4].sum(axis=1), 1.0)
    assert len(gmvae.get_feature_names_out()) == 7 and gmvae.get_feature_names_out()[4] == "gmvaetransformer_z0"
    images, components = gmvae.sample(50, random_state=0)
    assert components.max() < 4 and images.shape == (50, X.shape[1])
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        gmvae.sample(1, component=5)
    assert np.isfinite(gmvae.score_samples(X[:20])).all()
    assert gmvae.spec_.k == 4 and gmvae.spec_.latent_dim == 3
    gmvae.set_params(output="posterior").fit(X)  # the next fit takes the new parameters
    assert gmvae.transform(X).shape == (len(X), 7) and gmvae.spec_.latent_dim == 5


@pytest.mark.parametrize("change", [{"k": 5}, {"latent_dim": 4}, {"hidden_sizes": (8,)}, {"hidden_sizes": (16, 8)},
                                    {"architecture": "conv"}])
def test_warm_start_refuses_a_change_of_shape_and_the_file_stays_readable(X, tmp_path, change):
    X28 = np.zeros((60, 784))  # 28x28 so that 'conv' is a valid change of architecture
    X28[:, :64] = X[:60]
    gmvae = GMVAETransformer(**{**TINY, "architecture": "mlp"}, warm_start=True).fit(X28)
    name = next(iter(change))
    with pytest.raises(ValueError, match=rf"warm_start=True.*{name}=.*fitted.*warm_start=False"):
        gmvae.set_params(**change).fit(X28)
    gmvae.save(tmp_path / "model.pt")
    loaded = GMVAETransformer.load(tmp_path / "model.pt")
    np.testing.assert_allclose(loaded.transform(X28), gmvae.transform(X28))
    # Without warm_start the new shape is a fresh fit.
    refit = gmvae.set_params(warm_start=False).fit(X28)
    refit.save(tmp_path / "refit.pt")
    assert GMVAETransformer.load(tmp_path / "refit.pt").spec_ == refit.spec_


def test_warm_start_with_the_same_shape_continues_and_saves(X, tmp_path):
    gmvae = GMVAETransformer(**TINY, warm_start=True).fit(X)
    gmvae.set_params(learning_rate=1e-4, output="latent").fit(X)
    assert gmvae.n_epochs_ == 4
    gmvae.save(tmp_path / "model.pt")
    loaded = GMVAETransformer.load(tmp_path / "model.pt")
    np.testing.assert_allclose(loaded.transform(X), gmvae.transform(X))


def test_load_sets_the_same_fitted_attributes_as_fit(X, tmp_path):
    gmvae = GMVAETransformer(**TINY).fit(X)
    gmvae.save(tmp_path / "model.pt")
    loaded = GMVAETransformer.load(tmp_path / "model.pt", device="cpu")
    fitted = {name for name in vars(gmvae) if name.endswith("_") and not name.startswith("_")}
    assert fitted == {name for name in vars(loaded) if name.endswith("_") and not name.startswith("_")}
    for name in fitted - {"module_"}:
        mine, theirs = getattr(gmvae, name), getattr(loaded, name)
        if name == "optimizer_":  # another object over another module: the same state
            assert str(theirs.state_dict()) == str(mine.state_dict())
        elif isinstance(mine, np.ndarray):
            np.testing.assert_allclose(theirs, mine)
        else:
            assert theirs == mine, name


def test_load_rebuilds_the_network_from_the_record_not_the_parameters(X, tmp_path):
    gmvae = GMVAETransformer(**TINY, architecture="auto").fit(X)
    gmvae.save(tmp_path / "model.pt")
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    assert payload["spec"]["architecture"] == "mlp" and payload["params"]["architecture"] == "auto"
    assert GMVAETransformer.load(tmp_path / "model.pt").architecture_ == "mlp"


# ----------------------------------------------------------------- fitting steps and Ctrl-C
class InterruptedGMVAE(GMVAETransformer):
    """Raises KeyboardInterrupt at the start of its ``interrupt_at``-th epoch (pretraining counts)."""

    interrupt_at = 10**9

    def _train_epoch(self, *args, **kwargs):
        self.epochs_started = getattr(self, "epochs_started", 0) + 1
        if self.epochs_started == self.interrupt_at:
            raise KeyboardInterrupt
        return super()._train_epoch(*args, **kwargs)


def test_ctrl_c_keeps_the_last_completed_epoch_and_is_raised_again(X):
    gmvae = InterruptedGMVAE(**{**TINY, "max_epochs": 10})
    gmvae.interrupt_at = 1 + 3 + 1  # 1 pretraining epoch, 3 GMVAE epochs, then Ctrl-C
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterrupted, match="after 3 completed epochs"):
        gmvae.fit(X)
    assert gmvae.interrupted_ and gmvae.n_epochs_ == 3
    Q = gmvae.transform(X)
    assert np.isfinite(Q).all() and np.allclose(Q.sum(axis=1), 1.0)


def test_ctrl_c_in_pretraining_fits_the_mixture_on_the_last_codes_and_skips_training(X):
    class Counting(InterruptedGMVAE):
        def _initialize_prior(self, rows, seed):
            self.prior_fits = getattr(self, "prior_fits", 0) + 1
            super()._initialize_prior(rows, seed)

    gmvae = Counting(**{**TINY, "pretrain_epochs": 5, "max_epochs": 10})
    gmvae.interrupt_at = 3
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterrupted, match="during pretraining after 2"):
        gmvae.fit(X)
    assert gmvae.epochs_started == 3 and gmvae.prior_fits == 1
    assert gmvae.interrupted_ and gmvae.n_epochs_ == 0 and len(gmvae.pretrain_history_) == 2
    assert np.isfinite(gmvae.transform(X)).all()


def test_ctrl_c_stops_a_sequential_grid_search_instead_of_moving_on(X, digits):
    y = digits[1][:300].copy()
    fits = []

    class Recording(InterruptedGMVAE):
        interrupt_at = 2  # a class attribute: GridSearchCV fits clones

        def _initialize_module(self, spec, device):
            fits.append(spec.k)
            return super()._initialize_module(spec, device)

    pipe = Pipeline([("gmvae", Recording(**TINY)), ("decoder", ClusterLabelDecoder())])
    search = GridSearchCV(pipe, {"gmvae__k": [3, 4, 5]}, cv=KFold(2), scoring=labeled_accuracy_scorer)
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingInterrupted)
        search.fit(X, y)
    assert fits == [3]


def test_a_subclass_overrides_one_step(X):
    class FixedPrior(GMVAETransformer):
        def _initialize_prior(self, rows, seed):
            self.module_.prior.set_components(np.zeros((self.spec_.k, self.spec_.latent_dim)),
                                              np.ones((self.spec_.k, self.spec_.latent_dim)))

    gmvae = FixedPrior(**{**TINY, "max_epochs": 0}).fit(X)
    np.testing.assert_array_equal(gmvae.component_means_, 0.0)
    np.testing.assert_allclose(gmvae.transform(X), 1 / 4)  # identical components share every row equally


def test_threads_of_every_epoch_follow_n_jobs(X):
    class Recording(GMVAETransformer):
        def _train_epoch(self, *args, **kwargs):
            self.seen = [*getattr(self, "seen", []), torch.get_num_threads()]
            return super()._train_epoch(*args, **kwargs)

    before = torch.get_num_threads()
    gmvae = Recording(**TINY).fit(X)
    assert set(gmvae.seen) == {1} and len(gmvae.seen) == 3 and gmvae.n_threads_ == 1
    assert torch.get_num_threads() == before


# ----------------------------------------------------------------- the thread budget
class ScriptedBudget(ThreadBudget):
    """A budget over 4 allowed CPUs that reads scripted (wall, busy CPU seconds, own CPU seconds) marks."""

    def __init__(self, marks):
        self.marks = iter(marks)
        super().__init__(threads=4)
        self._cpus = [0, 1, 2, 3]

    def _read(self):
        return next(self.marks)


@pytest.mark.parametrize("others_busy, expected", [(0.0, 4), (1.0, 3), (2.6, 1), (8.0, 1)])
def test_adapt_gives_the_cores_other_processes_took_back(others_busy, expected):
    previous = torch.get_num_threads()
    try:
        # One second of wall time; this process used 1 CPU second, the others ``others_busy``.
        budget = ScriptedBudget([(0.0, 0.0, 0.0), (1.0, 1.0 + others_busy, 1.0)])
        assert budget.adapt() == expected
    finally:
        torch.set_num_threads(previous)


def test_adapt_ignores_an_epoch_too_short_to_measure_and_never_exceeds_the_start():
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        budget = ScriptedBudget([(0.0, 0.0, 0.0), (0.01, 0.04, 0.0)])
        assert budget.adapt() == 2  # 10 ms say nothing: the threads stay
        torch.set_num_threads(1)
        assert ThreadBudget(threads=1).adapt() == 1  # one thread has nothing to adapt
    finally:
        torch.set_num_threads(previous)


def test_budget_counts_only_the_cpus_this_process_may_run_on():
    import psutil

    budget = ThreadBudget(threads=2)
    budget._cpus = [0]
    wall, busy, _ = budget._read()
    assert busy <= sum(psutil.cpu_times(percpu=True)[0][:3]) + sum(psutil.cpu_times(percpu=True)[0][5:8]) + 1.0


# ----------------------------------------------------------------- atomic files
class _DiskFull(OSError):
    pass


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "model.pt"
    target.write_bytes(b"the old model")

    def full_disk(descriptor):
        raise _DiskFull(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(_DiskFull):
        write_atomic(target, b"x" * 1000, force=True)
    assert target.read_bytes() == b"the old model"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.pt"]


def test_save_is_atomic_and_refuses_nothing_it_can_replace(X, tmp_path, monkeypatch):
    gmvae = GMVAETransformer(**TINY).fit(X)
    target = tmp_path / "model.pt"
    gmvae.save(target)
    good = target.read_bytes()
    monkeypatch.setattr(os, "fsync", lambda descriptor: (_ for _ in ()).throw(_DiskFull(28, "No space left")))
    with pytest.raises(_DiskFull):
        gmvae.save(target)
    assert target.read_bytes() == good and len(list(tmp_path.iterdir())) == 1


# ----------------------------------------------------------------- precision
def test_auto_precision_is_bfloat16_only_where_the_device_has_it():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu, native=False) == "float32"
    assert resolve_precision("auto", cpu, native=True) == "bfloat16"
    assert resolve_precision("float32", cpu, native=True) == "float32"
    assert resolve_precision("bfloat16", cpu, native=False) == "bfloat16"


def test_auto_precision_falls_back_silently_and_bfloat16_trains_as_well(X, tmp_path):
    full = GMVAETransformer(**{**TINY, "max_epochs": 4}).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback says nothing
        auto = GMVAETransformer(**{**TINY, "max_epochs": 4}, precision="auto").fit(X)
    if native_bfloat16(torch.device("cpu")):
        assert auto.precision_ == "bfloat16"
    else:
        assert auto.precision_ == "float32"
        np.testing.assert_array_equal(auto.transform(X), full.transform(X))
    low = GMVAETransformer(**{**TINY, "max_epochs": 4}, precision="bfloat16").fit(X)
    assert low.precision_ == "bfloat16" and full.precision_ == "float32"
    Q = low.transform(X)
    assert Q.dtype == np.float64 and np.allclose(Q.sum(axis=1), 1.0)
    # The loss terms are computed in float32 from bfloat16 layers: training gets as far.
    assert low.history_[-1]["elbo"] == pytest.approx(full.history_[-1]["elbo"], rel=0.05)
    low.save(tmp_path / "low.pt")
    assert GMVAETransformer.load(tmp_path / "low.pt").precision_ == "bfloat16"


class FailingGMVAE(GMVAETransformer):
    """Raises an error (not an interrupt) at the start of its ``fail_at``-th epoch (pretraining counts)."""

    fail_at = 10**9

    def _train_epoch(self, *args, **kwargs):
        self.epochs_started = getattr(self, "epochs_started", 0) + 1
        if self.epochs_started == self.fail_at:
            raise FloatingPointError("the loss became nan")
        return super()._train_epoch(*args, **kwargs)


def test_a_failed_fit_leaves_the_estimator_as_it_was(X):
    gmvae = FailingGMVAE(**TINY)
    gmvae.fail_at = 2  # the first GMVAE epoch, after pretraining
    with pytest.raises(FloatingPointError):
        gmvae.fit(X)
    assert not [name for name in vars(gmvae) if name.endswith("_")]
    fitted = FailingGMVAE(**TINY, warm_start=True).fit(X)
    before, n_epochs = fitted.transform(X), fitted.n_epochs_
    fitted.fail_at = fitted.epochs_started + 2  # the second epoch of the warm start
    with pytest.raises(FloatingPointError):
        fitted.fit(X)
    assert fitted.n_epochs_ == n_epochs and len(fitted.history_) == n_epochs
    np.testing.assert_array_equal(fitted.transform(X), before)
    with pytest.raises(ValueError, match="k <= n_samples"):
        fitted.set_params(warm_start=False, k=10**6).fit(X[:, :16])
    assert fitted.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(fitted.transform(X), before)
