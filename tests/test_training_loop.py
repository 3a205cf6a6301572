"""The training loop as steps and callbacks: warm starts that continue, a per-batch step, callbacks, stops."""

import io
import pickle

import numpy as np
import pytest
import torch

from skgmvae import GMVAETransformer
from skgmvae.callbacks import Callback, StopTraining

X = np.random.RandomState(0).rand(192, 16)
SMALL = dict(k=4, latent_dim=4, hidden_sizes=(16,), pretrain_epochs=1, batch_size=32, n_jobs=1, random_state=0)


def steps_taken(optimizer):
    return {int(state["step"]) for state in optimizer.state.values()}


def test_warm_start_keeps_the_moments_and_the_rate_never_climbs_back():
    model = GMVAETransformer(max_epochs=4, learning_rate_schedule="cosine", warm_start=True, **SMALL).fit(X)
    first_rates = [record["learning_rate"] for record in model.history_]
    assert steps_taken(model.optimizer_) == {4 * 6}
    moments = {name: state["exp_avg"].clone() for name, state in enumerate(model.optimizer_.state.values())}
    end_rate = model.learning_rate_
    assert end_rate == first_rates[-1] < 1e-6  # the cosine ran down to 0

    model.set_params(learning_rate_schedule="constant", learning_rate=5e-4).fit(X)
    assert steps_taken(model.optimizer_) == {8 * 6}  # the same Adam went on: its step count carried over
    assert len(model.history_) == 8
    states = enumerate(model.optimizer_.state.values())
    assert any(not torch.equal(moments[name], state["exp_avg"]) for name, state in states)

    # A cosine that ran to its end is at 0: continuing it would take no step, so the warm start says what to do.
    cosine = GMVAETransformer(max_epochs=3, learning_rate_schedule="cosine", warm_start=True, **SMALL).fit(X)
    with pytest.raises(ValueError, match="it ended at 0.*learning_rate_schedule='constant'"):
        cosine.fit(X)
    assert len(cosine.history_) == 3


def test_warm_start_from_a_halfway_cosine_decays_from_there():
    model = GMVAETransformer(max_epochs=4, learning_rate_schedule="cosine", warm_start=True, **SMALL)

    class StopHalfway(Callback):
        def on_epoch_end(self, transformer, stage, record):
            if stage == "GMVAE" and record["epoch"] == 2:
                raise StopTraining("halfway")

    model.set_params(callbacks=[StopHalfway()]).fit(X)
    halfway = model.learning_rate_
    assert 0.4e-3 < halfway < 0.6e-3 and model.history_[-1]["stopped"] == "halfway"
    model.set_params(callbacks=None, max_epochs=2).fit(X)
    rates = [record["learning_rate"] for record in model.history_[2:]]
    assert rates[0] < halfway and rates[-1] < 1e-6 and rates == sorted(rates, reverse=True)


def test_a_fresh_fit_starts_a_new_optimizer():
    model = GMVAETransformer(max_epochs=2, **SMALL).fit(X)
    first = model.optimizer_
    model.fit(X)
    assert model.optimizer_ is not first and steps_taken(model.optimizer_) == {2 * 6}


class ClippedGMVAE(GMVAETransformer):
    """Clips the gradient norm of every step, and records the norm the step saw."""

    def train_step(self, loss, optimizer):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.module_.parameters(), max_norm=0.01)
        self.norms_seen.append(float(norm))
        after = torch.sqrt(sum((p.grad.detach() ** 2).sum() for p in self.module_.parameters() if p.grad is not None))
        self.norms_after.append(float(after))
        optimizer.step()


def test_a_subclass_changes_the_per_batch_step():
    model = ClippedGMVAE(max_epochs=2, **SMALL)
    model.norms_seen, model.norms_after = [], []
    model.fit(X)
    assert len(model.norms_seen) == (1 + 2) * 6  # every batch of pretraining and training went through it
    assert max(model.norms_seen) > 0.01 and max(model.norms_after) <= 0.01 * (1 + 1e-4)
    plain = GMVAETransformer(max_epochs=2, **SMALL).fit(X)
    assert not np.allclose(plain.transform(X), model.transform(X))


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        self.calls.append(("begin", stage, n_epochs))

    def on_batch_end(self, transformer, stage, optimizer):
        self.calls.append(("batch", stage))

    def on_epoch_end(self, transformer, stage, record):
        self.calls.append(("epoch", stage, sorted(record)))
        record["checkpoint"] = len(self.calls)
        buffer = io.BytesIO()
        torch.save(transformer.module_.state_dict(), buffer)  # a checkpoint hook has the module it needs

    def on_train_end(self, transformer, stage):
        self.calls.append(("end", stage))


def test_callbacks_run_around_each_stage_and_what_they_record_is_kept():
    recorder = Recorder()
    model = GMVAETransformer(max_epochs=2, callbacks=[recorder], **SMALL).fit(X)
    kinds = [call[0] for call in recorder.calls]
    assert kinds == ["begin"] + ["batch"] * 6 + ["epoch", "end", "begin"] + (["batch"] * 6 + ["epoch"]) * 2 + ["end"]
    assert recorder.calls[0] == ("begin", "pretraining", 1) and recorder.calls[9] == ("begin", "GMVAE", 2)
    # A user's callback runs first: it reads the loss terms and the rate; revival comes after it.
    gmvae_epoch = recorder.calls[16]
    assert {"elbo", "learning_rate"} <= set(gmvae_epoch[2]) and "components_moved" not in gmvae_epoch[2]
    assert all("checkpoint" in record for record in model.history_ + model.pretrain_history_)
    assert all("components_moved" in record and "threads" not in record for record in model.history_)


def test_callbacks_leave_the_fit_unchanged_and_clone():
    from sklearn.base import clone

    plain = GMVAETransformer(max_epochs=2, **SMALL).fit(X)
    with_callback = GMVAETransformer(max_epochs=2, callbacks=[Callback()], **SMALL).fit(X)
    np.testing.assert_array_equal(plain.transform(X), with_callback.transform(X))
    assert isinstance(clone(with_callback).callbacks[0], Callback)


def test_the_optimizer_survives_save_load_and_pickle(tmp_path):
    model = GMVAETransformer(max_epochs=2, callbacks=[Callback()], **SMALL).fit(X)
    model.save(tmp_path / "model.pt")
    loaded = GMVAETransformer.load(tmp_path / "model.pt", device="cpu")
    module, optimizer = model.module_, model.optimizer_
    unpickled = pickle.loads(pickle.dumps(model))
    assert model.module_ is module and model.optimizer_ is optimizer  # pickling leaves the model as it was
    for other in (loaded, unpickled):
        assert steps_taken(other.optimizer_) == steps_taken(model.optimizer_)
        parameters = list(other.module_.parameters())
        assert all(any(p is q for q in parameters) for p in other.optimizer_.param_groups[0]["params"])
        for ours, theirs in zip(model.optimizer_.state.values(), other.optimizer_.state.values()):
            torch.testing.assert_close(ours["exp_avg_sq"], theirs["exp_avg_sq"])
        assert other.learning_rate_ == model.learning_rate_
    assert loaded.callbacks is None  # callbacks are code: not stored in the file
    # A warm start of the loaded model goes on with the saved moments.
    loaded.set_params(warm_start=True, max_epochs=1).fit(X)
    assert steps_taken(loaded.optimizer_) == {3 * 6}


def test_a_model_file_without_an_optimizer_still_loads(tmp_path):
    model = GMVAETransformer(max_epochs=2, **SMALL).fit(X)
    model.save(tmp_path / "model.pt")
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    assert payload["format_version"] == 5
    del payload["optimizer"], payload["fitted"]["learning_rate_"]  # what a version-3 file lacks
    payload["spec"]["n_components"] = payload["spec"].pop("k")  # and how it named the number of components
    payload["format_version"] = 3
    torch.save(payload, tmp_path / "older.pt")
    older = GMVAETransformer.load(tmp_path / "older.pt", device="cpu")
    np.testing.assert_allclose(older.transform(X), model.transform(X))
    assert older.optimizer_.state == {} and older.learning_rate_ == model.history_[-1]["learning_rate"]
    older.set_params(warm_start=True, max_epochs=1).fit(X)
    assert len(older.history_) == 3


def test_a_pickled_network_record_from_before_its_field_was_named_k_still_loads():
    from skgmvae.nn import NetworkSpec

    older = object.__new__(NetworkSpec)  # the state an older version pickled: the field's former name
    older.__dict__.update(n_features=64, n_components=5, latent_dim=3, hidden_sizes=(16,), architecture="mlp")
    loaded = pickle.loads(pickle.dumps(older))
    assert loaded == NetworkSpec(64, 5, 3, (16,), "mlp") and "n_components" not in vars(loaded)
    with pytest.warns(FutureWarning, match="NetworkSpec.k"):
        assert loaded.n_components == 5  # the former name, deprecated


def test_a_failed_warm_start_puts_the_optimizer_back():
    class Fails(Callback):
        def on_epoch_end(self, transformer, stage, record):
            raise RuntimeError("boom")

    model = GMVAETransformer(max_epochs=2, warm_start=True, **SMALL).fit(X)
    before = {key: value["exp_avg"].clone() for key, value in enumerate(model.optimizer_.state.values())}
    with pytest.raises(RuntimeError, match="boom"):
        model.set_params(callbacks=[Fails()]).fit(X)
    after = {key: value["exp_avg"] for key, value in enumerate(model.optimizer_.state.values())}
    assert all(torch.equal(before[key], after[key]) for key in before) and len(model.history_) == 2


def test_ctrl_c_puts_the_optimizer_back_with_the_model():
    class Interrupt(Callback):
        def __init__(self):
            self.batches = 0

        def on_batch_end(self, transformer, stage, optimizer):
            self.batches += stage == "GMVAE"
            if self.batches == 9:  # the third batch of the second GMVAE epoch
                raise KeyboardInterrupt

    model = GMVAETransformer(max_epochs=3, learning_rate_schedule="cosine", callbacks=[Interrupt()], **SMALL)
    with pytest.warns(UserWarning, match="interrupted"), pytest.raises(KeyboardInterrupt):
        model.fit(X)
    assert model.interrupted_ and len(model.history_) == 1
    assert steps_taken(model.optimizer_) == {6}  # the moments of the last completed epoch, not of the partial one
    assert model.learning_rate_ == model.history_[-1]["learning_rate"]


def test_a_stop_asked_by_a_callback_leaves_no_component_moved_untrained():
    class StopFirst(Callback):
        def on_epoch_end(self, transformer, stage, record):
            if stage == "GMVAE":
                raise StopTraining("enough")

    eager = dict(SMALL, min_component_usage=0.99)  # most components would move after a full epoch
    kept_on = GMVAETransformer(max_epochs=2, **eager).fit(X)
    assert kept_on.history_[0]["components_moved"] > 0
    stopped = GMVAETransformer(max_epochs=2, callbacks=[StopFirst()], **eager).fit(X)
    assert len(stopped.history_) == 1 and stopped.history_[0]["components_moved"] == 0


def test_a_callback_needs_only_the_hooks_it_uses():
    class OnlyEpochs:
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, transformer, stage, record):
            self.seen.append((stage, record["learning_rate"]))

    watcher = OnlyEpochs()
    GMVAETransformer(max_epochs=2, callbacks=[watcher], **SMALL).fit(X)
    assert [stage for stage, _ in watcher.seen] == ["pretraining", "GMVAE", "GMVAE"]


# ----------------------------------------------------------------- stopping once settled
def test_early_stopping_ends_training_once_components_settle_with_the_reason():
    model = GMVAETransformer(max_epochs=10, early_stopping=True, tol=1.0, n_iter_no_change=2, **SMALL).fit(X)
    assert len(model.history_) == 2 == model.n_epochs_  # any share is under tol=1: settled after two epochs
    assert model.history_[-1]["stopped"].startswith("settled: under 100.00% of 192 training images")
    assert all(0 <= record["components_changed"] <= 1 for record in model.history_)
    assert model.history_[-1]["components_moved"] == 0  # no revival after the last epoch
    never = GMVAETransformer(max_epochs=4, early_stopping=True, tol=0.0, n_iter_no_change=1, **SMALL).fit(X)
    assert len(never.history_) == 4 and "stopped" not in never.history_[-1]  # no share is under 0


def test_early_stopping_with_the_cosine_schedule_decays_the_rate_to_zero_first():
    model = GMVAETransformer(max_epochs=40, learning_rate_schedule="cosine", early_stopping=True, tol=1.0,
                             n_iter_no_change=2, **SMALL).fit(X)
    rates = [record["learning_rate"] for record in model.history_]
    assert len(rates) == 4 and "decayed to 0" in model.history_[-1]["stopped"]
    assert rates[1] > 0.9 * model.learning_rate  # settled early in a 40-epoch schedule: the rate still high
    assert rates[2] < rates[1] and model.learning_rate_ == rates[-1] < 1e-9


def test_components_changed_counts_the_share_of_images_that_moved_component():
    from skgmvae.callbacks import StopWhenSettled

    sample = torch.as_tensor(X, dtype=torch.float32)
    model = GMVAETransformer(max_epochs=1, **SMALL).fit(X)
    rule = StopWhenSettled(sample, tol=0.5, n_iter_no_change=3)
    rule.on_train_begin(model, "GMVAE", 1, None)
    record = {}
    rule.on_epoch_end(model, "GMVAE", record)
    assert record["components_changed"] == 0.0  # nothing trained in between
    rule.components_ = (rule.components_ + 1) % 4
    rule.on_epoch_end(model, "GMVAE", record)
    assert record["components_changed"] == 1.0


def test_a_callback_can_score_the_model_during_training():
    class Scores(Callback):
        def on_epoch_end(self, transformer, stage, record):
            if stage == "GMVAE":
                record["mean_max_posterior"] = float(transformer.transform(X).max(axis=1).mean())

    model = GMVAETransformer(max_epochs=2, callbacks=[Scores()], **SMALL).fit(X)
    # The last epoch's score is the fitted model's: no revival follows the last epoch.
    assert model.history_[-1]["mean_max_posterior"] == float(model.transform(X).max(axis=1).mean())
    plain = GMVAETransformer(max_epochs=2, **SMALL).fit(X)
    np.testing.assert_array_equal(model.transform(X), plain.transform(X))  # scoring changed nothing


def test_a_pickle_from_before_the_stopping_parameters_unpickles_with_them_off():
    model = GMVAETransformer(max_epochs=1, **SMALL).fit(X)
    state = model.__getstate__()
    for name in ("early_stopping", "tol", "n_iter_no_change", "callbacks"):
        del state[name]
    old = GMVAETransformer.__new__(GMVAETransformer)
    old.__setstate__(state)
    assert old.get_params()["early_stopping"] is False and old.get_params()["callbacks"] is None
    np.testing.assert_array_equal(old.transform(X), model.transform(X))


def test_the_decay_before_a_stop_never_runs_past_the_last_epoch():
    # Settled after 2 of 3 epochs with 5 epochs of decay asked: the decay takes the one epoch left.
    model = GMVAETransformer(max_epochs=3, learning_rate_schedule="cosine", early_stopping=True, tol=1.0,
                             n_iter_no_change=2, **SMALL).fit(X)
    assert len(model.history_) == 3 and model.learning_rate_ < 1e-9
    assert "over 1 more" in model.history_[-1]["stopped"]


def test_yield_cores_leaves_the_callback_as_given_and_blas_as_found():
    import threadpoolctl
    from joblib import hash as joblib_hash

    from skgmvae.callbacks import YieldCores

    callback = YieldCores()
    before, blas = joblib_hash(callback), threadpoolctl.threadpool_info()
    model = GMVAETransformer(max_epochs=2, callbacks=[callback], **{**SMALL, "n_jobs": None}).fit(X)
    assert joblib_hash(callback) == before and threadpoolctl.threadpool_info() == blas
    assert all(1 <= record["threads"] <= model.n_threads_ for record in model.history_)
