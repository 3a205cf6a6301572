"""What a fitted :class:`~skgmvae.GMVAETransformer` computes: q(c|x), codes, densities, the ELBO, samples."""

import copy
import warnings
from contextlib import nullcontext
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._runtime import draw_seed, torch_threads
from .nn.inference import batched_apply
from .nn.losses import elbo_terms

# Standard-normal draws of the reconstruction term in score_samples.
_ELBO_DRAWS = 4
# Rows of every inference batch (the last one padded to it).
INFERENCE_BATCH_SIZE = 512


def _float64_prior(module):
    """A float64 copy of the module's mixture: the log-densities amplify float32 rounding of the codes."""
    return copy.deepcopy(module.prior).double()


def _mixture_terms(module, prior, batch):
    """E_q(z|x)[log p(z|c)], log q(c|x) and the mean of q(z|x), in float64 from the float32 encoder."""
    mean, log_var = (part.double() for part in module.encoder(batch))
    expected_log_pz = prior.expected_log_density(mean, log_var)
    return expected_log_pz, prior.log_posterior(expected_log_pz), mean


def responsibilities(log_resp):
    """q(c|x) from float64 log q(c|x), rows renormalised to sum to 1 exactly."""
    resp = np.exp(log_resp)
    return resp / resp.sum(axis=1, keepdims=True)


class Inference:
    """The methods of a fitted transformer: encoding, scoring and sampling."""

    @property
    def architecture_(self):
        """{'mlp', 'conv'}: the encoder and decoder of the fitted network (``spec_.architecture``)."""
        check_is_fitted(self)
        return self.spec_.architecture

    @property
    def component_means_(self):
        """ndarray of shape (k, latent_dim): the mean of p(z|c) of each component, in latent space."""
        check_is_fitted(self)
        return self.module_.prior.means.detach().double().cpu().numpy()

    # --------------------------------------------------------------- inference
    def _inference_module(self):
        """The fitted module in eval mode, and the device inference runs on (``device_``).

        A CUDA model unpickled where there is no GPU runs on the CPU.
        """
        device = self.device_
        if device.type == "cuda" and not torch.cuda.is_available():
            device = torch.device("cpu")
        return self.module_.to(device).eval(), device

    def _map_batches(self, X, fn, *, float64_network=False, reduce=None):
        """``fn(module, batch)`` over batches of validated ``X``, as a float64 ndarray.

        The network runs in float32 on batches of exactly
        ``INFERENCE_BATCH_SIZE`` rows (the last one padded): torch picks its
        kernels by the shape, so with one shape each row is rounded the same
        way however many rows a call has and whichever rows share its batch.
        ``float64_network`` runs a float64 copy instead. ``reduce`` (``'sum'``)
        sums each batch's rows before they are gathered (on the CPU).
        """
        module, device = self._inference_module()
        dtype = torch.float32
        if float64_network:
            module, dtype = copy.deepcopy(module).double(), torch.float64

        def on_padded_batch(batch):
            n_rows = len(batch)
            padded = torch.cat([batch, batch.new_zeros(INFERENCE_BATCH_SIZE - n_rows, batch.shape[1])])
            rows = fn(module, padded)[:n_rows]
            return (rows.sum(0, keepdim=True) if reduce == "sum" else rows).cpu()

        # cuDNN would otherwise run "float32" convolutions in TF32 on recent GPUs.
        no_tf32 = torch.backends.cudnn.flags(enabled=True, allow_tf32=False) if device.type == "cuda" else nullcontext()
        with torch_threads(self.n_jobs), no_tf32:
            result = batched_apply(on_padded_batch, X, device, batch_size=INFERENCE_BATCH_SIZE, dtype=dtype)
        return result.double().numpy()

    def _encode(self, X):
        """[log q(c|x) | mean of q(z|x)] of validated ``X``, shape (n_samples, k + latent_dim)."""
        prior = _float64_prior(self.module_)

        def log_resp_and_mean(module, batch):
            _, log_resp, mean = _mixture_terms(module, prior, batch)
            return torch.cat([log_resp, mean], dim=1)

        return self._map_batches(X, log_resp_and_mean)

    def _posterior_mass(self, X):
        """Mean of q(c|x) over validated ``X``, shape (k,), without holding q(c|x) of every row."""
        prior = _float64_prior(self.module_)
        resp = self._map_batches(X, lambda module, batch: _mixture_terms(module, prior, batch)[1].exp(),
                                 reduce="sum")
        return resp.sum(axis=0) / len(X)

    def transform(self, X):
        """q(c|x), the latent means, or both, as ``output`` says.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Floats in [0, 1] or uint8 in 0-255.

        Returns
        -------
        ndarray of shape (n_samples, k), (n_samples, latent_dim) or (n_samples, k + latent_dim)
            q(c|x) rows sum to 1. Deterministic: they use the mean and
            variance of q(z|x), not a sample. ``k`` and ``latent_dim`` are
            those of the fitted network (``spec_``).
        """
        check_is_fitted(self)
        encoded = self._encode(self._validate_X(X, reset=False))
        k = self.spec_.k
        resp = responsibilities(encoded[:, :k])
        return {"posterior": resp, "latent": encoded[:, k:],
                "posterior_and_latent": np.hstack([resp, encoded[:, k:]])}[self._output()]

    def _output(self, stacklevel=3):
        """``output``, its deprecated spelling ``'both'`` read as ``'posterior_and_latent'``."""
        if self.output == "both":
            warnings.warn("output='both' is deprecated and will be removed in version 0.3; set "
                          "output='posterior_and_latent', which gives the same columns.", FutureWarning,
                          stacklevel=stacklevel)
            return "posterior_and_latent"
        return self.output

    def predict_proba(self, X):
        """q(c|x), whatever ``output`` says.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, k)
            Rows sum to 1.
        """
        check_is_fitted(self)
        return responsibilities(self._encode(self._validate_X(X, reset=False))[:, :self.spec_.k])

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Indices in ``range(k)``.
        """
        return self.predict_proba(X).argmax(axis=1)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``c0..c{k-1}`` for q(c|x), ``z0..`` for the latent means.

        Parameters
        ----------
        input_features : Ignored

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self)
        prefix = type(self).__name__.lower()
        names = {"posterior": [f"{prefix}_c{i}" for i in range(self.spec_.k)],
                 "latent": [f"{prefix}_z{i}" for i in range(self.spec_.latent_dim)]}
        output = self._output()
        chosen = names["posterior"] + names["latent"] if output == "posterior_and_latent" else names[output]
        return np.asarray(chosen, dtype=object)

    def component_log_density(self, X):
        """How typical each sample's code is of each component: E_q(z|x)[log p(z|c)].

        q(c|x) is the softmax of this (plus the constant log p(c)) over
        components; unlike q(c|x), it does not saturate at 1, so it ranks the
        members of a component from most to least representative.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, k)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        prior = _float64_prior(self.module_)
        return self._map_batches(X, lambda module, batch: _mixture_terms(module, prior, batch)[0])

    def score_samples(self, X):
        """ELBO of each sample, a lower bound on log p(x).

        The reconstruction term is averaged over 4 fixed standard-normal
        draws shared by all samples, so each sample's score is an unbiased
        estimate that depends neither on the order of the rows nor on the
        other rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        draws = torch.randn(_ELBO_DRAWS, self.spec_.latent_dim, generator=torch.Generator().manual_seed(0))

        def mean_elbo(module, batch):
            noises = draws.to(batch)
            return torch.stack([elbo_terms(module, batch, noise=noise)["elbo"] for noise in noises]).mean(0)

        # The ELBO sums a log-likelihood over every pixel: a float64 network keeps its rounding below the
        # differences between models that score() compares.
        return self._map_batches(X, mean_elbo, float64_network=True)

    def score(self, X, y=None):
        """Mean ELBO per sample (higher is better); compares models without labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        float
        """
        return float(self.score_samples(X).mean())

    def sample(self, n_samples=1, *, component=None, random_state=None):
        """Generate images from the model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of images.
        component : int, optional
            Draw all images from this component; by default components are
            drawn from the uniform p(c).
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Pixel probabilities (the Bernoulli means), in [0, 1].
        components : ndarray of shape (n_samples,)
            The component each image was drawn from.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        k = self.spec_.k
        rng = check_random_state(random_state)
        if component is None:
            components = rng.randint(k, size=n_samples)
        elif isinstance(component, Integral) and 0 <= component < k:
            components = np.full(n_samples, component)
        else:
            raise ValueError(f"component must be an int in [0, {k - 1}], got {component!r}.")
        module, device = self._inference_module()
        generator = torch.Generator(device=device).manual_seed(draw_seed(rng))
        with torch.no_grad():
            z = module.prior.sample(torch.as_tensor(components, device=device), generator)
            images = torch.sigmoid(module.decoder(z)).double().cpu().numpy()
        return images, components
