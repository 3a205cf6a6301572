"""PyTorch side of skgmvae: network modules, loss terms and the training loop.

Nothing here knows about scikit-learn; the estimators in :mod:`skgmvae` assemble it.
"""

from .losses import elbo_terms
from .modules import GMVAE, MixturePrior, MLPDecoder, MLPEncoder
from .training import fit_loop, revive_components

__all__ = ["GMVAE", "MixturePrior", "MLPDecoder", "MLPEncoder", "elbo_terms", "fit_loop", "revive_components"]
