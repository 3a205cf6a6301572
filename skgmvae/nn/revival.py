"""Guard against component collapse: move the components that hold no posterior mass back onto the data."""

import torch

from .inference import component_usage


def revive_components(model, x_sample, min_usage, generator):
    """Move the components that hold almost no posterior mass onto codes of random images.

    A component whose share of the mass of q(c|x) on ``x_sample`` is below
    ``min_usage / K`` gets as mean the code (mean of q(z|x)) of a random image
    of the sample and as variance the median variance of the components that
    stay (:meth:`MixturePrior.move_components`). Images are drawn uniformly,
    so the moved components land where the data is dense and split the
    crowded components, as dead centroids are re-seeded in k-means.

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
    was_training = model.training
    model.eval()
    usage = component_usage(model, x_sample, x_sample.device)
    dead = usage < min_usage / model.prior.n_components
    n_moved = int(dead.sum())
    if 0 < n_moved < model.prior.n_components:
        draws = torch.randint(len(x_sample), (n_moved,), generator=generator, device=generator.device)
        with torch.no_grad():
            codes = model.encoder(x_sample[draws.to(x_sample.device)])[0]
        model.prior.move_components(dead, codes)
    model.train(was_training)
    return usage, n_moved
