"""ELBO of the Gaussian-mixture VAE with a single decode per sample.

With q(z, c | x) = q(z|x) q(c|x), the ELBO is::

    E_q(z|x)[log p(x|z)] + H[q(z|x)] + E_q(c|x)[a_c(x) - log q(c|x)],
    a_c(x) = log p(c) + E_q(z|x)[log p(z|c)].

For Gaussian q(z|x) and p(z|c), a_c(x) is closed form, and the last term is
maximised by q(c|x) = softmax_c a_c(x), where it equals logsumexp_c a_c(x).
Using that optimum removes the need for a separate q(c|x) network and for one
decode per component: only the reconstruction term needs a sample of z, and
z does not depend on c.
"""

import torch
from torch.nn import functional as F

from .modules import LOG_2PI


def bernoulli_log_likelihood(logits, target):
    """log p(x|z) summed over pixels, for pixels in [0, 1].

    Parameters
    ----------
    logits : Tensor of shape (batch, n_features)
    target : Tensor of shape (batch, n_features)

    Returns
    -------
    Tensor of shape (batch,)
    """
    return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)


def gaussian_entropy(log_var):
    """Entropy of a diagonal Gaussian, Tensor of shape (batch,)."""
    return 0.5 * (1.0 + LOG_2PI + log_var).sum(-1)


def reparameterize(mean, log_var, generator=None, noise=None):
    """One sample of z ~ N(mean, exp(log_var)) that gradients flow through.

    ``noise`` (standard normal, broadcastable to ``mean``) replaces the draw
    from ``generator`` when given.
    """
    if noise is None:
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + (0.5 * log_var).exp() * noise


def elbo_terms(model, x_input, x_target=None, generator=None, noise=None, encoded=None):
    """Per-sample ELBO and its parts.

    Parameters
    ----------
    model : GMVAE
    x_input : Tensor of shape (batch, n_features)
        What the encoder sees (possibly a distorted view).
    x_target : Tensor of shape (batch, n_features), optional
        What the decoder must reconstruct; ``x_input`` when omitted.
    generator : torch.Generator, optional
        Source of the reparameterisation noise.
    noise : Tensor of shape (latent_dim,), optional
        One standard-normal draw shared by every sample instead of a draw
        per sample: each sample's ELBO is still an unbiased one-sample
        estimate, and it no longer depends on the other samples of the batch.
    encoded : tuple of Tensors, optional
        ``(mean, log_var)`` of q(z|x_input) when the caller has encoded it
        already; ``x_input`` is then not encoded again.

    Returns
    -------
    dict of Tensors of shape (batch,)
        ``elbo``, ``reconstruction`` (log-likelihood), ``kl_z``
        (E_q(c|x) KL(q(z|x) || p(z|c))) and ``kl_c`` (KL(q(c|x) || p(c))), with
        ``elbo = reconstruction - kl_z - kl_c``; plus ``log_resp``, log q(c|x) of
        shape (batch, K), and ``mean``, the mean of q(z|x), shape (batch, latent_dim).
    """
    if x_target is None:
        x_target = x_input
    mean, log_var = model.encoder(x_input) if encoded is None else encoded
    z = reparameterize(mean, log_var, generator, noise)
    reconstruction = bernoulli_log_likelihood(model.decoder(z), x_target)

    log_prior_c = model.prior.log_weights()
    expected_log_pz, log_resp = model.component_terms(mean, log_var)  # (B, K) each
    resp = log_resp.exp()

    kl_z = -gaussian_entropy(log_var) - (resp * expected_log_pz).sum(-1)
    kl_c = (resp * (log_resp - log_prior_c)).sum(-1)
    return {
        "elbo": reconstruction - kl_z - kl_c,
        "reconstruction": reconstruction,
        "kl_z": kl_z,
        "kl_c": kl_c,
        "log_resp": log_resp,
        "mean": mean,
    }


def symmetric_kl(log_p, log_q):
    """Symmetric KL divergence between two categorical distributions given as logs.

    Parameters
    ----------
    log_p, log_q : Tensors of shape (batch, K)

    Returns
    -------
    Tensor of shape (batch,)
    """
    p, q = log_p.exp(), log_q.exp()
    return ((p - q) * (log_p - log_q)).sum(-1)


def batch_usage_kl(log_resp):
    """KL(mean_x q(c|x) || uniform) over a batch.

    Parameters
    ----------
    log_resp : Tensor of shape (batch, K)
        log q(c|x).

    Returns
    -------
    scalar Tensor
    """
    n_samples, n_components = log_resp.shape
    log_usage = torch.logsumexp(log_resp, dim=0) - torch.log(torch.tensor(float(n_samples)))
    return (log_usage.exp() * (log_usage + torch.log(torch.tensor(float(n_components))))).sum()


def nt_xent(first, second, temperature=0.3):
    """Contrastive loss of SimCLR (NT-Xent) between two views of the same batch.

    Each code is pulled towards the code of the other view of its image and
    pushed from the codes of the other images, by cosine similarity.

    Parameters
    ----------
    first, second : Tensors of shape (batch, dim)
    temperature : float

    Returns
    -------
    scalar Tensor
        Mean over the 2 * batch codes.
    """
    codes = F.normalize(torch.cat([first, second]), dim=1)
    with torch.autocast(codes.device.type, enabled=False):  # similarities in full precision under autocast
        similarity = codes @ codes.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    n = len(first)
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(codes.device)
    return F.cross_entropy(similarity, partner)


def gmvae_loss(model, x, generator, augmenter=None, consistency_weight=0.0, balance_weight=0.0,
               contrastive_weight=0.0):
    """Loss of one batch: minus the mean ELBO, plus the balance and view-consistency terms.

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
        Weight of :func:`batch_usage_kl`, which keeps the aggregate posterior
        close to the uniform prior over components, the guard against
        component collapse.
    contrastive_weight : float
        Weight of :func:`nt_xent` between the q(z|x) means of two distorted
        views (needs ``augmenter``).

    Returns
    -------
    loss : scalar Tensor
    terms : dict of float
        Batch means of ``elbo``, ``reconstruction``, ``kl_z``, ``kl_c``,
        ``consistency`` and ``balance``.
    """
    two_views = augmenter is not None and (consistency_weight > 0 or contrastive_weight > 0)
    if two_views:
        # One encoder pass over both distortions: one large batch runs faster than two small ones.
        mean, log_var = model.encoder(torch.cat([augmenter(x, generator), augmenter(x, generator)]))
        (mean, other_mean), (log_var, other_log_var) = mean.chunk(2), log_var.chunk(2)
        terms = elbo_terms(model, None, x, generator, encoded=(mean, log_var))
    else:
        terms = elbo_terms(model, augmenter(x, generator) if augmenter is not None else x, x, generator)
    loss = -terms["elbo"].mean()
    balance = torch.zeros((), device=x.device)
    if balance_weight > 0:
        balance = batch_usage_kl(terms["log_resp"])
        loss = loss + balance_weight * balance
    consistency = torch.zeros((), device=x.device)
    contrastive = torch.zeros((), device=x.device)
    if two_views and consistency_weight > 0:
        other_log_resp = model.component_terms(other_mean, other_log_var)[1]
        consistency = symmetric_kl(terms["log_resp"], other_log_resp).mean()
        loss = loss + consistency_weight * consistency
    if two_views and contrastive_weight > 0:
        contrastive = nt_xent(terms["mean"], other_mean)
        loss = loss + contrastive_weight * contrastive
    summary = {name: terms[name].mean().item() for name in ("elbo", "reconstruction", "kl_z", "kl_c")}
    summary["consistency"] = consistency.item()
    summary["balance"] = balance.item()
    if contrastive_weight > 0:
        summary["contrastive"] = contrastive.item()
    return loss, summary


def autoencoder_loss(model, x, generator, augmenter=None, contrastive_weight=0.0):
    """Reconstruction loss of the deterministic autoencoder used for pretraining.

    Parameters
    ----------
    model : GMVAE
    x : Tensor of shape (batch, n_features)
    generator : torch.Generator
    augmenter : callable, optional
        As in :func:`gmvae_loss`.
    contrastive_weight : float
        As in :func:`gmvae_loss`.

    Returns
    -------
    loss : scalar Tensor
    terms : dict of float
        Batch mean of ``reconstruction``.
    """
    two_views = augmenter is not None and contrastive_weight > 0
    if two_views:
        mean, other_mean = model.encoder(torch.cat([augmenter(x, generator), augmenter(x, generator)]))[0].chunk(2)
    else:
        mean = model.encoder(augmenter(x, generator) if augmenter is not None else x)[0]
    reconstruction = bernoulli_log_likelihood(model.decoder(mean), x)
    loss, terms = -reconstruction.mean(), {"reconstruction": reconstruction.mean().item()}
    if two_views:
        contrastive = nt_xent(mean, other_mean)
        loss = loss + contrastive_weight * contrastive
        terms["contrastive"] = contrastive.item()
    return loss, terms
