"""The fitting steps of :class:`~skgmvae.GMVAETransformer`: pretraining, the initial mixture, GMVAE epochs.

Each step is a method a subclass can override, in the order of the
algorithm (as scikit-learn's ``BaseMixture`` lays out its own). One epoch of
mini-batches is :func:`skgmvae.nn.training.run_epoch`; each batch goes through
the public :meth:`~skgmvae.GMVAETransformer.train_step`, and what runs around
the epochs is :mod:`skgmvae.callbacks`.
"""

import contextlib
import copy
import math

import numpy as np
import torch

from ._fitting import MAX_INIT_SAMPLES, auto_epochs, fit_code_mixture, random_rows
from ._io import read_rows
from ._runtime import adam
from .callbacks import ComponentRevival, CosineSchedule, ProgressBar, StopTraining, StopWhenSettled
from .nn.inference import batched_apply, to_float_tensor
from .nn.losses import autoencoder_loss, gmvae_loss
from .nn.training import run_epoch

# Images on which component usage is measured after each epoch.
_USAGE_SAMPLE = 4096


class FitSteps:
    """The steps :meth:`GMVAETransformer.fit` runs, and the state a failed fit puts back."""

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

    def _pretrain(self, rows, generator, augmenter, precision):
        """Train the encoder and decoder as a deterministic autoencoder (the prior is left alone)."""
        epochs = auto_epochs(self.pretrain_epochs, "pretrain_epochs", len(rows), self.batch_size,
                             self.spec_.architecture)
        parameters = [*self.module_.encoder.parameters(), *self.module_.decoder.parameters()]
        optimizer = adam(parameters, self.learning_rate)

        def loss_fn(module, x, gen):
            with self._autocast(precision):
                return autoencoder_loss(module, x, gen, augmenter, self.contrastive_weight)

        callbacks = [*(self.callbacks or []), ProgressBar(disable=not self.verbose)]
        self._run_epochs("pretraining", loss_fn, optimizer, rows, epochs, generator, self.pretrain_history_, callbacks)

    def _initialize_prior(self, rows, seed):
        """Set the mixture to a diagonal GaussianMixture fitted on the codes of up to 20,000 random rows."""
        rng = np.random.RandomState(seed)
        sample = random_rows(rows, MAX_INIT_SAMPLES, rng)
        self.module_.eval()
        device = self.module_.prior.means.device
        codes = batched_apply(lambda batch: self.module_.encoder(batch)[0], sample, device)
        means, variances = fit_code_mixture(codes.double().cpu().numpy(), self.spec_.k, rng)
        self.module_.prior.set_components(means, variances)

    def _train(self, rows, generator, augmenter, seed, precision):
        """GMVAE training for ``max_epochs`` epochs, appended to ``history_``.

        A warm start goes on with ``optimizer_`` (its moments) and, with the
        cosine schedule, from the rate the last call ended at.
        """
        max_epochs = auto_epochs(self.max_epochs, "max_epochs", len(rows), self.batch_size, self.spec_.architecture)
        continuing = getattr(self, "optimizer_", None) is not None
        cosine = self.learning_rate_schedule == "cosine"
        if continuing and cosine and self.learning_rate_ <= 0:
            raise ValueError("warm_start=True continues the cosine schedule from the rate the last fit ended at, "
                             "and it ended at 0: this fit would take no step. Continue with "
                             "learning_rate_schedule='constant', or fit afresh with more max_epochs.")
        optimizer = self.optimizer_ if continuing else adam(self.module_.parameters(), self.learning_rate)
        if continuing:
            # Moves the moments to the device the parameters are on now (transform may have moved the module).
            optimizer.load_state_dict(optimizer.state_dict())
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
        # The user's callbacks first: a stop they ask for is known before revival, which then moves nothing.
        schedule = CosineSchedule(max_epochs * math.ceil(len(rows) / self.batch_size)) if cosine else None
        callbacks = list(self.callbacks or [])
        if self.early_stopping:
            callbacks.append(StopWhenSettled(usage_sample, self.tol, self.n_iter_no_change, schedule))
        callbacks.append(ComponentRevival(usage_sample, self.min_component_usage, usage_generator, max_epochs))
        if schedule is not None:
            callbacks.append(schedule)
        callbacks.append(ProgressBar(disable=not self.verbose))
        self.optimizer_ = optimizer
        try:
            self._run_epochs("GMVAE", loss_fn, optimizer, rows, max_epochs, generator, self.history_, callbacks)
        finally:
            self.learning_rate_ = optimizer.param_groups[0]["lr"]

    def _run_epochs(self, stage, loss_fn, optimizer, rows, n_epochs, generator, history, callbacks):
        """``n_epochs`` of :meth:`_train_epoch`, one ``history`` entry each, the ``callbacks`` around them.

        A callback needs only the hooks it uses. On Ctrl-C the module and the
        optimizer go back to the last completed epoch; a
        :class:`~skgmvae.callbacks.StopTraining` from a callback ends the stage
        after its epoch (the callbacks after it see ``record['stopped']``).
        """
        def hooks(name):
            return [hook for hook in (getattr(callback, name, None) for callback in callbacks) if hook is not None]

        batch_hooks = hooks("on_batch_end")

        def on_batch_end():
            for hook in batch_hooks:
                hook(self, stage, optimizer)

        last_good = copy.deepcopy((self.module_.state_dict(), optimizer.state_dict()))
        for hook in hooks("on_train_begin"):
            hook(self, stage, n_epochs, optimizer)
        try:
            for _ in range(n_epochs):
                record = {"epoch": len(history) + 1,
                          **self._train_epoch(loss_fn, optimizer, rows, generator, len(history), on_batch_end),
                          "learning_rate": optimizer.param_groups[0]["lr"]}
                for hook in hooks("on_epoch_end"):
                    try:
                        hook(self, stage, record)
                    except StopTraining as reason:
                        record["stopped"] = str(reason)
                history.append(record)
                last_good = copy.deepcopy((self.module_.state_dict(), optimizer.state_dict()))
                if "stopped" in record:
                    break
        except KeyboardInterrupt:
            self.module_.load_state_dict(last_good[0])
            optimizer.load_state_dict(last_good[1])
            raise
        finally:
            for hook in hooks("on_train_end"):
                hook(self, stage)

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
