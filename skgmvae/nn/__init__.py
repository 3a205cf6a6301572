"""PyTorch side of skgmvae: network modules, loss terms, the training loop and batched inference.

Nothing here knows about scikit-learn; the estimators in :mod:`skgmvae` assemble it.
"""

from .inference import batched_apply, to_float_tensor
from .losses import autoencoder_loss, batch_usage_kl, elbo_terms, gmvae_loss, symmetric_kl
from .modules import GMVAE, ConvDecoder, ConvEncoder, MixturePrior, MLPDecoder, MLPEncoder
from .revival import revive_components
from .training import fit_loop, pretrain, run_epoch

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "GMVAE",
    "MLPDecoder",
    "MLPEncoder",
    "MixturePrior",
    "autoencoder_loss",
    "batch_usage_kl",
    "batched_apply",
    "elbo_terms",
    "fit_loop",
    "gmvae_loss",
    "pretrain",
    "revive_components",
    "run_epoch",
    "symmetric_kl",
    "to_float_tensor",
]
