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
>>> class StopWhenNoComponentMoved(Callback):
...     def on_epoch_end(self, transformer, stage, record):
...         if stage == "GMVAE" and transformer.history_ and transformer.history_[-1]["components_moved"] == 0:
...             raise StopTraining("no component moved after the last epoch")
>>> X = np.random.RandomState(0).rand(200, 16)
>>> gmvae = GMVAETransformer(k=4, max_epochs=20, pretrain_epochs=1, callbacks=[StopWhenNoComponentMoved()],
...                          random_state=0).fit(X)
>>> gmvae.history_[-1]["stopped"]
'no component moved after the last epoch'
"""

import threadpoolctl
import torch
from tqdm.auto import tqdm

from ._fitting import effective_components
from ._runtime import ThreadBudget
from .nn.inference import batched_apply
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

    # The stage's state lives in private attributes deleted at its end, so that a fit leaves the callback as
    # it was given (scikit-learn's rule that fit does not change parameters).
    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        self._blas = threadpoolctl.ThreadpoolController().select(user_api="blas").limit(limits=None)
        self._budget = ThreadBudget(torch.get_num_threads())
        self._budget.start()

    def on_epoch_end(self, transformer, stage, record):
        record["threads"] = self._budget.adapt()

    def on_train_end(self, transformer, stage):
        # The next stage starts again from the fit's threads, measured afresh; BLAS as it was found.
        torch.set_num_threads(self._budget.threads)
        self._blas.restore_original_limits()
        del self._budget, self._blas


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


class StopWhenSettled(Callback):
    """Ends GMVAE training once the components of the training images have stopped changing.

    After each epoch it takes the most probable component of every image
    of a fixed sample of training images, and the share of them whose
    component differs from the last epoch's (``components_changed`` in the
    epoch's record). Once that share stays below ``tol`` for
    ``n_iter_no_change`` epochs in a row, what the decoders read has
    settled. With a constant learning rate the stage ends there; with the
    cosine schedule the rate first decays from where it is to 0 over
    ``n_iter_no_change`` more epochs, so that the stopped model ends at the
    end of a schedule as a full-length one does. The last record's
    ``stopped`` says why.

    Parameters
    ----------
    x_sample : Tensor of shape (n_samples, n_features)
        The images whose components are followed.
    tol : float
        A share of changed components under ``tol`` counts as settled (0
        never stops).
    n_iter_no_change : int
        Epochs in a row the share must stay below ``tol``.
    schedule : CosineSchedule or None
        The schedule to bring to 0 before the stop.
    """

    def __init__(self, x_sample, tol, n_iter_no_change, schedule=None):
        self.x_sample, self.tol, self.n_iter_no_change, self.schedule = x_sample, tol, n_iter_no_change, schedule

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        self.components_ = self._components(transformer)
        self.settled_epochs_, self.cooldown_left_, self.batches_, self.epochs_ = 0, None, 0, 0
        self.n_epochs_ = n_epochs

    def on_batch_end(self, transformer, stage, optimizer):
        self.batches_ += 1

    @torch.no_grad()
    def _components(self, transformer):
        module = transformer.module_
        was_training = module.training
        module.eval()
        try:
            return batched_apply(lambda batch: module(batch)[2].argmax(1), self.x_sample, self.x_sample.device)
        finally:
            module.train(was_training)

    def on_epoch_end(self, transformer, stage, record):
        self.epochs_ += 1
        components = self._components(transformer)
        changed = float((components != self.components_).double().mean())
        self.components_ = components
        record["components_changed"] = changed
        if self.cooldown_left_ is not None:
            self.cooldown_left_ -= 1
            if self.cooldown_left_ == 0:
                raise StopTraining(self._reason)
            return
        self.settled_epochs_ = self.settled_epochs_ + 1 if changed < self.tol else 0
        if self.settled_epochs_ < self.n_iter_no_change:
            return
        self._reason = (f"settled: under {self.tol:.2%} of {len(self.x_sample)} training images changed "
                        f"component in each of {self.n_iter_no_change} epochs")
        if self.schedule is None:
            raise StopTraining(self._reason)
        # The decay never runs past the stage's last epoch, where the full schedule reaches 0 anyway.
        cooldown = min(self.n_iter_no_change, self.n_epochs_ - self.epochs_)
        if cooldown == 0:
            return
        self._reason += f", then the learning rate decayed to 0 over {cooldown} more"
        self.schedule.finish_within(cooldown * self.batches_ // self.epochs_)
        self.cooldown_left_ = cooldown


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
        self.optimizer_ = optimizer
        self.finish_within(self.n_steps)

    def finish_within(self, n_steps):
        """Decay from the rate the optimizer has now to 0 over the next ``n_steps`` steps instead.

        Parameters
        ----------
        n_steps : int
            Optimizer steps left to the schedule.
        """
        for group in self.optimizer_.param_groups:
            group.pop("initial_lr", None)  # start from the rate the optimizer has now
        self.scheduler_ = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer_, T_max=max(1, n_steps))

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
