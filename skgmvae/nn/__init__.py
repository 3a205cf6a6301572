"""PyTorch side of skgmvae: network modules, loss terms, the training loop and batched inference.

Nothing here knows about scikit-learn; the estimators in :mod:`skgmvae` assemble it.
"""

from .inference import batched_apply, component_usage, to_float_tensor
from .losses import autoencoder_loss, batch_usage_kl, elbo_terms, gmvae_loss, symmetric_kl
from .modules import GMVAE, ConvDecoder, ConvEncoder, MixturePrior, MLPDecoder, MLPEncoder, NetworkSpec
from .revival import revive_components
from .training import run_epoch

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "GMVAE",
    "MLPDecoder",
    "MLPEncoder",
    "MixturePrior",
    "NetworkSpec",
    "autoencoder_loss",
    "batch_usage_kl",
    "batched_apply",
    "component_usage",
    "elbo_terms",
    "gmvae_loss",
    "revive_components",
    "run_epoch",
    "symmetric_kl",
    "to_float_tensor",
]
