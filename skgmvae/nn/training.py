"""The training loop, in small steps: one batch, one epoch, the whole fit.

The loop records one history entry per epoch, shows a tqdm bar when asked,
stops with a clear error when the loss stops being finite, and on
KeyboardInterrupt keeps the weights of the last completed epoch and reports
it to the caller, who decides how to warn.
"""

import copy

import numpy as np
import torch
from tqdm.auto import tqdm

from .inference import read_rows, to_float_tensor
from .losses import autoencoder_loss


def _batches(n_samples, batch_size, generator, device):
    order = torch.randperm(n_samples, generator=generator, device=generator.device).to(device)
    return order.split(batch_size)


def _gather(X, index, device):
    """The rows ``index`` of ``X``: indexed on the device for a Tensor, read in row order from an array."""
    if isinstance(X, torch.Tensor):
        return to_float_tensor(X[index], device)
    return to_float_tensor(read_rows(X, np.sort(index.cpu().numpy())), device)


def run_epoch(loss_fn, model, X, optimizer, batch_size, generator, epoch, scheduler=None):
    """One pass over ``X`` in shuffled mini-batches.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(model, x_batch, generator) -> (loss, dict of float)``.
    model : torch.nn.Module
    X : Tensor or array-like of shape (n_samples, n_features)
        A Tensor on the training device (each batch indexed there), or an
        array such as a memmap (each batch read and moved to the device).
    optimizer : torch.optim.Optimizer
    batch_size : int
    generator : torch.Generator
    epoch : int
        Only used in error messages.
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        Stepped after every optimizer step.

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
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        for name, value in terms.items():
            totals[name] = totals.get(name, 0.0) + value * len(index)
        n_seen += len(index)
    return {name: total / n_seen for name, total in totals.items()}


def fit_loop(loss_fn, model, X, optimizer, *, max_epochs, batch_size, generator, scheduler=None,
             verbose=False, description="GMVAE", history=None, on_epoch_end=None):
    """Train for ``max_epochs`` epochs and record one history entry per epoch.

    Parameters
    ----------
    loss_fn : callable
        See :func:`run_epoch`.
    model : torch.nn.Module
    X : Tensor or array-like of shape (n_samples, n_features)
        See :func:`run_epoch`.
    optimizer : torch.optim.Optimizer
    max_epochs : int
    batch_size : int
    generator : torch.Generator
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        Stepped after every optimizer step.
    verbose : bool
        Show a tqdm progress bar with the current loss terms.
    description : str
        Label of the progress bar.
    history : list of dict, optional
        Entries are appended to it; a new list when omitted.
    on_epoch_end : callable, optional
        ``on_epoch_end(model, is_last) -> dict`` runs after each epoch; what
        it returns is added to that epoch's history entry.

    Returns
    -------
    history : list of dict
        One dict per completed epoch: ``epoch``, the averaged loss terms and
        the ``learning_rate`` at the end of the epoch.
    interrupted : bool
        Whether a KeyboardInterrupt ended training early. The model then holds
        the weights of the last completed epoch.
    """
    history = [] if history is None else history
    last_good_state = copy.deepcopy(model.state_dict())
    start = len(history)
    bar = tqdm(range(max_epochs), desc=description, disable=not verbose, leave=False, unit="epoch")
    try:
        for epoch in bar:
            terms = run_epoch(loss_fn, model, X, optimizer, batch_size, generator, start + epoch, scheduler)
            if on_epoch_end is not None:
                terms.update(on_epoch_end(model, epoch == max_epochs - 1))
            history.append({"epoch": start + epoch + 1, **terms, "learning_rate": optimizer.param_groups[0]["lr"]})
            last_good_state = copy.deepcopy(model.state_dict())
            bar.set_postfix({name: f"{value:.4g}" for name, value in terms.items()})
    except KeyboardInterrupt:
        model.load_state_dict(last_good_state)
        return history, True
    finally:
        bar.close()
    return history, False


def pretrain(model, X, *, max_epochs, batch_size, learning_rate, generator, augmenter=None, verbose=False,
             on_epoch_end=None, contrastive_weight=0.0):
    """Train the encoder and decoder as a deterministic autoencoder (the prior is left alone).

    Parameters
    ----------
    model : GMVAE
    X : Tensor or array-like of shape (n_samples, n_features)
    max_epochs, batch_size : int
    learning_rate : float
        Adam step size.
    generator : torch.Generator
    augmenter : callable, optional
        As in :func:`~skgmvae.nn.losses.autoencoder_loss`.
    verbose : bool
    on_epoch_end : callable, optional
        As in :func:`fit_loop`.
    contrastive_weight : float, default=0.0
        As in :func:`~skgmvae.nn.losses.autoencoder_loss`.

    Returns
    -------
    history, interrupted
        As :func:`fit_loop` returns them.
    """
    parameters = [*model.encoder.parameters(), *model.decoder.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=learning_rate)

    def loss_fn(module, x, gen):
        return autoencoder_loss(module, x, gen, augmenter, contrastive_weight)

    return fit_loop(loss_fn, model, X, optimizer, max_epochs=max_epochs, batch_size=batch_size,
                    generator=generator, verbose=verbose, description="pretraining", on_epoch_end=on_epoch_end)
