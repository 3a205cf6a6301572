"""Helpers of :meth:`GMVAETransformer.fit` that need no estimator: lengths, training rows, the initial mixture.

Each takes what it needs as arguments, so the estimator's fitting steps (its
methods, in the order of the algorithm) read as calls with explicit inputs.
"""

import math
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from ._io import read_rows
from .exceptions import ComponentCollapseWarning
from .nn.modules import NetworkSpec, conv_image_side

# GaussianMixture on more codes than this gains little and costs seconds.
MAX_INIT_SAMPLES = 20_000
# The 'auto' training lengths, in optimizer steps, and their bounds in epochs, per architecture. A
# convolutional step costs more than a dense one, so it gets fewer steps in the same time.
_AUTO_STEPS = {
    "mlp": {"max_epochs": (24_000, 10, 100), "pretrain_epochs": (3_000, 5, 50)},
    "conv": {"max_epochs": (13_000, 5, 100), "pretrain_epochs": (1_500, 2, 50)},
}
# 'auto' augmentation and 'auto' architecture: square images at least this many pixels wide.
AUTO_AUGMENT_MIN_SIDE = 16
# Training data above this size stays where it is (e.g. a memmap) and is read batch by batch.
_MAX_RESIDENT_BYTES = 2 * 1024**3


def square_image_shape(n_features):
    """(side, side) when ``n_features`` is a square number, else None."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def resolve_architecture(architecture, n_features):
    """'conv' or 'mlp': 'auto' is 'conv' for square images at least 16 pixels wide whose side is a multiple of 4."""
    if architecture != "auto":
        return architecture
    side = conv_image_side(n_features)
    return "conv" if side is not None and side >= AUTO_AUGMENT_MIN_SIDE else "mlp"


def auto_epochs(value, name, n_samples, batch_size, architecture):
    """``value``, or for 'auto' the epochs that give the architecture's number of optimizer steps, bounded."""
    if value != "auto":
        return value
    steps, low, high = _AUTO_STEPS[architecture][name]
    steps_per_epoch = math.ceil(n_samples / batch_size)
    return int(min(high, max(low, round(steps / steps_per_epoch))))


def effective_components(usage):
    """exp(entropy) of a usage distribution: the number of equally used components it amounts to."""
    nonzero = usage[usage > 0]
    return float(np.exp(-(nonzero * np.log(nonzero)).sum()))


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


def random_rows(rows, n_rows, rng):
    """At most ``n_rows`` rows of ``rows`` drawn without replacement (all of them when fewer), in the drawn order."""
    if len(rows) <= n_rows:
        return rows
    chosen = rng.choice(len(rows), n_rows, replace=False)
    if isinstance(rows, torch.Tensor):
        return rows[torch.as_tensor(chosen, device=rows.device)]
    # read an array (a memmap) in row order, then put the rows back in the drawn order
    order = np.argsort(chosen)
    sample = np.empty((n_rows, rows.shape[1]), dtype=rows.dtype)
    sample[order] = read_rows(rows, chosen[order])
    return sample


def fit_code_mixture(codes, k, rng):
    """Means and variances of a diagonal GaussianMixture with ``k`` components fitted on latent codes.

    Parameters
    ----------
    codes : ndarray of shape (n_codes, latent_dim)
    k : int
    rng : numpy.random.RandomState

    Returns
    -------
    means, variances : ndarrays of shape (k, latent_dim)
    """
    if len(codes) < 2:  # GaussianMixture needs two samples; one code is its own mixture
        return codes.repeat(k, axis=0), np.ones((k, codes.shape[1]))
    mixture = GaussianMixture(n_components=k, covariance_type="diag", max_iter=100, reg_covar=1e-4,
                              random_state=rng)
    with warnings.catch_warnings():
        # A GaussianMixture that has not fully converged is still a good starting point.
        warnings.simplefilter("ignore")
        mixture.fit(codes)
    return mixture.means_, mixture.covariances_


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


def network_spec(transformer, X):
    """The fitted record ``transformer``'s parameters give for ``X``, checked against it; 'auto' resolved here only."""
    n_samples, n_features = X.shape
    if transformer.k > n_samples:
        raise ValueError(
            f"k={transformer.k} components cannot be fitted on {n_samples} samples: expected "
            f"k <= n_samples. Lower k or give more data."
        )
    if any(not isinstance(width, Integral) or width < 1 for width in transformer.hidden_sizes):
        raise ValueError(f"hidden_sizes must hold positive ints, got {transformer.hidden_sizes!r}.")
    if transformer.architecture == "conv" and conv_image_side(n_features) is None:
        raise ValueError(
            f"architecture='conv' needs square images whose side is a multiple of 4 (e.g. 28x28), but "
            f"n_features={n_features} is not one. Use architecture='mlp'."
        )
    if transformer.augment in (True, "mirror") and square_image_shape(n_features) is None:
        raise ValueError(
            f"augment={transformer.augment!r} distorts square images, but n_features={n_features} is not a "
            "square number. Set augment=False for non-image data."
        )
    return NetworkSpec(n_features, transformer.k, transformer.latent_dim,
                       tuple(int(w) for w in transformer.hidden_sizes),
                       resolve_architecture(transformer.architecture, n_features))


def check_same_network(fitted, spec):
    """Refuse to continue a fitted network (``fitted``) whose shape the current parameters (``spec``) change."""
    changed = fitted.differences(spec)
    if changed:
        said = ", ".join(f"{name}={new!r} (fitted: {old!r})"
                         for name, (old, new) in changed.items())
        raise ValueError(
            f"warm_start=True continues the fitted network, but the parameters now give another shape: "
            f"{said}. Set them back, or set warm_start=False to start afresh."
        )
