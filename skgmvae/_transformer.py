"""GMVAETransformer: a Gaussian-mixture VAE as an unsupervised scikit-learn transformer."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._fitting import (
    AUTO_AUGMENT_MIN_SIDE,
    effective_components,
    initialize,
    resolve_architecture,
    square_image_shape,
    train,
    training_rows,
    warn_if_collapsed,
)
from ._inference import GMVAEInferenceMixin, responsibilities
from ._persistence import GMVAEPersistenceMixin
from ._runtime import resolve_device, torch_threads
from ._validation import validate_images
from .nn.augment import RandomAffine
from .nn.modules import conv_image_side


class GMVAETransformer(GMVAEInferenceMixin, GMVAEPersistenceMixin, TransformerMixin, BaseEstimator):
    """Gaussian-mixture variational autoencoder that maps images to q(c|x) (or to latent codes).

    Fitting is unsupervised: ``y`` is accepted and ignored, so the transformer
    can sit first in a :class:`~sklearn.pipeline.Pipeline` before a
    :class:`ClusterLabelDecoder`.

    The generative model is the GMVAE's: a uniform categorical c over ``k``
    components, a Gaussian p(z|c) with learned mean and diagonal variance, and
    a Bernoulli likelihood p(x|z) whose logits come from an MLP decoder.

    Each sample is decoded **once** per step, not once per component: q(z|x)
    is one Gaussian and q(c|x) the closed-form optimum of the ELBO given it
    (derivation in :mod:`skgmvae.nn.losses`). Against component collapse,
    the mixture starts from a diagonal GaussianMixture fitted on the codes of
    a pretrained autoencoder (as in VaDE), and components left without mass
    are moved back onto the data during training (``min_component_usage``);
    a :class:`ComponentCollapseWarning` says when the mass still
    concentrates on fewer than ``k / 4`` components.

    Parameters
    ----------
    k : int, default=200
        Number of mixture components (clusters). More components than
        classes let each class spread over several clusters (styles of a
        letter); the soft decoder pools them. Choose it by labeled
        cross-validation (see the benchmark page).
    latent_dim : int, default=32
        Dimension of the latent code z.
    hidden_sizes : tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers; the decoder mirrors them.
        With ``architecture='conv'`` the flattened feature map takes the place
        of the first width.
    architecture : {'auto', 'mlp', 'conv'}, default='auto'
        Dense encoder and decoder, or two stride-2 convolutions (32 and 64
        channels) before the dense layers of the encoder and two transposed
        ones after those of the decoder (square images whose side is a
        multiple of 4, e.g. 28x28). 'auto' picks 'conv' for such images at
        least 16 pixels wide and 'mlp' otherwise. A convolutional step costs
        about 2.5 dense ones on the CPU, so with 'conv' the 'auto' training
        lengths are shorter (see ``max_epochs``).
    max_epochs : int or 'auto', default='auto'
        Epochs of GMVAE training after pretraining. 'auto' gives about
        24,000 optimizer steps with the dense architecture, within 10 to 100
        epochs (79 epochs for 19,358 images, 26 for 60,000, 100 for 1,797 with
        the default batch size), and about 13,000 with the convolutional one,
        within 5 to 100 epochs (43 epochs for 19,358 images, 14 for 60,000).
    pretrain_epochs : int or 'auto', default='auto'
        Epochs of autoencoder pretraining before the mixture initialisation.
        'auto' gives about 3,000 optimizer steps (dense), within 5 to 50
        epochs, or 1,500 (convolutional), within 2 to 50 epochs.
    batch_size : int, default=64
        Mini-batch size.
    learning_rate : float, default=1e-3
        Adam step size.
    learning_rate_schedule : {'constant', 'cosine'}, default='constant'
        GMVAE training keeps ``learning_rate``, or decays it to zero along a
        half cosine over ``max_epochs``; pretraining keeps it.
    augment : bool, 'auto' or 'mirror', default='auto'
        Train on randomly rotated, shifted and scaled copies of the images
        (the decoder still reconstructs the clean image), which makes q(c|x)
        invariant to those distortions. Needs square images. 'auto' turns it
        on for square images at least 16 pixels wide and off otherwise.
        'mirror' also mirrors half of the copies left to right: for images
        whose class survives a mirror (clothes, most photographs), never for
        letters or digits.
    consistency_weight : float, default=1.0
        With ``augment``, weight of the symmetric KL between q(c|x) of two
        distortions of the same image.
    balance_weight : float, default=1.0
        Weight of KL(mean of q(c|x) over a batch || p(c)), which keeps the
        posterior mass spread over the components (a guard against
        collapse). 0 turns it off.
    contrastive_weight : float, default=10.0
        With ``augment``, weight of NT-Xent (SimCLR, temperature 0.3) between
        the q(z|x) means of two distortions of each image; 0 turns it off.
    min_component_usage : float in [0, 1), default=0.25
        Guard against component collapse during training: after each epoch
        but the last, a component whose share of the posterior mass (on up
        to 4,096 training images) is below ``min_component_usage / k`` is
        moved onto the code of a random training image, with the median
        variance of the other components, as k-means re-seeds empty
        clusters. 0 turns it off.
    output : {'posterior', 'latent', 'both'}, default='posterior'
        What :meth:`transform` returns: q(c|x) (shape (n, k), the input of
        :class:`ClusterLabelDecoder`), the mean of q(z|x) (shape
        (n, latent_dim), features for any scikit-learn classifier), or both
        (shape (n, k + latent_dim)). Only inference changes, so a cached
        Pipeline need not refit the GMVAE to switch.
    device : {'auto', 'cpu', 'cuda'} or str, default='auto'
        Torch device; 'auto' picks CUDA when available, else the CPU. Any
        other name torch does not know raises a ValueError.
    n_jobs : int or None, default=None
        Torch intra-op threads used by fit and inference; the global torch
        setting is restored afterwards. None starts with the fewest of
        torch's current setting, an enclosing ``threadpoolctl`` / joblib
        limit, the cores this process may run on, and 1 inside a Dask
        worker (each worker thread runs its own task); after each epoch it
        lowers the threads to the cores that other processes left free
        during that epoch (and raises them again, up to the start, when the
        cores free up). An int (or -1, every core this process may run on)
        fixes the number.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise and the mixture
        initialisation. With an int, results on the CPU are reproducible for
        a fixed number of threads (an int ``n_jobs``: sums taken by another
        number of threads round differently and move the training path) and
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
        of the epoch), ``threads`` (torch threads for the next epoch),
        ``components_used`` (as ``n_components_used_``, on up to 4,096
        training images) and ``components_moved`` (see
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
    n_threads_ : int
        Torch intra-op threads the last fit started with (see ``n_jobs``);
        ``history_`` records the number after each epoch.
    augment_ : bool
        Whether training used distorted copies of the images (mirrored ones
        too when ``augment='mirror'``).
    architecture_ : {'mlp', 'conv'}
        The encoder and decoder used (``architecture`` with 'auto' resolved).
    interrupted_ : bool
        Whether the last fit was stopped by KeyboardInterrupt (a
        :class:`TrainingInterrupted` warning says where). The weights are
        those of the last completed epoch; an interrupt during pretraining
        skips GMVAE training and fits the mixture on that epoch's codes.

    Notes
    -----
    Input: floats in [0, 1], or ``uint8`` images read as ``value / 255``. A
    memmap (or an array over 2 GiB) is validated and read chunk by chunk.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgmvae import GMVAETransformer
    >>> X = load_digits().data / 16.0
    >>> gmvae = GMVAETransformer(k=10, max_epochs=2, pretrain_epochs=1, random_state=0)
    >>> gmvae.fit_transform(X).shape
    (1797, 10)
    >>> gmvae.set_params(output="latent").transform(X).shape
    (1797, 32)
    """

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_sizes": [tuple, list],
        "architecture": [StrOptions({"auto", "mlp", "conv"})],
        "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "augment": ["boolean", StrOptions({"auto", "mirror"})],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "balance_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "min_component_usage": [Interval(Real, 0, 1, closed="left")],
        "output": [StrOptions({"posterior", "latent", "both"})],
        "device": [str, torch.device],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
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
        architecture="auto",
        max_epochs="auto",
        pretrain_epochs="auto",
        batch_size=64,
        learning_rate=1e-3,
        learning_rate_schedule="constant",
        augment="auto",
        consistency_weight=1.0,
        balance_weight=1.0,
        contrastive_weight=10.0,
        min_component_usage=0.25,
        output="posterior",
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=False,
        warm_start=False,
    ):
        self.k = k
        self.latent_dim = latent_dim
        self.hidden_sizes = hidden_sizes
        self.architecture = architecture
        self.max_epochs = max_epochs
        self.pretrain_epochs = pretrain_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.augment = augment
        self.consistency_weight = consistency_weight
        self.balance_weight = balance_weight
        self.contrastive_weight = contrastive_weight
        self.min_component_usage = min_component_usage
        self.output = output
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ----------------------------------------------------------------- checks
    def _validate_X(self, X, reset):
        return validate_images(self, X, reset=reset)

    def _check_params(self, X):
        n_samples = X.shape[0]
        if self.k > n_samples:
            raise ValueError(
                f"k={self.k} components cannot be fitted on {n_samples} samples: expected "
                f"k <= n_samples. Lower k or give more data."
            )
        if any(not isinstance(width, Integral) or width < 1 for width in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must hold positive ints, got {self.hidden_sizes!r}.")
        if self.architecture == "conv" and conv_image_side(X.shape[1]) is None:
            raise ValueError(
                f"architecture='conv' needs square images whose side is a multiple of 4 (e.g. 28x28), but "
                f"n_features={X.shape[1]} is not one. Use architecture='mlp'."
            )
        if self.augment in (True, "mirror") and square_image_shape(X.shape[1]) is None:
            raise ValueError(
                f"augment={self.augment!r} distorts square images, but n_features={X.shape[1]} is not a "
                "square number. Set augment=False for non-image data."
            )
        if self.warm_start and hasattr(self, "module_") and self.module_.prior.n_components != self.k:
            raise ValueError(
                f"warm_start=True continues the fitted model with k={self.module_.prior.n_components}, "
                f"but k is now {self.k}. Set warm_start=False to start again."
            )

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the GMVAE on ``X`` without labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images flattened to rows: floats in [0, 1] or uint8 in 0-255.
        y : Ignored
            Accepted for Pipeline compatibility.

        Returns
        -------
        self : GMVAETransformer
        """
        continuing = self.warm_start and hasattr(self, "module_")
        X = self._validate_X(X, reset=not continuing)
        self._check_params(X)
        self.device_ = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        image_shape = square_image_shape(X.shape[1])
        self.augment_ = self.augment in (True, "mirror") or (
            self.augment == "auto" and image_shape is not None and image_shape[0] >= AUTO_AUGMENT_MIN_SIDE
        )
        augmenter = RandomAffine(image_shape, mirror=self.augment == "mirror") if self.augment_ else None
        self.architecture_ = resolve_architecture(self.architecture, X.shape[1])
        rows = training_rows(X, self.device_)
        with torch_threads(self.n_jobs, adaptive=True) as threads, torch.random.fork_rng(devices=self._rng_devices()):
            self.n_threads_ = threads.threads
            torch.manual_seed(seed)
            generator = torch.Generator(device=self.device_).manual_seed(seed)
            self.interrupted_ = False
            if not continuing:
                self.module_, self.pretrain_history_, self.interrupted_ = initialize(
                    self, rows, generator, augmenter, seed, self.device_, threads.adapt)
                self.history_ = []
            if not self.interrupted_:
                self.history_, self.interrupted_ = train(
                    self, self.module_, rows, generator, augmenter, seed, self.history_, threads.adapt)
            resp_sums = self._map_batches(X, lambda module, batch: module(batch)[2].exp().sum(0, keepdim=True))
        self.component_usage_ = resp_sums.sum(axis=0) / resp_sums.sum()
        self.n_components_used_ = effective_components(self.component_usage_)
        warn_if_collapsed(self.component_usage_, self.n_components_used_)
        self.n_epochs_ = len(self.history_)
        return self

    def _rng_devices(self):
        return [] if self.device_.type == "cpu" else [self.device_]

    # ------------------------------------------------------------- inference
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
            variance of q(z|x), not a sample.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if self.output == "posterior":
            return self._posterior(X)
        if self.output == "latent":
            return self._encode(X, lambda mean, log_var, log_resp: mean)
        both = self._encode(X, lambda mean, log_var, log_resp: torch.cat([log_resp, mean], dim=1))
        return np.hstack([responsibilities(both[:, :self.k]), both[:, self.k:]])

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
        names = {"posterior": [f"{prefix}_c{i}" for i in range(self.k)],
                 "latent": [f"{prefix}_z{i}" for i in range(self.latent_dim)]}
        chosen = names["posterior"] + names["latent"] if self.output == "both" else names[self.output]
        return np.asarray(chosen, dtype=object)

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
        check_is_fitted(self)
        return self._posterior(self._validate_X(X, reset=False)).argmax(axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.non_deterministic = False
        return tags
