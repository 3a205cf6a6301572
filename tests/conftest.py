"""Shared fixtures: digits in [0, 1] and a small GMVAE fitted once per session."""

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


def small_gmvae(**params):
    defaults = dict(k=30, latent_dim=10, hidden_sizes=(256,), max_epochs=40, pretrain_epochs=10,
                    batch_size=64, random_state=0, device="cpu")
    return GMVAETransformer(**{**defaults, **params})


@pytest.fixture(scope="session")
def fitted_gmvae(digits):
    X, _ = digits
    return small_gmvae().fit(X)


@pytest.fixture
def rng():
    return np.random.RandomState(0)
