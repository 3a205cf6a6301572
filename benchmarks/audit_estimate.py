"""How far the audit estimate ``skgmvae predict`` prints is from the accuracy it estimates.

On each cached package-default GMVAE (training seeds) and each budget, a round of labels is chosen as
``skgmvae suggest`` chooses it: ``n - n_audit`` images by ``suggest_labels`` and ``n_audit`` drawn at
random among the others (:func:`skgmvae.draw_audit_rows`, seeded by the draw), for the audit sizes of
``skgmvae suggest``'s default and of ``--audit-shares``. The route search of ``predict``
(``RouteSearchCV`` on the precomputed q(c|x), codes and UMAP-mixture posterior) is fitted on all of them,
and :func:`skgmvae.audit_accuracy` estimates its accuracy from the audit rows. The truth is the accuracy
of that route on the label candidates left unlabeled. Two ways of labeling are scored: every audit image
labeled (``estimate``), and a person who skips each audit image the route, fitted without the audit
labels, gets wrong with probability 1/2 (``skipping``: the hard ones left out more often).

``audit-estimate.csv`` holds every draw; ``audit-estimate.md`` per budget and audit size: the mean signed
and absolute error of the estimate (points), how often its 90% interval holds the truth, its mean width, and
the route's accuracy beside that of the same budget chosen by ``suggest_labels`` alone (what the audit
sample costs).

Commands::

    python -m benchmarks audit_estimate --dataset digits --split development
    python -m benchmarks audit_estimate --dataset digits --split report
    python -m benchmarks audit_estimate --dataset emnist --data-dir ../shared/data --split report --train-seeds 0
"""

import warnings
from pathlib import Path

import numpy as np

from benchmarks._protocol import (
    SETTINGS,
    add_split_argument,
    command_line,
    load_or_fit_gmvae,
    model_arguments,
    model_params,
    parser,
    protocol_split,
    provenance,
    read_csv,
    results_dir,
    write_csv,
)
from benchmarks.label_efficiency import gmvae_feature_maker, route_matrix
from skgmvae import RouteSearchCV, audit_accuracy, draw_audit_rows, suggest_labels
from skgmvae.cli import default_audit_size
from skgmvae.datasets import load_dataset

NAME = "audit_estimate"
DRAWS = 10


def smallest(out):
    """The smallest configuration: a small digits model, one budget, two draws."""
    return ["--dataset", "digits", "--train-seeds", "0", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1",
            "--per-class", "2", "--draws", "2", "--out", str(out)]


def fitted_route(matrix, blocks, y_semi, seed):
    """The route search ``predict`` runs, on the precomputed features."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fallback with too few labels
        return RouteSearchCV("precomputed", feature_blocks=blocks, random_state=seed).fit(matrix, y_semi)


def run_model(args, gmvae, X, y, train_seed, n_classes):
    """The records of every budget, audit size and draw on one model."""
    encoded = gmvae_feature_maker(gmvae, X)(X)
    matrix, blocks = route_matrix(encoded)
    records = []
    for per_class in args.per_class:
        n = n_classes * per_class
        audit_sizes = sorted({default_audit_size(n), *(max(1, round(share * n)) for share in args.audit_shares)} - {0})
        # The greedy coverage order: the first n - n_audit picks are what suggest_labels(n - n_audit) gives.
        order = suggest_labels(gmvae, X, n)
        baseline = {}
        for n_audit in [0] + audit_sizes:
            chosen = order[:n - n_audit]
            for draw in range(1 if n_audit == 0 else args.draws):
                audit_rows = draw_audit_rows(np.full(len(y), -1), n_audit, exclude=chosen, random_state=draw)
                labeled = np.r_[chosen, audit_rows].astype(int)
                y_semi = np.full(len(y), -1, dtype=np.int64)
                y_semi[labeled] = y[labeled]
                search = fitted_route(matrix, blocks, y_semi, draw)
                rest = y_semi == -1
                truth = float(np.mean(search.predict(matrix[rest]) == y[rest]))
                if n_audit == 0:
                    baseline = {"route_without_audit": truth}
                    continue
                audit = np.zeros(len(y), dtype=bool)
                audit[audit_rows] = True
                features, route = search.best_estimator_[:-1].transform(matrix), search.best_estimator_[-1]
                estimate = audit_accuracy(route, features, y_semi, audit)
                # A person who skips each audit image the route gets wrong with probability 1/2 (wrong as the
                # route fitted without the audit labels predicts it, not as the one that learned them).
                y_chosen = np.where(audit, -1, y_semi)
                without = fitted_route(matrix, blocks, y_chosen, draw) if n_audit else search
                wrong = audit_rows[without.predict(matrix[audit_rows]) != y[audit_rows]]
                skipped = wrong[np.random.RandomState(draw).rand(len(wrong)) < 0.5]
                y_skipping = y_semi.copy()
                y_skipping[skipped] = -1
                skipping = audit_accuracy(route, features, y_skipping, audit)
                record = {"train_seed": train_seed, "per_class": per_class, "n_labels": n, "n_audit": n_audit,
                          "draw": draw, "route": search.best_route_, "truth": truth, **baseline,
                          "estimate": estimate.accuracy, "low": estimate.low, "high": estimate.high,
                          "n_skipped": len(skipped), "skipping_estimate": skipping.accuracy,
                          "skipping_low": skipping.low, "skipping_high": skipping.high}
                records.append(record)
                print({key: round(value, 4) if isinstance(value, float) else value for key, value in record.items()},
                      flush=True)
    return records


def summary_table(rows):
    """Markdown: per budget and audit size, the estimate's error, its interval's coverage and width."""
    lines = ["| labels (per class) | audit images | route accuracy | without audit | mean error | mean abs. error | "
             "90% interval holds the truth | mean width | skipping: mean error | holds the truth |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted({(row["n_labels"], row["per_class"], row["n_audit"]) for row in rows}):
        at = [row for row in rows if (row["n_labels"], row["per_class"], row["n_audit"]) == key]
        truth = np.array([row["truth"] for row in at])
        estimate = np.array([row["estimate"] for row in at])
        holds = np.mean([row["low"] <= row["truth"] <= row["high"] for row in at])
        width = np.mean([row["high"] - row["low"] for row in at])
        skipping = np.array([row["skipping_estimate"] for row in at])
        skipping_holds = np.mean([row["skipping_low"] <= row["truth"] <= row["skipping_high"] for row in at])
        error = (estimate - truth)[~np.isnan(estimate)]
        lines.append(
            f"| {key[0]} ({key[1]}) | {key[2]} | {100 * truth.mean():.1f} | "
            f"{100 * np.mean([row['route_without_audit'] for row in at]):.1f} | "
            f"{100 * np.mean(error):+.1f} | {100 * np.mean(np.abs(error)):.1f} | "
            f"{100 * holds:.0f}% | {100 * width:.1f} | "
            f"{100 * np.nanmean(skipping - truth):+.1f} | {100 * skipping_holds:.0f}% |")
    return "\n".join(lines) + "\n"


def write_summary_from_csv(path):
    """The ``.md`` beside ``path`` from the draws it holds."""
    rows = read_csv(path)
    numbers = ("truth", "route_without_audit", "estimate", "low", "high", "skipping_estimate", "skipping_low",
               "skipping_high")
    records = [{**row, **{name: float(row[name]) for name in numbers},
                **{name: int(row[name]) for name in ("n_labels", "per_class", "n_audit", "train_seed")}}
               for row in rows]
    n_models = len({row["train_seed"] for row in records})
    n_draws = len({row["draw"] for row in records})
    path.with_suffix(".md").write_text(
        f"# The audit estimate, {rows[0]['command'].split('--dataset ')[1].split()[0]}, "
        f"{rows[0]['protocol_split']} split\n\n"
        f"{n_models} training seed(s) x {n_draws} audit draws per row. Errors are estimate minus truth, in points "
        "of accuracy; the truth is the route's accuracy on the candidates left unlabeled. 'without audit': the "
        "same budget all chosen by suggest_labels (what the audit sample costs). 'skipping': each audit image "
        "the route gets wrong is skipped with probability 1/2.\n\n"
        f"{summary_table(records)}\nCommand: `{rows[0]['command']}`\n")
    print(f"wrote {path.with_suffix('.md')}")


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), help="required unless --from-csv")
    arguments.add_argument("--data-dir", default=None)
    add_split_argument(arguments, "report")
    arguments.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments.add_argument("--per-class", type=int, nargs="+", default=[1, 2, 4, 8])
    arguments.add_argument("--audit-shares", type=float, nargs="*", default=[0.2],
                           help="audit sizes as shares of the budget, beside the default of skgmvae suggest")
    arguments.add_argument("--draws", type=int, default=DRAWS, help="audit draws per budget and model")
    arguments.add_argument("--out", default=None)
    arguments.add_argument("--from-csv", default=None, metavar="CSV")
    model_arguments(arguments)
    args = arguments.parse_args(argv)
    if args.from_csv:
        write_summary_from_csv(Path(args.from_csv))
        return 0
    if args.dataset is None:
        arguments.error("--dataset is required (unless --from-csv)")
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, args.split)
    X, y = data["X_pool"][part.candidates], np.asarray(data["y_pool"][part.candidates])
    n_classes = len(np.unique(y))
    records = []
    for train_seed in args.train_seeds:
        gmvae, _ = load_or_fit_gmvae(args.dataset, data["X_pool"], args.k, random_state=train_seed,
                                     **model_params(args))
        records += run_model(args, gmvae, X, y, train_seed, n_classes)
    out = results_dir(args.dataset, args.out, args.split)
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seeds {' '.join(map(str, args.train_seeds))}; audit draws 0-{args.draws - 1}")
    write_csv(out / "audit-estimate.csv", [{"protocol_split": args.split, **row} for row in records], run)
    write_summary_from_csv(out / "audit-estimate.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
