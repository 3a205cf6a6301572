"""How a GMVAETransformer is fitted: build, pretrain, initialise the mixture, train with revival.

The estimator validates its input and parameters and keeps the fitted state;
these functions run the steps on the torch module and return what they
learned, reading the estimator's hyperparameters but setting nothing on it.
"""

import math
import warnings

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from .exceptions import ComponentCollapseWarning, TrainingInterrupted
from .nn.inference import batched_apply, read_rows, to_float_tensor
from .nn.losses import gmvae_loss
from .nn.modules import GMVAE, conv_image_side
from .nn.revival import revive_components
from .nn.training import fit_loop, pretrain

# GaussianMixture on more codes than this gains little and costs seconds.
_MAX_INIT_SAMPLES = 20_000
# Images on which component usage is measured after each epoch.
_USAGE_SAMPLE = 4096
# The 'auto' training lengths, in optimizer steps, and their bounds in epochs, per architecture. A
# convolutional step costs about 2.5 times a dense one on the CPU, so it gets fewer steps: 13,000 fit the
# EMNIST pool in about 380 s on 2 cores, 10,000 (the dense model's time) gave 0.7 to 1.1 points less on
# letters (benchmarks/VARIANTS.md).
_AUTO_STEPS = {
    "mlp": {"max_epochs": (24_000, 10, 100), "pretrain_epochs": (3_000, 5, 50)},
    "conv": {"max_epochs": (13_000, 5, 100), "pretrain_epochs": (1_500, 2, 50)},
}
# 'auto' augmentation and 'auto' architecture: square images at least this many pixels wide.
AUTO_AUGMENT_MIN_SIDE = 16
# Training data above this size stays where it is (e.g. a memmap) and is read batch by batch.
_MAX_RESIDENT_BYTES = 2 * 1024**3


def square_image_shape(n_features):
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def effective_components(usage):
    """exp(entropy) of a usage distribution: the number of equally used components it amounts to."""
    nonzero = usage[usage > 0]
    return float(np.exp(-(nonzero * np.log(nonzero)).sum()))


def resolve_architecture(architecture, n_features):
    """'conv' or 'mlp': 'auto' is 'conv' for square images at least 16 pixels wide whose side is a multiple of 4."""
    if architecture != "auto":
        return architecture
    side = conv_image_side(n_features)
    return "conv" if side is not None and side >= AUTO_AUGMENT_MIN_SIDE else "mlp"


def auto_epochs(value, name, n_samples, batch_size, architecture="mlp"):
    if value != "auto":
        return value
    steps, low, high = _AUTO_STEPS[architecture][name]
    steps_per_epoch = math.ceil(n_samples / batch_size)
    return int(min(high, max(low, round(steps / steps_per_epoch))))


def _fit_code_mixture(module, rows, k, seed, device):
    """Means and variances of a diagonal GaussianMixture with ``k`` components fitted on latent codes.

    Only the rows the mixture is fitted on (at most 20,000, drawn at random) are encoded.
    """
    rng = np.random.RandomState(seed)
    chosen = None
    if len(rows) > _MAX_INIT_SAMPLES:
        chosen = rng.choice(len(rows), _MAX_INIT_SAMPLES, replace=False)
    if chosen is None:
        sample = rows
    elif isinstance(rows, torch.Tensor):
        sample = rows[torch.as_tensor(chosen, device=rows.device)]
    else:  # read an array (a memmap) in row order, then put the rows back in the drawn order
        order = np.argsort(chosen)
        sample = np.empty((len(chosen), rows.shape[1]), dtype=rows.dtype)
        sample[order] = read_rows(rows, chosen[order])
    codes = batched_apply(lambda batch: module.encoder(batch)[0], sample, device).double().cpu().numpy()
    if len(codes) < 2:  # GaussianMixture needs two samples; one code is its own mixture
        return codes.repeat(k, axis=0), np.ones((k, codes.shape[1]))
    mixture = GaussianMixture(n_components=k, covariance_type="diag", max_iter=100, reg_covar=1e-4,
                              random_state=rng)
    with warnings.catch_warnings():
        # A GaussianMixture that has not fully converged is still a good starting point.
        warnings.simplefilter("ignore")
        mixture.fit(codes)
    return mixture.means_, mixture.covariances_


def training_rows(X, device):
    """The training data as the loop reads it: one tensor on the device, or the array itself when large.

    uint8 images stay uint8 on the device (a quarter of the memory) and are scaled per batch.
    """
    if isinstance(X, np.memmap) or X.nbytes > _MAX_RESIDENT_BYTES:
        return X
    if X.dtype == np.float64:
        return torch.as_tensor(X, dtype=torch.float32, device=device)
    # torch cannot wrap a read-only array; this copy is the one the device transfer would make anyway
    return torch.as_tensor(X if X.flags.writeable else X.copy(), device=device)


def initialize(estimator, rows, generator, augmenter, seed, device, adapt_threads):
    """A new module, pretrained as an autoencoder, with the mixture fitted on its codes.

    Parameters
    ----------
    estimator : GMVAETransformer
        Read for its hyperparameters.
    rows : Tensor or array-like of shape (n_samples, n_features)
        The training data as :func:`training_rows` gives it.
    generator : torch.Generator
    augmenter : callable or None
    seed : int
        Seeds the mixture initialisation.
    device : torch.device
    adapt_threads : callable
        Called after each epoch (:meth:`skgmvae._runtime.ThreadBudget.adapt`).

    Returns
    -------
    module : GMVAE
    pretrain_history : list of dict
    interrupted : bool
        Whether pretraining was interrupted (the mixture is then fitted on
        the codes of the last completed epoch).
    """
    architecture = estimator.architecture_
    module = GMVAE(rows.shape[1], estimator.k, estimator.latent_dim, tuple(estimator.hidden_sizes),
                   architecture).to(device)
    history, interrupted = [], False
    epochs = auto_epochs(estimator.pretrain_epochs, "pretrain_epochs", len(rows), estimator.batch_size, architecture)
    if epochs:
        history, interrupted = pretrain(
            module, rows, max_epochs=epochs, batch_size=estimator.batch_size,
            learning_rate=estimator.learning_rate, generator=generator, augmenter=augmenter,
            verbose=estimator.verbose, on_epoch_end=lambda model, is_last: {"threads": adapt_threads()},
            contrastive_weight=estimator.contrastive_weight,
        )
    module.eval()
    module.prior.set_components(*_fit_code_mixture(module, rows, estimator.k, seed, device))
    if interrupted:
        _warn_interrupted("pretraining", len(history),
                          "keeping the model of the last completed epoch: the mixture is fitted on its codes and "
                          "GMVAE training is skipped")
    return module, history, interrupted


def train(estimator, module, rows, generator, augmenter, seed, history, adapt_threads):
    """GMVAE training of ``module``, with component revival after each epoch but the last.

    Parameters
    ----------
    estimator : GMVAETransformer
        Read for its hyperparameters.
    module : GMVAE
        Trained in place.
    rows, generator, augmenter, seed
        As in :func:`initialize`.
    history : list of dict
        Earlier epochs (``warm_start``); new entries are appended.
    adapt_threads : callable
        As in :func:`initialize`.

    Returns
    -------
    history : list of dict
    interrupted : bool
    """
    device = module.prior.means.device
    max_epochs = auto_epochs(estimator.max_epochs, "max_epochs", len(rows), estimator.batch_size,
                             estimator.architecture_)
    optimizer = torch.optim.Adam(module.parameters(), lr=estimator.learning_rate)
    scheduler = None
    if estimator.learning_rate_schedule == "cosine":
        total_steps = max(1, max_epochs * math.ceil(len(rows) / estimator.batch_size))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)

    def loss_fn(model, x, gen):
        return gmvae_loss(model, x, gen, augmenter, estimator.consistency_weight, estimator.balance_weight,
                          estimator.contrastive_weight)

    # A generator of its own, so that measuring usage leaves the training draws unchanged.
    usage_generator = torch.Generator(device=device).manual_seed(seed + 1)
    usage_rows = torch.randperm(len(rows), generator=usage_generator, device=device)[:_USAGE_SAMPLE]
    usage_index = usage_rows if isinstance(rows, torch.Tensor) else np.sort(usage_rows.cpu().numpy())
    usage_sample = to_float_tensor(read_rows(rows, usage_index), device)

    def on_epoch_end(model, is_last):
        min_usage = 0.0 if is_last else estimator.min_component_usage
        usage, n_moved = revive_components(model, usage_sample, min_usage, usage_generator)
        return {"components_used": effective_components(usage.double().cpu().numpy()), "components_moved": n_moved,
                "threads": adapt_threads()}

    history, interrupted = fit_loop(
        loss_fn, module, rows, optimizer, max_epochs=max_epochs, batch_size=estimator.batch_size,
        generator=generator, scheduler=scheduler, verbose=estimator.verbose, description="GMVAE",
        history=history, on_epoch_end=on_epoch_end,
    )
    if interrupted:
        _warn_interrupted("GMVAE training", len(history), "keeping the model of the last completed epoch")
    return history, interrupted


def _warn_interrupted(stage, n_epochs, outcome):
    warnings.warn(f"Training interrupted during {stage} after {n_epochs} completed epochs; {outcome}.",
                  TrainingInterrupted, stacklevel=5)


def warn_if_collapsed(usage, n_used):
    """Warn with :class:`ComponentCollapseWarning` when the usage amounts to fewer than k / 4 components."""
    k = len(usage)
    if k >= 4 and n_used < k / 4:
        n_top = max(1, k // 10)
        warnings.warn(
            f"Component collapse: the {k} components amount to only {n_used:.1f} equally used ones, and "
            f"the {n_top} largest hold {100 * np.sort(usage)[::-1][:n_top].sum():.0f}% of the posterior mass. "
            "Try a lower k, more pretrain_epochs, a lower learning_rate, or more data.",
            ComponentCollapseWarning,
            stacklevel=4,
        )
