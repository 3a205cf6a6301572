"""GMVAETransformer: a Gaussian-mixture VAE as an unsupervised scikit-learn transformer.

This module holds the estimator's contract: its parameters and their checks,
``fit`` and the fitted state it sets. The rest is in one file per job: the
fitting steps in :mod:`skgmvae._training` (methods a subclass can override,
as in scikit-learn's ``BaseMixture``), inference in :mod:`skgmvae._inference`,
saving, loading and pickling in :mod:`skgmvae._persistence`. What they
assemble lives apart: the torch modules, losses and one training epoch in
:mod:`skgmvae.nn`, what runs around the epochs in :mod:`skgmvae.callbacks`,
the helpers of fit that need no estimator in :mod:`skgmvae._fitting`, reading
rows and writing files in :mod:`skgmvae._io`, the device and threads in
:mod:`skgmvae._runtime`.
"""

import warnings
from numbers import Integral, Real

import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Hidden, Interval, Options, StrOptions

from ._fitting import (
    AUTO_AUGMENT_MIN_SIDE,
    check_same_network,
    effective_components,
    network_spec,
    square_image_shape,
    training_rows,
    warn_if_collapsed,
)
from ._inference import Inference
from ._persistence import Persistence
from ._runtime import adam, draw_seed, resolve_device, resolve_precision, torch_threads
from ._training import FitSteps
from ._validation import validate_images
from .exceptions import TrainingInterrupted
from .nn.augment import RandomAffine


class GMVAETransformer(FitSteps, Inference, Persistence, TransformerMixin, BaseEstimator):
    """Gaussian-mixture variational autoencoder that maps images to q(c|x) (or to latent codes).

    Fitting is unsupervised: ``y`` is accepted and ignored, so the transformer
    can sit first in a :class:`~sklearn.pipeline.Pipeline` before a
    :class:`ClusterLabelDecoder`.

    The model (a Gaussian mixture prior over the latent codes, one decode per
    sample, the guards against component collapse) is described in the user
    guide, :ref:`one-decode`.

    Parameters
    ----------
    k : int, default=200
        Number of mixture components (clusters); more than the classes, so
        that a class spreads over several (user guide, "Choosing K").
    latent_dim : int, default=32
        Dimension of the latent code z.
    hidden_sizes : tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers; the decoder mirrors them.
        With ``architecture='conv'`` the flattened feature map takes the place
        of the first width.
    architecture : {'auto', 'mlp', 'conv'}, default='auto'
        Dense encoder and decoder, or two stride-2 convolutions around the
        dense layers (square images whose side is a multiple of 4). 'auto'
        picks 'conv' for such images at least 16 pixels wide.
    max_epochs : int or 'auto', default='auto'
        Epochs of GMVAE training after pretraining. 'auto' gives about
        24,000 optimizer steps with the dense architecture, within 10 to 100
        epochs, and about 13,000 with the convolutional one, within 5 to 100
        epochs (43 epochs for 19,358 images, 14 for 60,000).
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
        After each epoch but the last, a component whose share of the
        posterior mass (on up to 4,096 training images) is below
        ``min_component_usage / k`` is moved onto the code of a random
        training image, as k-means re-seeds empty clusters. 0 turns it off.
    precision : {'float32', 'bfloat16', 'auto'}, default='float32'
        Compute type of the layers during training (torch autocast); the
        mixture, the losses and inference stay in full precision. 'auto' is
        'bfloat16' where the device computes it natively (AVX-512 BF16 or
        AMX, a recent GPU), else 'float32'.
    output : {'posterior', 'latent', 'posterior_and_latent'}, default='posterior'
        What :meth:`transform` returns: q(c|x) (shape (n, k), the input of
        :class:`ClusterLabelDecoder`), the mean of q(z|x) (shape
        (n, latent_dim), features for any scikit-learn classifier), or both
        side by side (shape (n, k + latent_dim)). Only inference changes, so
        a cached Pipeline need not refit the GMVAE to switch.

        .. deprecated:: 0.1
           ``'both'``, the former name of ``'posterior_and_latent'``, will
           be removed in 0.3.
    device : {'auto', 'cpu', 'cuda'} or str, default='auto'
        Torch device; 'auto' picks CUDA when available, else the CPU. Any
        other name torch does not know raises a ValueError.
    n_jobs : int or None, default=None
        Torch intra-op threads of fit and inference, settled when the call
        starts (never from the machine's load). None takes the fewest of
        torch's setting, an enclosing ``threadpoolctl`` / joblib limit, the
        cores this process may run on, and 1 inside a Dask worker; -1 every
        core this process may run on. To give cores back to other processes
        during a fit, add :class:`skgmvae.callbacks.YieldCores` to
        ``callbacks`` (see :doc:`/scaling`).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, noise and the mixture
        initialisation. With an int, the same call on the same machine gives
        the same q(c|x) bit for bit, alone or beside other work, without
        touching the global random states. Another number of threads rounds
        differently: for the same search on one process as on Dask or Ray
        workers of one thread, set ``n_jobs=1``.
    verbose : bool, default=False
        Show a tqdm progress bar with the loss terms.
    warm_start : bool, default=False
        When fitted already, train the current model for ``max_epochs`` more
        epochs with ``optimizer_`` instead of starting again; the network
        must keep its shape. With the cosine schedule each call decays from
        the rate the last one ended at (user guide, "Extending and continuing
        training").
    callbacks : list of Callback or None, default=None
        Objects with the methods of :class:`skgmvae.callbacks.Callback`,
        called around every stage, step and epoch of training before the
        built-in ones; not stored by :meth:`save`.
    early_stopping : bool, default=False
        End GMVAE training once under ``tol`` of up to 4,096 training images
        change most probable component from one epoch to the next,
        ``n_iter_no_change`` epochs in a row (with the cosine schedule, after
        the rate has decayed to 0 over that many more epochs).
    tol : float in [0, 1], default=0.01
        With ``early_stopping``, the largest share of changed components
        that counts as settled.
    n_iter_no_change : int, default=5
        With ``early_stopping``, the epochs in a row the share must stay
        under ``tol``.

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
        (per-sample means), ``learning_rate`` (at the end of the epoch),
        ``components_used`` (as ``n_components_used_``, on up to 4,096
        training images), ``components_moved`` (see
        ``min_component_usage``), with ``early_stopping``
        ``components_changed`` and in the last entry ``stopped``; callbacks
        add their own entries.
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
        Torch intra-op threads the last fit started with (see ``n_jobs``).
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
        Whether the last fit was stopped by KeyboardInterrupt (Ctrl-C); the
        weights are those of the last completed epoch, a
        :class:`TrainingInterrupted` warning says where, and the interrupt
        is raised again.

    Notes
    -----
    :meth:`fit` runs its steps as methods a subclass can override (see
    :meth:`fit` and :mod:`skgmvae.callbacks`).

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
        "output": [StrOptions({"posterior", "latent", "posterior_and_latent"}), Hidden(StrOptions({"both"}))],
        "device": [str, torch.device],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "early_stopping": ["boolean"],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
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
        early_stopping=False,
        tol=0.01,
        n_iter_no_change=5,
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
        self.early_stopping = early_stopping
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------------ checks
    def _validate_X(self, X, reset):
        return validate_images(self, X, reset=reset)

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
        self._output(stacklevel=4)  # warns of a deprecated output before the fit, as well as at transform
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
        spec = network_spec(self, X)
        if continuing:
            check_same_network(self.spec_, spec)
        # Set first, so that a callback's transform during training runs where the module trains.
        self.device_ = device = resolve_device(self.device)
        if continuing:
            self.module_.to(device)
        seed = draw_seed(self.random_state)
        image_shape = square_image_shape(spec.n_features)
        augment = self.augment in (True, "mirror") or (
            self.augment == "auto" and image_shape is not None and image_shape[0] >= AUTO_AUGMENT_MIN_SIDE
        )
        augmenter = RandomAffine(image_shape, mirror=self.augment == "mirror") if augment else None
        rows = training_rows(X, device)
        precision = resolve_precision(self.precision, device)
        devices = [] if device.type == "cpu" else [device]
        stage, interrupt = None, None
        with torch_threads(self.n_jobs) as threads, torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            generator = torch.Generator(device=device).manual_seed(seed)
            if not continuing:
                # The steps read the record and the module under training; the rest is set once, at the end.
                self.spec_, self.module_ = spec, self._initialize_module(spec, device)
                self.pretrain_history_, self.history_ = [], []
                self.optimizer_, self.learning_rate_ = None, self.learning_rate
            try:
                if not continuing:
                    stage = "pretraining"
                    self._pretrain(rows, generator, augmenter, precision)
                    stage = None
                    self._initialize_prior(rows, seed)
                stage = "GMVAE training"
                self._train(rows, generator, augmenter, seed, precision)
                stage = None
            except KeyboardInterrupt as error:
                if stage is None:
                    raise
                interrupt = error
                if stage == "pretraining":
                    self._initialize_prior(rows, seed)
            usage = self._posterior_mass(X)
        self._set_fitted_state(
            spec_=spec, module_=self.module_, device_=device, n_features_in_=spec.n_features,
            history_=self.history_, pretrain_history_=self.pretrain_history_, component_usage_=usage,
            augment_=augment, interrupted_=interrupt is not None, n_threads_=threads,
            precision_=precision, optimizer_=self.optimizer_,
            learning_rate_=self.learning_rate_,
        )
        warn_if_collapsed(self.component_usage_, self.n_components_used_)
        if interrupt is not None:
            epochs = len(self.pretrain_history_ if stage == "pretraining" else self.history_)
            warnings.warn(f"Training interrupted during {stage} after {epochs} completed epochs; the "
                          "estimator keeps the model of the last completed epoch (interrupted_ is True).",
                          TrainingInterrupted, stacklevel=3)
        return interrupt

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.non_deterministic = False
        return tags
