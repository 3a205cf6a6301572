"""The training loop, in small steps: one batch, one epoch, the whole fit.

The loop records one history entry per epoch, shows a tqdm bar when asked,
stops with a clear error when the loss stops being finite, and on
KeyboardInterrupt keeps the weights of the last completed epoch.
"""

import copy
import warnings

import torch
from tqdm.auto import tqdm

from .losses import bernoulli_log_likelihood, elbo_terms, symmetric_kl


class TrainingInterrupted(UserWarning):
    """Warned when fitting stops early on KeyboardInterrupt."""


def _batches(n_samples, batch_size, generator, device):
    order = torch.randperm(n_samples, generator=generator, device=generator.device).to(device)
    return order.split(batch_size)


def gmvae_loss(model, x, generator, augmenter=None, consistency_weight=0.0, balance_weight=0.0):
    """Loss of one batch: minus the mean ELBO, plus the view-consistency term.

    Parameters
    ----------
    model : GMVAE
    x : Tensor of shape (batch, n_features)
    generator : torch.Generator
    augmenter : callable, optional
        ``augmenter(x, generator)`` returns a distorted view of ``x``. When
        given, the encoder sees the distorted view and the decoder must
        reconstruct the clean image.
    consistency_weight : float
        Weight of the symmetric KL between q(c|x) of two distorted views.
    balance_weight : float
        Weight of KL(batch mean of q(c|x) || p(c)), which keeps the
        aggregate posterior close to the uniform prior over components, the
        guard against component collapse. Scaled by the batch size so that
        it weighs like a per-sample term.

    Returns
    -------
    loss : scalar Tensor
    terms : dict of float
        Batch means of ``elbo``, ``reconstruction``, ``kl_z``, ``kl_c`` and
        ``consistency``.
    """
    view = augmenter(x, generator) if augmenter is not None else x
    terms = elbo_terms(model, view, x, generator)
    loss = -terms["elbo"].mean()
    balance = torch.zeros((), device=x.device)
    if balance_weight > 0:
        balance = batch_usage_kl(terms["log_resp"])
        loss = loss + balance_weight * balance
    consistency = torch.zeros((), device=x.device)
    if augmenter is not None and consistency_weight > 0:
        mean, log_var = model.encoder(augmenter(x, generator))
        other_log_resp = model.cluster_logits(mean, log_var).log_softmax(-1)
        consistency = symmetric_kl(terms["log_resp"], other_log_resp).mean()
        loss = loss + consistency_weight * consistency
    summary = {name: terms[name].mean().item() for name in ("elbo", "reconstruction", "kl_z", "kl_c")}
    summary["consistency"] = consistency.item()
    summary["balance"] = balance.item()
    return loss, summary


def batch_usage_kl(log_resp):
    """KL(mean_x q(c|x) || uniform) over a batch, from log q(c|x) of shape (batch, K)."""
    n_components = log_resp.shape[1]
    log_usage = torch.logsumexp(log_resp, dim=0) - torch.log(torch.tensor(float(len(log_resp))))
    return (log_usage.exp() * (log_usage + torch.log(torch.tensor(float(n_components))))).sum()


def revive_components(model, x_sample, min_usage, generator):
    """Move the components that hold almost no posterior mass onto codes of random images.

    A component whose share of the mass of q(c|x) on ``x_sample`` is below
    ``min_usage / K`` gets as mean the code (mean of q(z|x)) of a random image
    of the sample and as variance the median variance of the components that
    stay. Images are drawn uniformly, so the moved components land where the
    data is dense and split the crowded components, as dead centroids are
    re-seeded in k-means.

    Parameters
    ----------
    model : GMVAE
    x_sample : Tensor of shape (n_samples, n_features)
        Clean images used to measure the usage and to draw the new means.
    min_usage : float
        Threshold on the usage, as a fraction of the uniform share 1 / K.
    generator : torch.Generator
        Source of the random draw of images.

    Returns
    -------
    usage : Tensor of shape (K,)
        Share of the posterior mass of each component before the move.
    n_moved : int
    """
    model.eval()
    with torch.no_grad():
        codes, usage = [], 0.0
        for batch in x_sample.split(2048):
            mean, log_var = model.encoder(batch)
            codes.append(mean)
            usage = usage + model.cluster_logits(mean, log_var).softmax(-1).sum(0)
        mean, usage = torch.cat(codes), usage / len(x_sample)
        prior = model.prior
        dead = usage < min_usage / prior.n_components
        n_moved = int(dead.sum())
        if 0 < n_moved < prior.n_components:
            draws = torch.randint(len(mean), (n_moved,), generator=generator, device=generator.device)
            prior.means[dead] = mean[draws.to(mean.device)]
            prior.log_vars[dead] = prior.log_vars[~dead].median(dim=0).values
    model.train()
    return usage, n_moved


def autoencoder_loss(model, x, generator, augmenter=None):
    """Reconstruction loss of the deterministic autoencoder used for pretraining."""
    view = augmenter(x, generator) if augmenter is not None else x
    mean, _ = model.encoder(view)
    reconstruction = bernoulli_log_likelihood(model.decoder(mean), x)
    return -reconstruction.mean(), {"reconstruction": reconstruction.mean().item()}


def run_epoch(loss_fn, model, X, optimizer, batch_size, generator, epoch, scheduler=None):
    """One pass over ``X`` in shuffled mini-batches.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(model, x_batch, generator) -> (loss, dict of float)``.
    model : torch.nn.Module
    X : Tensor of shape (n_samples, n_features)
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
    totals, n_seen = {}, 0
    for index in _batches(len(X), batch_size, generator, X.device):
        loss, terms = loss_fn(model, X[index], generator)
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
    X : Tensor of shape (n_samples, n_features)
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
        warnings.warn(
            f"Training interrupted; keeping the weights of the last completed epoch "
            f"({len(history)} epochs in all).",
            TrainingInterrupted,
            stacklevel=3,
        )
        return history, True
    finally:
        bar.close()
    return history, False
