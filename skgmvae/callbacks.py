"""Callbacks: what runs around the training loop of :class:`~skgmvae.GMVAETransformer`.

A callback is an object with any of the methods of :class:`Callback` (the
loop calls those it has); it calls them at the start of a stage
(``'pretraining'``, then ``'GMVAE'``), after each optimizer step, after each
epoch and at the end of the stage. The transformer builds its own from its
parameters (:class:`ComponentRevival`, :class:`CosineSchedule`,
:class:`ProgressBar`) and runs the ones given in its ``callbacks`` parameter
first (:class:`YieldCores` is one to add there), so that a stop they ask for is known before the
revival moves components (it then moves none), and what they add to an
epoch's record shows in the progress bar.

An early-stopping rule raises :class:`StopTraining` from
:meth:`Callback.on_epoch_end`: the epoch is kept, its record gets
``stopped`` with the reason, and the stage ends. A checkpoint saves
``transformer.module_.state_dict()`` (or ``transformer.save`` once fitted)
from the same method.

Examples
--------
>>> import numpy as np
>>> from skgmvae import GMVAETransformer
>>> from skgmvae.callbacks import Callback, StopTraining
>>> class StopWhenSettled(Callback):
...     def on_epoch_end(self, transformer, stage, record):
...         if stage == "GMVAE" and transformer.history_ and transformer.history_[-1]["components_moved"] == 0:
...             raise StopTraining("no component moved after the last epoch")
>>> X = np.random.RandomState(0).rand(200, 16)
>>> gmvae = GMVAETransformer(k=4, max_epochs=20, pretrain_epochs=1, callbacks=[StopWhenSettled()],
...                          random_state=0).fit(X)
>>> gmvae.history_[-1]["stopped"]
'no component moved after the last epoch'
"""

import threadpoolctl
import torch
from tqdm.auto import tqdm

from ._fitting import effective_components
from ._runtime import ThreadBudget
from .nn.revival import revive_components


class StopTraining(Exception):
    """Raised by a callback's ``on_epoch_end`` to end the stage after this epoch; its message is the reason."""


class Callback:
    """The methods the training loop calls; each does nothing unless overridden.

    Every method gets the transformer under training (its ``module_`` is
    the torch module being trained) and ``stage``, ``'pretraining'`` or
    ``'GMVAE'``.
    """

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        """Before the first epoch of a stage.

        Parameters
        ----------
        transformer : GMVAETransformer
            The transformer under training; ``transformer.module_`` is the torch module.
        stage : {'pretraining', 'GMVAE'}
        n_epochs : int
            Epochs the stage will run unless stopped.
        optimizer : torch.optim.Optimizer
            The stage's optimizer (``transformer.optimizer_`` in GMVAE training).
        """

    def on_batch_end(self, transformer, stage, optimizer):
        """After each optimizer step.

        Parameters
        ----------
        transformer : GMVAETransformer
        stage : {'pretraining', 'GMVAE'}
        optimizer : torch.optim.Optimizer
        """

    def on_epoch_end(self, transformer, stage, record):
        """After each epoch; raise :class:`StopTraining` to end the stage after it.

        Parameters
        ----------
        transformer : GMVAETransformer
            Its ``history_`` (GMVAE) or ``pretrain_history_`` holds the epochs before this one.
        stage : {'pretraining', 'GMVAE'}
        record : dict
            The epoch's number, loss terms and learning rate, and what the
            callbacks before this one added; entries added here are kept in
            the history.
        """

    def on_train_end(self, transformer, stage):
        """After the last epoch of a stage, also when it was stopped or interrupted.

        Parameters
        ----------
        transformer : GMVAETransformer
        stage : {'pretraining', 'GMVAE'}
        """


class YieldCores(Callback):
    """Gives cores back to other processes during a fit: after each epoch, torch runs on the cores they left free.

    By default a fit keeps the threads it started with (see
    ``GMVAETransformer.n_jobs``), so that the same call gives the same
    q(c|x) whatever else the machine runs. On a machine shared with other
    busy processes that costs time: torch's threads spin while they wait for
    each other, so one whose core is taken stalls the rest. With this
    callback, each stage measures the other processes' load for a moment
    before its first epoch and again over each epoch, and sets torch's (and
    NumPy's BLAS) threads to the cores left, between 1 and the fit's start.
    The result then depends on the load: sums taken by another number of
    threads round differently.

    Each epoch's record gets ``threads``, the number for the next epoch.

    Examples
    --------
    >>> from skgmvae import GMVAETransformer
    >>> from skgmvae.callbacks import YieldCores
    >>> gmvae = GMVAETransformer(callbacks=[YieldCores()])
    """

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        self.budget_ = ThreadBudget(torch.get_num_threads())
        self.budget_.start()

    def on_epoch_end(self, transformer, stage, record):
        record["threads"] = self.budget_.adapt()

    def on_train_end(self, transformer, stage):
        # The next stage starts again from the fit's threads, measured afresh.
        torch.set_num_threads(self.budget_.threads)
        threadpoolctl.threadpool_limits(limits=self.budget_.threads, user_api="blas")


class ComponentRevival(Callback):
    """Moves the components that hold almost no mass onto codes of random images, after each GMVAE epoch but the
    last (and but one a callback stopped), and records ``components_used`` and ``components_moved``.

    Parameters
    ----------
    x_sample : Tensor of shape (n_samples, n_features)
        Images the usage is measured on.
    min_usage : float
        ``min_component_usage`` of the transformer.
    generator : torch.Generator
        The draws of the revival, apart from the training draws.
    n_epochs : int
        Epochs of the stage: no component is moved after the last.
    """

    def __init__(self, x_sample, min_usage, generator, n_epochs):
        self.x_sample, self.min_usage, self.generator, self.n_epochs = x_sample, min_usage, generator, n_epochs
        self._epoch = 0

    def on_epoch_end(self, transformer, stage, record):
        self._epoch += 1
        last = self._epoch == self.n_epochs or "stopped" in record
        min_usage = 0.0 if last else self.min_usage
        usage, n_moved = revive_components(transformer.module_, self.x_sample, min_usage, self.generator)
        record["components_used"] = effective_components(usage.double().cpu().numpy())
        record["components_moved"] = n_moved


class CosineSchedule(Callback):
    """Lowers the learning rate along a half cosine, from the optimizer's rate at the start to 0 after ``n_steps``.

    Parameters
    ----------
    n_steps : int
        Optimizer steps of the stage.
    """

    def __init__(self, n_steps):
        self.n_steps = n_steps

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        for group in optimizer.param_groups:
            group.pop("initial_lr", None)  # start from the rate the optimizer has now
        self.scheduler_ = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, self.n_steps))

    def on_batch_end(self, transformer, stage, optimizer):
        self.scheduler_.step()


class ProgressBar(Callback):
    """A tqdm bar per stage, the epoch's record as its postfix.

    Parameters
    ----------
    disable : bool
        No bar (``verbose=False``).
    """

    def __init__(self, disable):
        self.disable = disable

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        self.bar_ = tqdm(total=n_epochs, desc=stage, disable=self.disable, leave=False, unit="epoch")

    def on_epoch_end(self, transformer, stage, record):
        self.bar_.update(1)
        self.bar_.set_postfix({name: f"{value:.4g}" for name, value in record.items()
                               if name != "epoch" and isinstance(value, (int, float))})

    def on_train_end(self, transformer, stage):
        self.bar_.close()
