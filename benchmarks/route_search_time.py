"""What choosing the route costs beside the GMVAE fit: ``RouteSearchCV`` on a fitted, frozen model, two checkouts.

The GMVAE is fitted once without labels (the cached model of ``label_efficiency``); :class:`skgmvae.RouteSearchCV`
then encodes the rows, fits its UMAP mixture on their codes and cross-validates the routes on the labeled ones.
The worker loads the saved model (``GMVAETransformer.load``), draws ``n`` labeled rows among the split's label
candidates (the rest unlabeled, ``y == -1``) and times ``RouteSearchCV(FrozenEstimator(model)).fit`` twice on
them: the first search pays the one-off compilation of UMAP's kernels, the second is the figure. Each
measurement runs in a fresh process, the checkouts interleaved (``benchmarks/_timing.py``); the share of the
fit is against the fit time recorded when the model was cached.

Command (from the repository root; run it alone)::

    python -m benchmarks route_search_time --data-dir ../shared/data
    python -m benchmarks route_search_time --data-dir ../shared/data --baseline ../baseline --rounds 3

Writes ``route-search-time-runs.csv`` and ``route-search-time-summary.csv`` into ``--out`` (default: the data
set's results folder).
"""

from benchmarks import _timing
from benchmarks._protocol import (
    REPORT_DRAW_SEED,
    SETTINGS,
    add_split_argument,
    cache_path,
    command_line,
    load_or_fit_gmvae,
    parser,
    provenance,
    recorded_fit_seconds,
    results_dir,
    write_csv,
)

NAME = "route_search_time"


def worker(model, dataset, data_dir=None, split="report", n_labels=291, threads=2):
    """Seconds of two ``RouteSearchCV.fit`` on the split's candidates with ``n_labels`` labels (a fresh process)."""
    import time
    import warnings

    import numpy as np
    from sklearn.frozen import FrozenEstimator

    import skgmvae
    from benchmarks._protocol import protocol_split
    from skgmvae import GMVAETransformer, RouteSearchCV
    from skgmvae.datasets import load_dataset
    from skgmvae.evaluation import draw_labeled_rows

    data = load_dataset(dataset, data_dir)
    part = protocol_split(data, split)
    X, y_true = data["X_pool"][part.candidates], data["y_pool"][part.candidates]
    y = np.full(len(y_true), -1, dtype=np.int64)
    labeled = draw_labeled_rows(len(y), n_labels, part.draw_seed)
    y[labeled] = y_true[labeled]
    gmvae = GMVAETransformer.load(model, device="cpu").set_params(n_jobs=threads)
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # classes with fewer labels than folds are not scored
        for _ in range(2):
            search = RouteSearchCV(FrozenEstimator(gmvae), random_state=0)
            start = time.perf_counter()
            search.fit(X, y)
            seconds.append(time.perf_counter() - start)
    return {"n_rows": len(y), "n_labels": n_labels, "chosen_route": search.best_route_,
            "routes_tried": len(search.route_scores_), "first_search_seconds": seconds[0],
            "search_seconds": seconds[1], "threads": threads,
            "skgmvae_version": getattr(skgmvae, "__version__", "unknown")}


def smallest(out):
    """The smallest configuration: digits, a small model fitted for it, one count, one round."""
    return ["--dataset", "digits", "--labels", "100", "--k", "5", "--max-epochs", "1", "--pretrain-epochs", "1",
            "--rounds", "1", "--out", str(out)]


def main(argv=None):
    from skgmvae.datasets import load_dataset

    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), default="emnist")
    arguments.add_argument("--data-dir", default=None)
    add_split_argument(arguments, "report")
    arguments.add_argument("--labels", type=int, nargs="+", default=[146, 291, 2912])
    arguments.add_argument("--k", type=int, default=None, help="components of the model (default: the package's)")
    arguments.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs of the model (smoke runs)")
    arguments.add_argument("--pretrain-epochs", type=int, default=None, help="pretraining epochs (smoke runs)")
    arguments.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    arguments.add_argument("--out", default=None, help="output folder (default: the data set's results folder)")
    _timing.add_arguments(arguments, rounds=1)
    args = arguments.parse_args(argv)
    folders = _timing.checkouts(args.baseline)
    params = {name: value for name, value in (("max_epochs", args.max_epochs),
                                              ("pretrain_epochs", args.pretrain_epochs)) if value is not None}
    gmvae, _ = load_or_fit_gmvae(args.dataset, load_dataset(args.dataset, args.data_dir)["X_pool"], args.k,
                                 **params)
    model = cache_path(args.dataset, gmvae.k, 0, **params)
    fit_seconds = recorded_fit_seconds(model)
    configurations = {f"{n} labels": {"n_labels": n} for n in args.labels}
    rows = _timing.interleave(folders, configurations, args.rounds, "benchmarks.route_search_time", "worker",
                              lambda settings: {"model": str(model), "dataset": args.dataset,
                                                "data_dir": args.data_dir, "split": args.split,
                                                "threads": args.threads, **settings})
    for row in rows:
        row.update(gmvae_fit_seconds=fit_seconds if fit_seconds is not None else "unknown",
                   share_of_fit=row["search_seconds"] / fit_seconds if fit_seconds else "unknown")
    draw_seed = REPORT_DRAW_SEED if args.split == "report" else 0
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seed 0; label draw seed {draw_seed}")
    out = results_dir(args.dataset, args.out)
    write_csv(out / "route-search-time-runs.csv", rows, run)
    summary = _timing.medians(rows, "search_seconds", keys=("n_labels",))
    write_csv(out / "route-search-time-summary.csv", summary, run)
    for row in summary:
        print(f"{row['n_labels']:>5} labels, {row['checkout']:>14}: {row['median_search_seconds']:.1f} s"
              + ("" if not fit_seconds else f" ({row['median_search_seconds'] / fit_seconds:.1%} of the fit)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
