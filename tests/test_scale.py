"""Scale: uint8 and memmap input without copies, thread limits, and a grid search on a Dask cluster."""

import contextlib

import numpy as np
import pytest
import threadpoolctl
import torch

import skgmvae._validation as validation
from skgmvae import GMVAETransformer

pytestmark = pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning")
TINY = dict(k=4, latent_dim=3, hidden_sizes=(32,), max_epochs=2, pretrain_epochs=1, batch_size=32,
            random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits_uint8(digits):
    X, _ = digits
    return np.round(X * 255).astype(np.uint8)


def test_uint8_images_are_read_as_value_over_255(digits_uint8):
    as_float = (digits_uint8 / 255.0).astype(np.float32)
    from_uint8 = GMVAETransformer(**TINY).fit(digits_uint8)
    from_float = GMVAETransformer(**TINY).fit(as_float)
    np.testing.assert_allclose(from_uint8.transform(digits_uint8), from_float.transform(as_float), atol=1e-4)
    # One model, both encodings of the same images: the same posterior.
    # (as_float is rounded to float32; uint8 / 255 is exact in float64)
    np.testing.assert_allclose(from_uint8.transform(digits_uint8), from_uint8.transform(as_float), atol=1e-5)


def test_memmap_is_validated_in_place_and_read_by_batches(digits_uint8, tmp_path):
    path = tmp_path / "images.u8"
    mapped = np.memmap(path, dtype=np.uint8, mode="w+", shape=digits_uint8.shape)
    mapped[:] = digits_uint8
    mapped.flush()
    read_only = np.memmap(path, dtype=np.uint8, mode="r", shape=digits_uint8.shape)
    gmvae = GMVAETransformer(**TINY)
    assert validation.validate_images(gmvae, read_only, reset=True) is read_only  # no copy
    gmvae.fit(read_only)
    Q = gmvae.transform(read_only)
    np.testing.assert_array_equal(Q, gmvae.transform(np.asarray(digits_uint8)))
    assert np.allclose(Q.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.asarray(read_only), digits_uint8)  # the file is untouched


@pytest.mark.parametrize("bad_value, match", [(np.nan, "NaN or infinity in rows 96 to 99"),
                                              (1.5, "to 1.5 in rows 96 to 99")])
def test_bad_values_only_in_the_last_chunk_are_found_and_located(monkeypatch, tmp_path, bad_value, match):
    monkeypatch.setattr(validation, "CHECK_CHUNK_ROWS", 32)
    mapped = np.memmap(tmp_path / "images.f32", dtype=np.float32, mode="w+", shape=(100, 16))
    mapped[:] = 0.5
    mapped[99, 3] = bad_value
    with pytest.raises(ValueError, match=match):
        GMVAETransformer(**TINY).fit(mapped)


@pytest.mark.parametrize("X, match", [
    (np.full((20, 16), 300, dtype=np.int64), "X / 255 for 8-bit images"),
    (np.full((20, 16), 1000, dtype=np.uint16), "X / 255 for 8-bit images"),
    (np.full((20, 16), -3, dtype=np.int8), "X / 255 for 8-bit images"),
])
def test_integer_images_of_another_type_or_range_are_refused(X, match):
    with pytest.raises(ValueError, match=match):
        GMVAETransformer(**TINY).fit(X)


class RecordingGMVAE(GMVAETransformer):
    """Records torch's thread count at the start of every epoch."""

    def _train_epoch(self, *args, **kwargs):
        self.seen = [*getattr(self, "seen", []), torch.get_num_threads()]
        return super()._train_epoch(*args, **kwargs)


def test_n_jobs_sets_the_torch_threads_of_the_fit_and_restores_them(digits):
    X, _ = digits
    before = torch.get_num_threads()
    gmvae = RecordingGMVAE(**TINY, n_jobs=1).fit(X[:200])
    assert set(gmvae.seen) == {1} and gmvae.n_threads_ == 1
    assert torch.get_num_threads() == before


def test_default_threads_follow_an_enclosing_threadpoolctl_limit(digits):
    X, _ = digits
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        gmvae = RecordingGMVAE(**TINY).fit(X[:200])
    assert set(gmvae.seen) == {1} and gmvae.n_threads_ == 1


@contextlib.contextmanager
def _loaded():
    """One process spinning on each core this process may run on, for as long as the test runs."""
    import subprocess
    import sys

    from skgmvae._runtime import available_cores

    # Each spinner ends by itself after 10 minutes, should the test be killed before it stops them.
    spin = "import time\nend = time.monotonic() + 600\nwhile time.monotonic() < end: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(available_cores())]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.mark.slow
def test_the_same_fit_alone_and_on_a_loaded_machine_gives_the_same_posterior(digits):
    from skgmvae._runtime import available_cores
    from skgmvae.callbacks import YieldCores

    X = digits[0][:600]
    params = dict(k=10, max_epochs=3, pretrain_epochs=2, random_state=0, device="cpu")
    alone = GMVAETransformer(**params).fit(X)
    with _loaded():
        loaded = GMVAETransformer(**params).fit(X)
        yielding = GMVAETransformer(**params, callbacks=[YieldCores()]).fit(X)
    np.testing.assert_array_equal(loaded.transform(X), alone.transform(X))
    assert loaded.n_threads_ == alone.n_threads_
    if available_cores() > 1:
        # The load was there to see: the opt-in callback gave cores back.
        assert min(record["threads"] for record in yielding.history_) < yielding.n_threads_


def test_copy_on_write_memmap_is_read_with_its_changes(digits_uint8, tmp_path):
    path = tmp_path / "images.u8"
    np.memmap(path, dtype=np.uint8, mode="w+", shape=digits_uint8.shape)[:] = 0
    changed = np.memmap(path, dtype=np.uint8, mode="c", shape=digits_uint8.shape)
    changed[:] = digits_uint8  # in memory only: the file still holds zeros
    gmvae = GMVAETransformer(**TINY).fit(digits_uint8)
    np.testing.assert_array_equal(gmvae.transform(changed), gmvae.transform(digits_uint8))
