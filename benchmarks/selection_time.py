"""How long ``suggest_labels`` takes on a whole training pool, beside what the fit it reads costs.

The cached package-default GMVAE of the data set chooses ``n`` images among every image of the pool (60,000
for Fashion-MNIST), encoding included, ``--rounds`` times per budget. Beside it, one GMVAE epoch of the same
model on the same pool is timed (a warm start of one epoch) and multiplied by the number of GMVAE epochs the
model was fitted with: the fit without its pretraining, a lower bound, so the ratio errs against
``suggest_labels``.

Command::

    python -m benchmarks selection_time --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist
"""

import copy
import time

import numpy as np

from benchmarks._protocol import (
    SETTINGS,
    command_line,
    load_or_fit_gmvae,
    model_arguments,
    model_params,
    parser,
    provenance,
    results_dir,
    write_csv,
)
from skgmvae import suggest_labels
from skgmvae.datasets import load_dataset

NAME = "selection_time"


def smallest(out):
    """The smallest configuration: a small digits model, one budget, one round."""
    return ["--dataset", "digits", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1", "--budgets", "10",
            "--rounds", "1", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--budgets", type=int, nargs="+", default=[10, 100, 300])
    arguments.add_argument("--rounds", type=int, default=2, help="timings per budget (default 2)")
    arguments.add_argument("--out", default=None)
    model_arguments(arguments)
    args = arguments.parse_args(argv)

    X = load_dataset(args.dataset, data_dir=args.data_dir)["X_pool"]
    gmvae, _ = load_or_fit_gmvae(args.dataset, X, args.k, **model_params(args))
    records = []
    for n_labels in args.budgets:
        for round_index in range(args.rounds):
            start = time.perf_counter()
            suggest_labels(gmvae, X, n_labels)
            records.append({"what": "suggest_labels", "n_labels": n_labels, "round": round_index + 1,
                            "seconds": time.perf_counter() - start})
            print(records[-1], flush=True)
    epoch = copy.deepcopy(gmvae).set_params(warm_start=True, max_epochs=1, verbose=False)
    start = time.perf_counter()
    epoch.fit(X)
    epoch_seconds = time.perf_counter() - start
    n_epochs = len(gmvae.history_)
    records.append({"what": "GMVAE epochs of the fit (one timed x their number)", "n_labels": "", "round": 1,
                    "seconds": epoch_seconds * n_epochs})
    print(records[-1], flush=True)

    out = results_dir(args.dataset, args.out)
    run = provenance(command_line(NAME, argv), seeds="training seed 0")
    write_csv(out / "selection-time.csv", [{"n_images": len(X), **row} for row in records], run)
    fit = records[-1]["seconds"]
    lines = [f"# Selection time, {args.dataset}, {len(X)} images", "",
             f"One GMVAE epoch on the pool: {epoch_seconds:.1f} s; the fit's {n_epochs} GMVAE epochs: {fit:.0f} s "
             "(pretraining left out, so the fit is longer).", "",
             "| labels | suggest_labels (s, median) | share of the fit |", "|---|---|---|"]
    for n_labels in args.budgets:
        seconds = float(np.median([row["seconds"] for row in records if row["n_labels"] == n_labels]))
        lines.append(f"| {n_labels} | {seconds:.1f} | {100 * seconds / fit:.1f}% |")
    (out / "selection-time.md").write_text("\n".join(lines) + f"\n\nCommand: `{command_line(NAME, argv)}`\n")
    print(f"wrote {out / 'selection-time.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
