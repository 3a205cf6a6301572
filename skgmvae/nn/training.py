"""One epoch of training: shuffled mini-batches, one optimizer step each, a clear error when the loss diverges.

The estimator runs the epochs (:meth:`skgmvae.GMVAETransformer._run_epochs`),
so that the history, the progress bar and what happens on Ctrl-C stay in one
place.
"""

import numpy as np
import torch

from .._io import read_rows
from .inference import to_float_tensor


def _batches(n_samples, batch_size, generator, device):
    order = torch.randperm(n_samples, generator=generator, device=generator.device).to(device)
    return order.split(batch_size)


def _gather(X, index, device):
    """The rows ``index`` of ``X``: indexed on the device for a Tensor, read in row order from an array."""
    if isinstance(X, torch.Tensor):
        return to_float_tensor(X[index], device)
    return to_float_tensor(read_rows(X, np.sort(index.cpu().numpy())), device)


def run_epoch(loss_fn, model, X, step, batch_size, generator, epoch, on_batch_end=None):
    """One pass over ``X`` in shuffled mini-batches.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(model, x_batch, generator) -> (loss, dict of float)``.
    model : torch.nn.Module
    X : Tensor or array-like of shape (n_samples, n_features)
        A Tensor on the training device (each batch indexed there), or an
        array such as a memmap (each batch read and moved to the device).
    step : callable
        ``step(loss)``: the optimizer step on a batch's loss (backward
        included), once the loss is known to be finite.
    batch_size : int
    generator : torch.Generator
    epoch : int
        Only used in error messages.
    on_batch_end : callable, optional
        Called with no argument after every step.

    Returns
    -------
    dict of float
        Each term averaged over the samples of the epoch.
    """
    model.train()
    device = next(model.parameters()).device
    totals, n_seen = {}, 0
    index_device = X.device if isinstance(X, torch.Tensor) else "cpu"
    for index in _batches(len(X), batch_size, generator, index_device):
        loss, terms = loss_fn(model, _gather(X, index, device), generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"The training loss became {loss.item()} at epoch {epoch + 1}. The usual cause is a "
                "learning_rate that is too high for this data; lower it (e.g. divide it by 10) or "
                "check the input for extreme values."
            )
        step(loss)
        if on_batch_end is not None:
            on_batch_end()
        for name, value in terms.items():
            totals[name] = totals.get(name, 0.0) + value * len(index)
        n_seen += len(index)
    return {name: total / n_seen for name, total in totals.items()}
