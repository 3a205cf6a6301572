"""Shared fixtures: digits in [0, 1], a factory of small GMVAEs and one fitted once per session."""

import numpy as np
import pytest
import torch

from skgmvae import GMVAETransformer
from skgmvae.datasets import load_digits_dataset

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def digits():
    data = load_digits_dataset()
    return data.X_train, data.y_train


SMALL_GMVAE = dict(k=30, latent_dim=10, hidden_sizes=(256,), max_epochs=40, pretrain_epochs=10, batch_size=64,
                   random_state=0, device="cpu")


@pytest.fixture(scope="session")
def small_gmvae():
    """A factory of small, seeded, CPU GMVAETransformers: ``small_gmvae(**overrides)``."""

    def make(**params):
        return GMVAETransformer(**{**SMALL_GMVAE, **params})

    return make


@pytest.fixture(scope="session")
def fitted_gmvae(digits, small_gmvae):
    """The small GMVAE fitted once on all digits, shared by every test that only reads it."""
    X, _ = digits
    return small_gmvae().fit(X)


@pytest.fixture
def rng():
    return np.random.RandomState(0)
