"""When to stop GMVAE training: the accuracy of the model at every epoch beside the share of changed components.

A decision record for ``GMVAETransformer(early_stopping=True, tol=..., n_iter_no_change=...)``. With the
default constant learning rate, a fit that stops at epoch ``e`` ends with exactly the model a full-length
fit has after epoch ``e`` (the rule reads the model and draws nothing). So one full-length fit per training
seed gives every rule's result: after each GMVAE epoch this records the share of up to 4,096 training
images whose most probable component changed (``components_changed``, the rule's measure), the wall time
of the epoch, and the soft accuracy of q(c|x) at random labels on the development split of
``benchmarks/_protocol.py`` (mean of ``--draws`` draws per count). Then, for each ``tol`` and
``n_iter_no_change``, the epoch the rule would stop at, the accuracy there against the full-length fit's,
and the share of the GMVAE epochs' time saved.

Command::

    python -m experiments.stopping_rule --dataset digits --train-seeds 0 1 2 \\
        --out benchmarks/results/digits/development/stopping-rule.csv
"""

import argparse
import time
import warnings

import numpy as np

from benchmarks._protocol import accuracy_over_draws, command_line, protocol_split, provenance, write_csv
from experiments.training_seeds import RANDOM_COUNTS
from skgmvae import GMVAETransformer
from skgmvae.callbacks import Callback
from skgmvae.datasets import load_dataset


class EpochScores(Callback):
    """Soft accuracy at random labels and the epoch's wall time, after each GMVAE epoch."""

    def __init__(self, X, y, part, counts, draws):
        self.X, self.y, self.part, self.counts, self.draws = X, y, part, counts, draws
        self.rows = []

    def on_train_begin(self, transformer, stage, n_epochs, optimizer):
        self._start = time.perf_counter()

    def on_epoch_end(self, transformer, stage, record):
        seconds = time.perf_counter() - self._start
        if stage == "GMVAE":
            Q = transformer.transform(self.X)
            Q_test = None if self.part.X_test is None else transformer.transform(self.part.X_test)
            row = {"epoch": record["epoch"], "epoch_seconds": seconds}
            for n_labels in self.counts:
                row[f"soft_{n_labels}"] = 100 * accuracy_over_draws(
                    Q, self.y, n_labels, self.draws, "soft", Q_test, self.part.y_test, self.part.draw_seed).mean()
            self.rows.append(row)
            print(row, flush=True)
        self._start = time.perf_counter()  # the scoring above is not the epoch's time


def stopping_epoch(changed, tol, n_iter_no_change):
    """The epoch (1-based) a rule stops at, given each epoch's share of changed components; the last if never."""
    run = 0
    for epoch, share in enumerate(changed, start=1):
        run = run + 1 if share < tol else 0
        if run >= n_iter_no_change:
            return epoch
    return len(changed)


def main(argv=None):
    arguments = argparse.ArgumentParser(prog="python -m experiments.stopping_rule", description=__doc__,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("--dataset", default="digits")
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments.add_argument("--draws", type=int, default=5)
    arguments.add_argument("--tol", type=float, nargs="+", default=[0.005, 0.01, 0.02, 0.05])
    arguments.add_argument("--n-iter-no-change", type=int, nargs="+", default=[3, 5, 10])
    arguments.add_argument("--out", required=True)
    args = arguments.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, "development")
    X, y = data["X_pool"][part.candidates], np.asarray(data["y_pool"][part.candidates])
    counts = RANDOM_COUNTS[args.dataset]
    records = []
    for train_seed in args.train_seeds:
        scores = EpochScores(X, y, part, counts, args.draws)
        # tol=0 never stops: the rule only records its measure.
        gmvae = GMVAETransformer(random_state=train_seed, early_stopping=True, tol=0.0, callbacks=[scores])
        gmvae.fit(data["X_pool"])
        changed = [record["components_changed"] for record in gmvae.history_]
        seconds = np.cumsum([row["epoch_seconds"] for row in scores.rows])
        full = scores.rows[-1]
        for epoch_row, share in zip(scores.rows, changed):
            records.append({"train_seed": train_seed, "rule": "every epoch", "components_changed": share,
                            **epoch_row})
        for tol in args.tol:
            for n_iter_no_change in args.n_iter_no_change:
                epoch = stopping_epoch(changed, tol, n_iter_no_change)
                row = {"train_seed": train_seed, "rule": f"tol={tol}, n_iter_no_change={n_iter_no_change}",
                       "epoch": epoch, "epochs_full": len(changed),
                       "time_saved": 1 - seconds[epoch - 1] / seconds[-1]}
                for n_labels in counts:
                    row[f"soft_{n_labels}"] = scores.rows[epoch - 1][f"soft_{n_labels}"]
                    row[f"soft_{n_labels}_change"] = row[f"soft_{n_labels}"] - full[f"soft_{n_labels}"]
                records.append(row)
                print(row, flush=True)
    run = provenance(command_line("stopping_rule", argv, suite="experiments"), protocol_split="development",
                     seeds=f"training seeds {' '.join(map(str, args.train_seeds))}; label draws 0-{args.draws - 1}")
    write_csv(args.out, records, run)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
