"""GMVAETransformer: a Gaussian-mixture VAE as an unsupervised scikit-learn transformer.

The class holds the whole estimator, in the order of its life: parameters and
checks, the fitting steps (methods a subclass can override, as in
scikit-learn's ``BaseMixture``), the fitted state, inference, and saving and
loading. What it assembles lives elsewhere, each a part with its own inputs:
the torch modules, losses and one training epoch in :mod:`skgmvae.nn`, the
helpers of fit that need no estimator in :mod:`skgmvae._fitting`, the file
format in :mod:`skgmvae._persistence`, reading rows and writing files in
:mod:`skgmvae._io`, the device and threads in :mod:`skgmvae._runtime`.
"""

import contextlib
import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._fitting import (
    AUTO_AUGMENT_MIN_SIDE,
    MAX_INIT_SAMPLES,
    auto_epochs,
    effective_components,
    fit_code_mixture,
    random_rows,
    resolve_architecture,
    square_image_shape,
    training_rows,
    warn_if_collapsed,
)
from ._io import read_rows
from ._persistence import FORMAT, VERSION, read_payload, write_payload
from ._runtime import adam, resolve_device, resolve_precision, torch_threads
from ._validation import validate_images
from .callbacks import ComponentRevival, CosineSchedule, ProgressBar, StopTraining, ThreadBudget
from .exceptions import TrainingInterrupted
from .nn.augment import RandomAffine
from .nn.inference import batched_apply, component_usage, to_float_tensor
from .nn.losses import autoencoder_loss, elbo_terms, gmvae_loss
from .nn.modules import NetworkSpec, conv_image_side
from .nn.training import run_epoch

# Images on which component usage is measured after each epoch.
_USAGE_SAMPLE = 4096
# Standard-normal draws of the reconstruction term in score_samples.
_ELBO_DRAWS = 4


def responsibilities(log_resp):
    """q(c|x) from float64 log q(c|x), rows renormalised to sum to 1 exactly."""
    resp = np.exp(log_resp)
    return resp / resp.sum(axis=1, keepdims=True)


class GMVAETransformer(TransformerMixin, BaseEstimator):
    """Gaussian-mixture variational autoencoder that maps images to q(c|x) (or to latent codes).

    Fitting is unsupervised: ``y`` is accepted and ignored, so the transformer
    can sit first in a :class:`~sklearn.pipeline.Pipeline` before a
    :class:`ClusterLabelDecoder`.

    The generative model is the GMVAE's: a uniform categorical c over ``k``
    components, a Gaussian p(z|c) with learned mean and diagonal variance, and
    a Bernoulli likelihood p(x|z) whose logits come from the decoder (dense,
    or convolutional for square images, see ``architecture``).

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
        more than a dense one, so with 'conv' the 'auto' training lengths are
        shorter (see ``max_epochs``).
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
    precision : {'float32', 'bfloat16', 'auto'}, default='float32'
        Compute type of the convolutions and matrix products during
        training (torch autocast); the mixture's log-densities, the losses
        and inference stay in full precision. 'auto' is 'bfloat16' where the
        device computes it natively (a CPU with AVX-512 BF16 or AMX, a
        recent GPU) and 'float32' elsewhere; 'bfloat16' on a CPU without it
        is emulated, and slow.
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
        ``max_epochs`` more epochs instead of starting again. The network
        must keep its shape: a change of ``k``, ``latent_dim``,
        ``hidden_sizes`` or ``architecture`` raises a ValueError (set
        ``warm_start=False`` to start afresh), as does data with another
        number of features. Training goes on with ``optimizer_`` (Adam's
        moments carry over); with the cosine schedule each call decays from
        the rate the last one ended at (``learning_rate_``) to 0, so the rate
        never climbs back to ``learning_rate``: to train longer at a useful
        rate, fit once with more ``max_epochs`` or continue with
        ``learning_rate_schedule='constant'``.
    callbacks : list of Callback or None, default=None
        Objects with the methods of :class:`skgmvae.callbacks.Callback`,
        called around every stage, step and epoch of training, after the
        built-in ones: what they add to an epoch's record is kept in the
        history, and raising :class:`skgmvae.callbacks.StopTraining` ends the
        stage (the hooks of an early-stopping rule or a checkpoint). They are
        not stored by :meth:`save`.

    Attributes
    ----------
    spec_ : skgmvae.nn.NetworkSpec
        The fitted record: what defines the network (number of features,
        ``k``, latent size, hidden sizes, resolved architecture).
        ``transform``, ``sample``, feature names, warm starts and saved files
        read it, never the current parameters, so ``set_params`` after fit
        changes nothing until the next fit.
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
    precision_ : {'float32', 'bfloat16'}
        Compute type the last fit trained with (``precision`` with 'auto'
        resolved).
    architecture_ : {'mlp', 'conv'}
        The encoder and decoder used (``architecture`` with 'auto' resolved).
    optimizer_ : torch.optim.Adam
        The optimizer of GMVAE training, with its moments; a warm start goes
        on with it. Saved and pickled with the model.
    learning_rate_ : float
        The learning rate at the end of the last fit.
    interrupted_ : bool
        Whether the last fit was stopped by KeyboardInterrupt (Ctrl-C). The
        weights are then those of the last completed epoch (an interrupt
        during pretraining fits the mixture on that epoch's codes and skips
        GMVAE training), a :class:`TrainingInterrupted` warning says where, and
        the interrupt is raised again so that an enclosing search stops.

    Notes
    -----
    :meth:`fit` runs its steps as methods that a subclass can override, in
    the order of the algorithm: ``_initialize_module`` (build the network
    from ``spec_``), ``_pretrain`` (autoencoder), ``_initialize_prior``
    (mixture fitted on the codes), ``_train`` (GMVAE epochs, each one
    ``_train_epoch``, whose mini-batches each go through the public
    :meth:`train_step`, then the callbacks: component revival, the thread
    budget, the schedule, the user's, the progress bar;
    :mod:`skgmvae.callbacks`).

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
        "precision": [StrOptions({"float32", "bfloat16", "auto"})],
        "output": [StrOptions({"posterior", "latent", "both"})],
        "device": [str, torch.device],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
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
        precision="float32",
        output="posterior",
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=False,
        warm_start=False,
        callbacks=None,
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
        self.precision = precision
        self.output = output
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    # ------------------------------------------------------------------ checks
    def _validate_X(self, X, reset):
        return validate_images(self, X, reset=reset)

    def _network_spec(self, X):
        """The fitted record the parameters give for ``X``, checked against it; 'auto' is resolved here only."""
        n_samples, n_features = X.shape
        if self.k > n_samples:
            raise ValueError(
                f"k={self.k} components cannot be fitted on {n_samples} samples: expected "
                f"k <= n_samples. Lower k or give more data."
            )
        if any(not isinstance(width, Integral) or width < 1 for width in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must hold positive ints, got {self.hidden_sizes!r}.")
        if self.architecture == "conv" and conv_image_side(n_features) is None:
            raise ValueError(
                f"architecture='conv' needs square images whose side is a multiple of 4 (e.g. 28x28), but "
                f"n_features={n_features} is not one. Use architecture='mlp'."
            )
        if self.augment in (True, "mirror") and square_image_shape(n_features) is None:
            raise ValueError(
                f"augment={self.augment!r} distorts square images, but n_features={n_features} is not a "
                "square number. Set augment=False for non-image data."
            )
        return NetworkSpec(n_features, self.k, self.latent_dim, tuple(int(w) for w in self.hidden_sizes),
                           resolve_architecture(self.architecture, n_features))

    def _check_warm_start(self, spec):
        """Refuse to continue a fitted network whose shape the current parameters would change."""
        changed = self.spec_.differences(spec)
        if changed:
            said = ", ".join(f"{self._PARAM_OF_FIELD.get(name, name)}={new!r} (fitted: {old!r})"
                             for name, (old, new) in changed.items())
            raise ValueError(
                f"warm_start=True continues the fitted network, but the parameters now give another shape: "
                f"{said}. Set them back, or set warm_start=False to start afresh."
            )

    _PARAM_OF_FIELD = {"n_components": "k"}

    # --------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the GMVAE on ``X`` without labels.

        The steps run in this order, each a method a subclass can override:
        :meth:`_initialize_module`, :meth:`_pretrain`,
        :meth:`_initialize_prior`, then :meth:`_train`, which runs
        :meth:`_train_epoch` (a :meth:`train_step` per mini-batch) and the
        callbacks once per epoch. With
        ``warm_start`` and a fitted model, only :meth:`_train` runs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images flattened to rows: floats in [0, 1] or uint8 in 0-255.
        y : Ignored
            Accepted for Pipeline compatibility.

        Returns
        -------
        self : GMVAETransformer

        Raises
        ------
        KeyboardInterrupt
            When training is interrupted (Ctrl-C). The estimator is then
            fitted with the weights of the last completed epoch
            (``interrupted_`` is True) and the interrupt goes on, so that an
            enclosing search or script stops too.
        """
        before = self._snapshot()
        try:
            interrupt = self._fit(X)
        except BaseException:
            # Nothing half-fitted stays behind: the estimator is as it was before this call.
            self._restore(before)
            raise
        if interrupt is not None:
            raise interrupt
        return self

    def _fit(self, X):
        """The body of :meth:`fit`; returns the KeyboardInterrupt to raise again once the state is set, or None."""
        continuing = self.warm_start and hasattr(self, "module_")
        X = self._validate_X(X, reset=not continuing)
        spec = self._network_spec(X)
        if continuing:
            self._check_warm_start(spec)
        device = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        image_shape = square_image_shape(spec.n_features)
        augment = self.augment in (True, "mirror") or (
            self.augment == "auto" and image_shape is not None and image_shape[0] >= AUTO_AUGMENT_MIN_SIDE
        )
        augmenter = RandomAffine(image_shape, mirror=self.augment == "mirror") if augment else None
        rows = training_rows(X, device)
        precision = resolve_precision(self.precision, device)
        devices = [] if device.type == "cpu" else [device]
        stage, interrupt = None, None
        with torch_threads(self.n_jobs, adaptive=True) as threads, torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            generator = torch.Generator(device=device).manual_seed(seed)
            if not continuing:
                # The steps read the record and the module under training; the rest is set once, at the end.
                self.spec_, self.module_ = spec, self._initialize_module(spec, device)
                self.pretrain_history_, self.history_ = [], []
                self.optimizer_ = None
            try:
                if not continuing:
                    stage = "pretraining"
                    self._pretrain(rows, generator, augmenter, threads, precision)
                    stage = None
                    self._initialize_prior(rows, seed)
                stage = "GMVAE training"
                self._train(rows, generator, augmenter, seed, threads, precision)
                stage = None
            except KeyboardInterrupt as error:
                if stage is None:
                    raise
                interrupt = error
                if stage == "pretraining":
                    self._initialize_prior(rows, seed)
            module, inference_device, dtype = self._inference_module(device)
            usage = component_usage(module, X, inference_device, dtype).double().cpu().numpy()
        self._set_fitted_state(
            spec_=spec, module_=self.module_, device_=device, n_features_in_=spec.n_features,
            history_=self.history_, pretrain_history_=self.pretrain_history_, component_usage_=usage,
            augment_=augment, interrupted_=interrupt is not None, n_threads_=threads.threads,
            precision_=precision, optimizer_=self.optimizer_,
            learning_rate_=getattr(self, "learning_rate_", self.learning_rate),
        )
        warn_if_collapsed(self.component_usage_, self.n_components_used_)
        if interrupt is not None:
            epochs = len(self.pretrain_history_ if stage == "pretraining" else self.history_)
            warnings.warn(f"Training interrupted during {stage} after {epochs} completed epochs; the "
                          "estimator keeps the model of the last completed epoch (interrupted_ is True).",
                          TrainingInterrupted, stacklevel=3)
        return interrupt

    def _snapshot(self):
        """The fitted attributes as they are, with copies of what a warm start changes in place."""
        state = {name: value for name, value in vars(self).items() if name.endswith("_") and not name.startswith("_")}
        if "module_" in state:
            state["module_state"] = copy.deepcopy(self.module_.state_dict())
            state["history_"], state["pretrain_history_"] = list(self.history_), list(self.pretrain_history_)
        if state.get("optimizer_") is not None:
            state["optimizer_state"] = copy.deepcopy(self.optimizer_.state_dict())
        return state

    def _restore(self, state):
        """Put back what :meth:`_snapshot` took."""
        state = dict(state)
        module_state = state.pop("module_state", None)
        optimizer_state = state.pop("optimizer_state", None)
        for name in [name for name in vars(self) if name.endswith("_") and not name.startswith("_")]:
            delattr(self, name)
        for name, value in state.items():
            setattr(self, name, value)
        if module_state is not None:
            self.module_.load_state_dict(module_state)
        if optimizer_state is not None:
            self.optimizer_.load_state_dict(optimizer_state)

    def _initialize_module(self, spec, device):
        """A new module of the shape ``spec`` records, on ``device``."""
        return spec.build().to(device)

    def _autocast(self, precision):
        """The autocast region of a training loss: bfloat16 layers for 'bfloat16', nothing for 'float32'."""
        if precision != "bfloat16":
            return contextlib.nullcontext()
        return torch.autocast(self.module_.prior.means.device.type, dtype=torch.bfloat16)

    def _pretrain(self, rows, generator, augmenter, threads, precision):
        """Train the encoder and decoder as a deterministic autoencoder (the prior is left alone)."""
        epochs = auto_epochs(self.pretrain_epochs, "pretrain_epochs", len(rows), self.batch_size,
                             self.spec_.architecture)
        parameters = [*self.module_.encoder.parameters(), *self.module_.decoder.parameters()]
        optimizer = adam(parameters, self.learning_rate)

        def loss_fn(module, x, gen):
            with self._autocast(precision):
                return autoencoder_loss(module, x, gen, augmenter, self.contrastive_weight)

        callbacks = [ThreadBudget(threads), *(self.callbacks or []), ProgressBar(disable=not self.verbose)]
        self._run_epochs("pretraining", loss_fn, optimizer, rows, epochs, generator, self.pretrain_history_, callbacks)

    def _initialize_prior(self, rows, seed):
        """Set the mixture to a diagonal GaussianMixture fitted on the codes of up to 20,000 random rows."""
        rng = np.random.RandomState(seed)
        sample = random_rows(rows, MAX_INIT_SAMPLES, rng)
        self.module_.eval()
        device = self.module_.prior.means.device
        codes = batched_apply(lambda batch: self.module_.encoder(batch)[0], sample, device)
        means, variances = fit_code_mixture(codes.double().cpu().numpy(), self.spec_.n_components, rng)
        self.module_.prior.set_components(means, variances)

    def _train(self, rows, generator, augmenter, seed, threads, precision):
        """GMVAE training for ``max_epochs`` epochs, appended to ``history_``.

        A warm start goes on with ``optimizer_`` (its moments) and, with the
        cosine schedule, from the rate the last call ended at.
        """
        max_epochs = auto_epochs(self.max_epochs, "max_epochs", len(rows), self.batch_size, self.spec_.architecture)
        continuing = getattr(self, "optimizer_", None) is not None
        optimizer = self.optimizer_ if continuing else adam(self.module_.parameters(), self.learning_rate)
        cosine = self.learning_rate_schedule == "cosine"
        start_rate = self.learning_rate_ if continuing and cosine else self.learning_rate
        for group in optimizer.param_groups:
            group["lr"] = start_rate

        def loss_fn(module, x, gen):
            with self._autocast(precision):
                return gmvae_loss(module, x, gen, augmenter, self.consistency_weight, self.balance_weight,
                                  self.contrastive_weight)

        # A generator of its own, so that measuring usage leaves the training draws unchanged.
        device = self.module_.prior.means.device
        usage_generator = torch.Generator(device=device).manual_seed(seed + 1)
        usage_rows = torch.randperm(len(rows), generator=usage_generator, device=device)[:_USAGE_SAMPLE]
        usage_index = usage_rows if isinstance(rows, torch.Tensor) else np.sort(usage_rows.cpu().numpy())
        usage_sample = to_float_tensor(read_rows(rows, usage_index), device)
        callbacks = [ComponentRevival(usage_sample, self.min_component_usage, usage_generator, max_epochs),
                     ThreadBudget(threads)]
        if cosine:
            callbacks.append(CosineSchedule(max_epochs * math.ceil(len(rows) / self.batch_size)))
        callbacks += [*(self.callbacks or []), ProgressBar(disable=not self.verbose)]
        self.optimizer_ = optimizer
        try:
            self._run_epochs("GMVAE", loss_fn, optimizer, rows, max_epochs, generator, self.history_, callbacks)
        finally:
            self.learning_rate_ = optimizer.param_groups[0]["lr"]

    def _run_epochs(self, stage, loss_fn, optimizer, rows, n_epochs, generator, history, callbacks):
        """``n_epochs`` of :meth:`_train_epoch`, one ``history`` entry each, the ``callbacks`` around them.

        On Ctrl-C the module goes back to the last completed epoch; a
        :class:`~skgmvae.callbacks.StopTraining` from a callback ends the stage
        after its epoch.
        """
        def on_batch_end():
            for callback in callbacks:
                callback.on_batch_end(self, stage, optimizer)

        last_good_state = copy.deepcopy(self.module_.state_dict())
        for callback in callbacks:
            callback.on_train_begin(self, stage, n_epochs, optimizer)
        try:
            for _ in range(n_epochs):
                record = {"epoch": len(history) + 1,
                          **self._train_epoch(loss_fn, optimizer, rows, generator, len(history), on_batch_end)}
                stop = None
                for callback in callbacks:
                    try:
                        callback.on_epoch_end(self, stage, record)
                    except StopTraining as reason:
                        stop = record["stopped"] = str(reason)
                record["learning_rate"] = optimizer.param_groups[0]["lr"]
                history.append(record)
                last_good_state = copy.deepcopy(self.module_.state_dict())
                if stop is not None:
                    break
        except KeyboardInterrupt:
            self.module_.load_state_dict(last_good_state)
            raise
        finally:
            for callback in callbacks:
                callback.on_train_end(self, stage)

    def _train_epoch(self, loss_fn, optimizer, rows, generator, epoch, on_batch_end=None):
        """One pass over the rows in shuffled mini-batches, a :meth:`train_step` each, then ``on_batch_end()``;
        returns each loss term averaged over the epoch."""
        return run_epoch(loss_fn, self.module_, rows, lambda loss: self.train_step(loss, optimizer), self.batch_size,
                         generator, epoch, on_batch_end)

    def train_step(self, loss, optimizer):
        """One optimizer step from the loss of a mini-batch: zero the gradients, backpropagate, step.

        Override it to change the step, for example to clip the gradients
        between ``loss.backward()`` and ``optimizer.step()``.

        Parameters
        ----------
        loss : torch.Tensor
            The mini-batch's loss, a scalar with its graph.
        optimizer : torch.optim.Optimizer
            The optimizer of the stage (``optimizer_`` in GMVAE training).
        """
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # ----------------------------------------------------------- fitted state
    # What fit and load both set, through _set_fitted_state; derived attributes follow from these.
    _FITTED_STATE = ("spec_", "module_", "device_", "n_features_in_", "history_", "pretrain_history_",
                     "component_usage_", "augment_", "interrupted_", "n_threads_", "precision_", "optimizer_",
                     "learning_rate_")

    def _set_fitted_state(self, **state):
        missing, unknown = set(self._FITTED_STATE) - set(state), set(state) - set(self._FITTED_STATE)
        if missing or unknown:
            raise TypeError(f"_set_fitted_state needs exactly {self._FITTED_STATE}; missing {sorted(missing)}, "
                            f"unknown {sorted(unknown)}.")
        for name, value in state.items():
            setattr(self, name, value)
        self.module_ = self.module_.to(self.device_)
        if not isinstance(self.optimizer_, torch.optim.Optimizer):
            # A loaded or unpickled model: the optimizer over its module, with the saved moments where there are.
            optimizer_state, self.optimizer_ = self.optimizer_, adam(self.module_.parameters(), self.learning_rate_)
            if optimizer_state is not None:
                self.optimizer_.load_state_dict(optimizer_state)
        self.n_epochs_ = len(self.history_)
        self.n_components_used_ = effective_components(self.component_usage_)

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
    def _inference_module(self, device=None):
        """The module to run inference with, its device and its floating type.

        On the CPU, a float64 copy: each row's output then no longer depends
        on the rows it shares a batch with (float32 rounding, amplified by
        the log-densities, would move q(c|x) measurably). On a GPU, the float32
        module itself. A CUDA model unpickled where there is no GPU runs on
        the CPU.
        """
        device = device if device is not None else self.device_
        if device.type == "cuda" and not torch.cuda.is_available():
            device = torch.device("cpu")
        if device.type == "cpu":
            return copy.deepcopy(self.module_).to(device).double().eval(), device, torch.float64
        return self.module_.to(device).eval(), device, torch.float32

    def _map_batches(self, X, fn):
        """``fn(module, batch)`` over batches of validated ``X``, as a float64 ndarray."""
        module, device, dtype = self._inference_module()
        with torch_threads(self.n_jobs):
            return batched_apply(lambda batch: fn(module, batch), X, device, dtype=dtype).double().cpu().numpy()

    def _encode(self, X):
        """[log q(c|x) | mean of q(z|x)] of validated ``X``, shape (n_samples, k + latent_dim)."""

        def log_resp_and_mean(module, batch):
            mean, _, log_resp = module(batch)
            return torch.cat([log_resp, mean], dim=1)

        return self._map_batches(X, log_resp_and_mean)

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
        k = self.spec_.n_components
        resp = responsibilities(encoded[:, :k])
        return {"posterior": resp, "latent": encoded[:, k:], "both": np.hstack([resp, encoded[:, k:]])}[self.output]

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
        return responsibilities(self._encode(self._validate_X(X, reset=False))[:, :self.spec_.n_components])

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
        names = {"posterior": [f"{prefix}_c{i}" for i in range(self.spec_.n_components)],
                 "latent": [f"{prefix}_z{i}" for i in range(self.spec_.latent_dim)]}
        chosen = names["posterior"] + names["latent"] if self.output == "both" else names[self.output]
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
        return self._map_batches(X, lambda module, batch: module.component_terms(*module.encoder(batch))[0])

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

        return self._map_batches(X, mean_elbo)

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
        k = self.spec_.n_components
        rng = check_random_state(random_state)
        if component is None:
            components = rng.randint(k, size=n_samples)
        elif isinstance(component, Integral) and 0 <= component < k:
            components = np.full(n_samples, component)
        else:
            raise ValueError(f"component must be an int in [0, {k - 1}], got {component!r}.")
        module, device, _ = self._inference_module()
        generator = torch.Generator(device=device).manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        with torch.no_grad():
            z = module.prior.sample(torch.as_tensor(components, device=device), generator)
            images = torch.sigmoid(module.decoder(z)).double().cpu().numpy()
        return images, components

    # ------------------------------------------------------------- persistence
    def save(self, path, *, metadata=None):
        """Write the parameters, the fitted record and the trained weights in a format that loads safely.

        The file holds only tensors, numbers, strings and lists, so :meth:`load`
        reads it with ``torch.load(weights_only=True)``: no code runs on load.
        A path is written atomically: a crash during the write leaves the
        previous file, never half of one.

        Parameters
        ----------
        path : str, path-like or binary file object
        metadata : dict, optional
            Strings and numbers kept with the model (e.g. how the images
            were read), returned by ``skgmvae.read_model_metadata(path)``.
        """
        check_is_fitted(self)
        params = self.get_params()
        if not isinstance(params["random_state"], (Integral, type(None))):
            params["random_state"] = None  # a RandomState instance cannot be stored safely
        params["device"] = str(params["device"])
        params["hidden_sizes"] = list(params["hidden_sizes"])
        params["callbacks"] = None  # objects of any class: not stored, so that loading runs no code
        stored_apart = ("spec_", "module_", "device_", "optimizer_")
        fitted = {name: getattr(self, name) for name in self._FITTED_STATE if name not in stored_apart}
        fitted["component_usage_"] = torch.as_tensor(self.component_usage_)
        fitted["feature_names_in_"] = [str(name) for name in getattr(self, "feature_names_in_", [])]
        write_payload({
            "format": FORMAT, "format_version": VERSION, "params": params, "spec": self.spec_.to_dict(),
            "state_dict": {name: tensor.cpu() for name, tensor in self.module_.state_dict().items()},
            "fitted": fitted, "metadata": dict(metadata or {}),
            "optimizer": _to_cpu(self.optimizer_.state_dict()),
        }, path)

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load a transformer written by :meth:`save`.

        The network is rebuilt from the saved record, not from the
        parameters, so a file always loads into the shape it was saved with.

        Parameters
        ----------
        path : str, path-like or binary file object
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
        payload = read_payload(path)
        model = cls(**{**payload["params"], "hidden_sizes": tuple(payload["params"]["hidden_sizes"]), "device": device})
        spec = NetworkSpec.from_dict(payload["spec"])
        module = spec.build()
        module.load_state_dict(payload["state_dict"])
        fitted = dict(payload["fitted"])
        feature_names = fitted.pop("feature_names_in_")
        if feature_names:
            model.feature_names_in_ = np.asarray(feature_names, dtype=object)
        fitted["component_usage_"] = fitted["component_usage_"].numpy().astype(np.float64)
        # Files written before the optimizer was kept: fresh moments, the rate of the last epoch.
        history = fitted["history_"]
        fitted.setdefault("learning_rate_", history[-1]["learning_rate"] if history else model.learning_rate)
        model._set_fitted_state(spec_=spec, module_=module, device_=resolve_device(device),
                                optimizer_=payload.get("optimizer"), **fitted)
        return model

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ gives the instance's own __dict__
        if "module_" in state:
            # Stored on the CPU so that a model fitted on a GPU unpickles anywhere.
            state["module_"] = copy.deepcopy(self.module_).to("cpu")
        if state.get("optimizer_") is not None:
            # Its state alone: the optimizer is rebuilt over the unpickled module's parameters.
            state["optimizer_"] = _to_cpu(self.optimizer_.state_dict())
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(getattr(self, "optimizer_", None), dict):
            optimizer_state, self.optimizer_ = self.optimizer_, adam(self.module_.parameters(), self.learning_rate_)
            self.optimizer_.load_state_dict(optimizer_state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.non_deterministic = False
        return tags


def _to_cpu(state):
    """A copy of a (nested) state dict with its tensors on the CPU."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().clone()
    if isinstance(state, dict):
        return {key: _to_cpu(value) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_to_cpu(value) for value in state)
    return state
