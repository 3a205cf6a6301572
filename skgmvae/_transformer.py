"""GMVAETransformer: a Gaussian-mixture VAE as an unsupervised scikit-learn transformer."""

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_unit_interval
from .nn.augment import RandomAffine
from .nn.losses import elbo_terms
from .nn.modules import GMVAE
from .nn.training import autoencoder_loss, fit_loop, gmvae_loss, revive_components

# GaussianMixture on more codes than this gains little and costs seconds.
_MAX_INIT_SAMPLES = 20_000
_EVAL_BATCH = 2048
# Images on which component usage is measured after each epoch.
_USAGE_SAMPLE = 4096
# The 'auto' training lengths, in optimizer steps, and their bounds in epochs.
_AUTO_STEPS = {"max_epochs": (24_000, 10, 100), "pretrain_epochs": (3_000, 5, 50)}
# 'auto' augmentation: square images at least this many pixels wide.
_AUTO_AUGMENT_MIN_SIDE = 16


_SAVE_FORMAT = "skgmvae.GMVAETransformer"
_SAVE_VERSION = 1


class ComponentCollapseWarning(UserWarning):
    """Warned when a few mixture components hold almost all the posterior mass."""


def _resolve_device(device):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available here; use 'cpu' or 'auto'.")
    return resolved


def _square_image_shape(n_features):
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def _effective_components(usage):
    """exp(entropy) of a usage distribution: the number of equally used components it amounts to."""
    nonzero = usage[usage > 0]
    return float(np.exp(-(nonzero * np.log(nonzero)).sum()))


def _auto_epochs(value, name, n_samples, batch_size):
    if value != "auto":
        return value
    steps, low, high = _AUTO_STEPS[name]
    steps_per_epoch = math.ceil(n_samples / batch_size)
    return int(min(high, max(low, round(steps / steps_per_epoch))))


class GMVAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Gaussian-mixture variational autoencoder that maps images to q(c|x).

    Fitting is unsupervised: ``y`` is accepted and ignored, so the transformer
    can sit first in a :class:`~sklearn.pipeline.Pipeline` before a
    :class:`ClusterLabelDecoder`.

    The generative model is the GMVAE's: a uniform categorical c over ``k``
    components, a Gaussian p(z|c) with learned mean and diagonal variance, and
    a Bernoulli likelihood p(x|z) whose logits come from an MLP decoder.

    **One decode per sample.** The reference GMVAE uses q(z|x, c) and decodes
    every sample once per component (K decodes per step). Here q(z|x) is one
    diagonal Gaussian shared by all components and q(c|x) is the exact
    maximiser of the ELBO given q(z|x): ``q(c|x) = softmax_c(log p(c) +
    E_q(z|x)[log p(z|c)])``, closed form for Gaussians. The ELBO becomes
    ``E_q[log p(x|z)] + H[q(z|x)] + logsumexp_c(...)``; only the first term
    needs a sample of z, and that sample does not depend on c, so each sample
    is decoded once. The generative model, and so ``sample`` and the meaning
    of the components, are unchanged.

    **Against component collapse** the model is initialised the VaDE way:
    ``pretrain_epochs`` of plain autoencoder training, then a diagonal
    :class:`~sklearn.mixture.GaussianMixture` with ``k`` components fitted on
    the codes gives the starting p(z|c); p(c) stays uniform, which penalises
    posteriors that pile onto few components. During training, components
    left without mass are moved back onto the data (``min_component_usage``).
    ``component_usage_`` reports the result, and a
    :class:`ComponentCollapseWarning` is raised when the mass concentrates on
    fewer than ``k / 4`` components.

    Parameters
    ----------
    k : int, default=200
        Number of mixture components (clusters). More components than
        classes let each class spread over several clusters (styles of a
        letter); the soft decoder pools them. On EMNIST Letters (26 classes)
        200 components beat 100 at every label count from 73 to 1000 (see
        the benchmark's variant table), and tie on Fashion-MNIST.
    latent_dim : int, default=32
        Dimension of the latent code z. 32 measured 1 to 2 points ahead of 16
        on EMNIST Letters; on Fashion-MNIST it collapsed onto 40 of 200
        components until ``min_component_usage`` revived them, and then tied
        with 16 (see the benchmark's variant table).
    hidden_sizes : tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    max_epochs : int or 'auto', default='auto'
        Epochs of GMVAE training after pretraining. 'auto' gives about
        24,000 optimizer steps, within 10 to 100 epochs (79 epochs for 19,358
        images, 26 for 60,000, 100 for 1,797 with the default batch size).
    pretrain_epochs : int or 'auto', default='auto'
        Epochs of autoencoder pretraining before the mixture initialisation.
        'auto' gives about 3,000 optimizer steps, within 5 to 50 epochs.
    batch_size : int, default=64
        Mini-batch size.
    learning_rate : float, default=1e-3
        Adam step size.
    learning_rate_schedule : {'constant', 'cosine'}, default='constant'
        How the step size of GMVAE training changes: kept at
        ``learning_rate``, or decayed from it to zero along a half cosine over
        the ``max_epochs`` of the fit. Pretraining always uses the constant
        step size.
    augment : bool or 'auto', default='auto'
        Train on randomly rotated, shifted and scaled copies of the images
        (the decoder still reconstructs the clean image), which makes q(c|x)
        invariant to those distortions. Needs square images. 'auto' turns it
        on for square images at least 16 pixels wide (28x28 letters: +12
        points of accuracy at 291 labels in the benchmark) and off otherwise.
    consistency_weight : float, default=1.0
        With ``augment``, weight of the symmetric KL between q(c|x) of two
        distortions of the same image.
    min_component_usage : float in [0, 1), default=0.25
        Guard against component collapse during training: after each epoch
        but the last, a component whose share of the posterior mass (on up
        to 4,096 training images) is below ``min_component_usage / k`` is
        moved onto the code of a random training image, with the median
        variance of the other components, as k-means re-seeds empty
        clusters. 0 turns it off. (Fashion-MNIST with a 32-d latent: 15
        components in use after the first epoch, 153 moved, 196 of 200 in
        use at the end.)
    device : {'auto', 'cpu', 'cuda'} or str, default='auto'
        Torch device; 'auto' picks CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise and the mixture
        initialisation. With an int, results on the CPU are reproducible and
        the global NumPy / torch random states are left untouched.
    verbose : bool, default=False
        Show a tqdm progress bar with the loss terms.
    warm_start : bool, default=False
        When fitted already, continue training the current model for
        ``max_epochs`` more epochs instead of starting again.

    Attributes
    ----------
    n_features_in_ : int
        Number of pixels seen in fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Column names, when X was a DataFrame with string column names.
    module_ : skgmvae.nn.GMVAE
        The trained torch module (on the CPU after unpickling).
    history_ : list of dict
        One entry per epoch of GMVAE training: ``epoch``, ``elbo``,
        ``reconstruction``, ``kl_z``, ``kl_c``, ``consistency``, ``balance``
        (per-sample means), ``learning_rate`` (the step size at the end
        of the epoch), ``components_used`` (as ``n_components_used_``, on up
        to 4,096 training images) and ``components_moved`` (see
        ``min_component_usage``).
    pretrain_history_ : list of dict
        One entry per pretraining epoch: ``epoch``, ``reconstruction``.
    n_epochs_ : int
        GMVAE epochs run, over all calls to fit with ``warm_start``.
    component_usage_ : ndarray of shape (k,)
        Mean of q(c|x) over the training images; sums to 1.
    n_components_used_ : float
        exp(entropy of ``component_usage_``): how many equally used
        components the usage amounts to (``k`` when perfectly balanced).
    device_ : torch.device
        Device used for fitting.
    augment_ : bool
        Whether training used distorted copies of the images.
    interrupted_ : bool
        Whether the last fit was stopped by KeyboardInterrupt (the weights
        are then those of the last completed epoch).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgmvae import GMVAETransformer
    >>> X = load_digits().data / 16.0
    >>> gmvae = GMVAETransformer(k=10, max_epochs=2, pretrain_epochs=1, random_state=0)
    >>> gmvae.fit_transform(X).shape
    (1797, 10)
    """

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_sizes": [tuple, list],
        "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "augment": ["boolean", StrOptions({"auto"})],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "balance_weight": [Interval(Real, 0, None, closed="left")],
        "min_component_usage": [Interval(Real, 0, 1, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        k=200,
        *,
        latent_dim=32,
        hidden_sizes=(512, 256),
        max_epochs="auto",
        pretrain_epochs="auto",
        batch_size=64,
        learning_rate=1e-3,
        learning_rate_schedule="constant",
        augment="auto",
        consistency_weight=1.0,
        balance_weight=1.0,
        min_component_usage=0.25,
        device="auto",
        random_state=None,
        verbose=False,
        warm_start=False,
    ):
        self.k = k
        self.latent_dim = latent_dim
        self.hidden_sizes = hidden_sizes
        self.max_epochs = max_epochs
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.augment = augment
        self.consistency_weight = consistency_weight
        self.balance_weight = balance_weight
        self.min_component_usage = min_component_usage
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ----------------------------------------------------------------- checks
    def _validate_X(self, X, reset):
        X = validate_data(self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1)
        check_unit_interval(X, type(self).__name__)
        return X

    def _check_params(self, X):
        n_samples = X.shape[0]
        if self.k > n_samples:
            raise ValueError(
                f"k={self.k} components cannot be fitted on {n_samples} samples: expected "
                f"k <= n_samples. Lower k or give more data."
            )
        if any(not isinstance(width, Integral) or width < 1 for width in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must hold positive ints, got {self.hidden_sizes!r}.")
        if self.augment is True and _square_image_shape(X.shape[1]) is None:
            raise ValueError(
                f"augment=True distorts square images, but n_features={X.shape[1]} is not a "
                "square number. Set augment=False for non-image data."
            )

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the GMVAE on ``X`` without labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images flattened to rows, values in [0, 1].
        y : Ignored
            Accepted for Pipeline compatibility.

        Returns
        -------
        self : GMVAETransformer
        """
        continuing = self.warm_start and hasattr(self, "module_")
        X = self._validate_X(X, reset=not continuing)
        self._check_params(X)
        if continuing and self.module_.prior.n_components != self.k:
            raise ValueError(
                f"warm_start=True continues the fitted model with k={self.module_.prior.n_components}, "
                f"but k is now {self.k}. Set warm_start=False to start again."
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.device_ = _resolve_device(self.device)
        X_tensor = torch.tensor(X, dtype=torch.float32, device=self.device_)
        image_shape = _square_image_shape(X.shape[1])
        self.augment_ = self.augment is True or (
            self.augment == "auto" and image_shape is not None and image_shape[0] >= _AUTO_AUGMENT_MIN_SIDE
        )
        augmenter = RandomAffine(image_shape) if self.augment_ else None
        max_epochs = _auto_epochs(self.max_epochs, "max_epochs", len(X), self.batch_size)

        with torch.random.fork_rng(devices=[] if self.device_.type == "cpu" else [self.device_]):
            torch.manual_seed(seed)
            generator = torch.Generator(device=self.device_).manual_seed(seed)
            if not continuing:
                self._initialize(X_tensor, generator, augmenter, seed)
            self.module_.to(self.device_)
            optimizer = torch.optim.Adam(self.module_.parameters(), lr=self.learning_rate)
            scheduler = None
            if self.learning_rate_schedule == "cosine":
                total_steps = max(1, max_epochs * math.ceil(len(X) / self.batch_size))
                scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)

            def loss_fn(model, x, gen):
                return gmvae_loss(model, x, gen, augmenter, self.consistency_weight, self.balance_weight)

            # A generator of its own, so that measuring usage leaves the training draws unchanged.
            usage_generator = torch.Generator(device=self.device_).manual_seed(seed + 1)
            usage_rows = torch.randperm(len(X), generator=usage_generator, device=self.device_)[:_USAGE_SAMPLE]
            usage_sample = X_tensor[usage_rows]

            def on_epoch_end(model, is_last):
                min_usage = 0.0 if is_last else self.min_component_usage
                usage, n_moved = revive_components(model, usage_sample, min_usage, usage_generator)
                return {
                    "components_used": _effective_components(usage.double().cpu().numpy()),
                    "components_moved": n_moved,
                }

            self.history_, self.interrupted_ = fit_loop(
                loss_fn, self.module_, X_tensor, optimizer,
                max_epochs=max_epochs, batch_size=self.batch_size, generator=generator,
                scheduler=scheduler, verbose=self.verbose, description="GMVAE", history=self.history_,
                on_epoch_end=on_epoch_end,
            )
        self.n_epochs_ = len(self.history_)
        self._record_usage(X)
        return self

    def _initialize(self, X_tensor, generator, augmenter, seed):
        """Build the module, pretrain it as an autoencoder and fit the mixture on its codes."""
        self.module_ = GMVAE(X_tensor.shape[1], self.k, self.latent_dim, tuple(self.hidden_sizes))
        self.module_.to(self.device_)
        self.history_ = []
        self.pretrain_history_ = []
        pretrain_epochs = _auto_epochs(self.pretrain_epochs, "pretrain_epochs", len(X_tensor), self.batch_size)
        if pretrain_epochs:
            encoder_decoder = [*self.module_.encoder.parameters(), *self.module_.decoder.parameters()]
            optimizer = torch.optim.Adam(encoder_decoder, lr=self.learning_rate)

            def loss_fn(model, x, gen):
                return autoencoder_loss(model, x, gen, augmenter)

            self.pretrain_history_, self.interrupted_ = fit_loop(
                loss_fn, self.module_, X_tensor, optimizer,
                max_epochs=pretrain_epochs, batch_size=self.batch_size, generator=generator,
                verbose=self.verbose, description="pretraining",
            )
        codes = self._encode_means(X_tensor)
        init_rng = np.random.RandomState(seed)
        if len(codes) > _MAX_INIT_SAMPLES:
            codes = codes[init_rng.choice(len(codes), _MAX_INIT_SAMPLES, replace=False)]
        if len(codes) < 2:  # GaussianMixture needs two samples; one code is its own mixture
            means, variances = codes.repeat(self.k, axis=0), np.ones((self.k, codes.shape[1]))
        else:
            mixture = GaussianMixture(
                n_components=self.k, covariance_type="diag", max_iter=100, reg_covar=1e-4,
                random_state=init_rng,
            )
            with warnings.catch_warnings():
                # A GaussianMixture that has not fully converged is still a good starting point.
                warnings.simplefilter("ignore")
                mixture.fit(codes)
            means, variances = mixture.means_, mixture.covariances_
        prior = self.module_.prior
        with torch.no_grad():
            prior.means.copy_(torch.as_tensor(means, dtype=torch.float32))
            prior.log_vars.copy_(torch.as_tensor(np.log(variances), dtype=torch.float32))

    def _record_usage(self, X):
        usage = self._posterior(X).mean(axis=0)
        usage = usage / usage.sum()
        self.component_usage_ = usage
        self.n_components_used_ = _effective_components(usage)
        if self.k >= 4 and self.n_components_used_ < self.k / 4:
            top = np.sort(usage)[::-1]
            n_top = max(1, self.k // 10)
            warnings.warn(
                f"Component collapse: the {self.k} components amount to only "
                f"{self.n_components_used_:.1f} equally used ones, and the {n_top} largest hold "
                f"{100 * top[:n_top].sum():.0f}% of the posterior mass. Try a lower k, more "
                "pretrain_epochs, a lower learning_rate, or more data.",
                ComponentCollapseWarning,
                stacklevel=3,
            )

    # ------------------------------------------------------------- inference
    def _runtime_device(self):
        if self.device_.type == "cuda" and not torch.cuda.is_available():
            return torch.device("cpu")
        return self.device_

    def _batched(self, X, fn):
        """Apply ``fn`` to tensor batches of ``X`` in eval mode, without gradients."""
        device = self._runtime_device()
        self.module_.to(device)
        self.module_.eval()
        outputs = []
        with torch.no_grad():
            for start in range(0, len(X), _EVAL_BATCH):
                batch = torch.tensor(X[start:start + _EVAL_BATCH], dtype=torch.float32, device=device)
                outputs.append(fn(batch).double().cpu().numpy())
        return np.concatenate(outputs) if outputs else np.empty((0,))

    def _encode_means(self, X_tensor):
        self.module_.eval()
        with torch.no_grad():
            return np.concatenate([
                self.module_.encoder(batch)[0].double().cpu().numpy()
                for batch in X_tensor.split(_EVAL_BATCH)
            ])

    def transform(self, X):
        """Posterior over components, q(c|x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Values in [0, 1].

        Returns
        -------
        resp : ndarray of shape (n_samples, k)
            Rows sum to 1. Deterministic: it uses the mean and variance of
            q(z|x), not a sample.
        """
        check_is_fitted(self)
        return self._posterior(self._validate_X(X, reset=False))

    def _posterior(self, X):
        """q(c|x) of an already validated array."""

        def log_resp(batch):
            mean, log_var = self.module_.encoder(batch)
            return self.module_.cluster_logits(mean, log_var).log_softmax(-1)

        resp = np.exp(self._batched(X, log_resp))
        return resp / resp.sum(axis=1, keepdims=True)

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
        return self._batched(X, lambda batch: self.module_.prior.expected_log_density(*self.module_.encoder(batch)))

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
        return self.transform(X).argmax(axis=1)

    def score_samples(self, X):
        """ELBO of each sample, a lower bound on log p(x) (one z sample, fixed seed).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        generator = torch.Generator(device=self._runtime_device()).manual_seed(0)
        return self._batched(X, lambda batch: elbo_terms(self.module_, batch, generator=generator)["elbo"])

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
        rng = check_random_state(random_state)
        if component is None:
            components = rng.randint(self.k, size=n_samples)
        elif isinstance(component, Integral) and 0 <= component < self.k:
            components = np.full(n_samples, component)
        else:
            raise ValueError(f"component must be an int in [0, {self.k - 1}], got {component!r}.")
        device = self._runtime_device()
        self.module_.to(device).eval()
        generator = torch.Generator(device=device).manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        with torch.no_grad():
            z = self.module_.prior.sample(torch.as_tensor(components, device=device), generator)
            images = torch.sigmoid(self.module_.decoder(z)).double().cpu().numpy()
        return images, components

    # ----------------------------------------------------------- persistence
    def save(self, path):
        """Write the parameters and trained weights to ``path`` in a format that loads safely.

        The file holds only tensors, numbers, strings and lists, so :meth:`load`
        reads it with ``torch.load(weights_only=True)``: no code runs on load.

        Parameters
        ----------
        path : str or path-like
        """
        check_is_fitted(self)
        params = self.get_params()
        if not isinstance(params["random_state"], (Integral, type(None))):
            params["random_state"] = None  # a RandomState instance cannot be stored safely
        params["device"] = str(params["device"])
        params["hidden_sizes"] = list(params["hidden_sizes"])
        torch.save({
            "format": _SAVE_FORMAT,
            "format_version": _SAVE_VERSION,
            "params": params,
            "state_dict": {name: tensor.cpu() for name, tensor in self.module_.state_dict().items()},
            "n_features_in": self.n_features_in_,
            "feature_names_in": [str(name) for name in getattr(self, "feature_names_in_", [])],
            "history": self.history_,
            "pretrain_history": self.pretrain_history_,
            "component_usage": torch.as_tensor(self.component_usage_),
            "augment": self.augment_,
        }, path)

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load a transformer written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        device : str, default='auto'
            Device for inference; 'auto' picks CUDA when present.

        Returns
        -------
        GMVAETransformer
            Fitted, with the saved parameters and weights.

        Raises
        ------
        ValueError
            If the file is not a saved GMVAETransformer, is corrupt, or comes from
            an incompatible version of skgmvae.
        """
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for corrupt files
            raise ValueError(f"{path} could not be read as a saved GMVAETransformer: {error}") from error
        if not isinstance(payload, dict) or payload.get("format") != _SAVE_FORMAT:
            raise ValueError(f"{path} is not a file written by GMVAETransformer.save.")
        if payload.get("format_version") != _SAVE_VERSION:
            raise ValueError(
                f"{path} was written in format version {payload.get('format_version')}, but this "
                f"version of skgmvae reads version {_SAVE_VERSION}; refit the model or use the skgmvae "
                "version that wrote it."
            )
        params = {**payload["params"], "hidden_sizes": tuple(payload["params"]["hidden_sizes"]), "device": device}
        model = cls(**params)
        model.module_ = GMVAE(payload["n_features_in"], model.k, model.latent_dim, model.hidden_sizes)
        model.module_.load_state_dict(payload["state_dict"])
        model.n_features_in_ = payload["n_features_in"]
        if payload["feature_names_in"]:
            model.feature_names_in_ = np.asarray(payload["feature_names_in"], dtype=object)
        model.history_ = payload["history"]
        model.pretrain_history_ = payload["pretrain_history"]
        model.n_epochs_ = len(model.history_)
        model.component_usage_ = payload["component_usage"].numpy()
        model.n_components_used_ = _effective_components(model.component_usage_)
        model.augment_ = payload["augment"]
        model.interrupted_ = False
        model.device_ = _resolve_device(device)
        model.module_.to(model.device_)
        return model

    @property
    def _n_features_out(self):
        return self.k

    def __getstate__(self):
        state = super().__getstate__()
        if "module_" in state:
            # Stored on the CPU so that a model fitted on a GPU unpickles anywhere.
            state["module_"] = copy.deepcopy(self.module_).to("cpu")
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.non_deterministic = False
        return tags
