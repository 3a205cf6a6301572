"""Which images to label: suggest_labels against scikit-activeml's TypiClust, ProbCover, MaxHerding and random draws.

Every method chooses among the label candidates of one split of the protocol (``benchmarks/_protocol.py``)
of the cached package-default GMVAE of each training seed. The peers query what the package gives them: the
unit-length latent means of the same model (``GMVAETransformer(output='latent')``, then
:func:`~sklearn.preprocessing.normalize`); TypiClust with ``k=20``; ProbCover given the number of classes and
its radius chosen by its own purity rule over a grid that suits unit-length codes (:data:`PROBCOVER_RADII`: its
default grid starts at 0.2, where balls of unit-length codes already hold several classes); MaxHerding as
shipped. Seeded peers run 3 seeds, random draws 5, ``suggest_labels`` once (it is deterministic).

Budgets are 1, 2, 4 and 8 labels per class and 300, chosen in one batch; ``--rounds R`` instead chooses
``R`` batches of one label per class, each method given the labels of the earlier rounds, with uncertainty sampling
(:data:`UNCERTAINTY`) as one more peer. Each choice is scored
by soft decoding of q(c|x) and by the route ``skgmvae predict`` gives (``RouteSearchCV`` on the precomputed
q(c|x), codes and UMAP-mixture posterior, as ``label_efficiency`` scores its cross-validated route), on the
candidates not chosen (digits, EMNIST: each choice leaves its own rest) or on the held-out images
(Fashion-MNIST). ``selection_seconds`` is the time of the choice: for ``suggest_labels`` it includes encoding
the candidates, which the peers are given encoded.

``label-selection.csv`` holds every run; ``label-selection.md`` each method's mean over the training seeds
(its seeds or draws averaged on each model first) and ``suggest_labels`` minus each method paired by
training seed, with the 95% t-interval over the models. ``suggest_labels``' two parameters were chosen on the
development splits of digits and letters; the peers run with their package defaults but for the settings named above.
scikit-activeml is the ``selection`` extra; without it only
``suggest_labels`` and random draws run.

Commands::

    python -m benchmarks label_selection --dataset digits --split development --train-seeds 0 1 2
    python -m benchmarks label_selection --dataset emnist --data-dir ../shared/data --split report
    python -m benchmarks label_selection --dataset digits --rounds 3
    python -m benchmarks label_selection --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist \
        --max-candidates 10000 --train-seeds 0
    python -m benchmarks label_selection --from-csv benchmarks/results/digits/label-selection.csv  # its .md again
"""

import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import softmax
from sklearn.preprocessing import normalize

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
from benchmarks._stats import paired_difference, t_half_width
from benchmarks.label_efficiency import gmvae_feature_maker, route_matrix
from skgmvae import ClusterLabelDecoder, RouteSearchCV, suggest_labels
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import draw_labeled_rows

NAME = "label_selection"
OURS = "suggest_labels"
#: In rounds: a random first round, then the unlabeled images of smallest margin between the two likeliest
#: classes of the route search fitted on the labels in hand (scikit-activeml's ``uncertainty_scores``).
UNCERTAINTY = "uncertainty sampling"
#: ProbCover's radii for unit-length codes (distances in [0, 2]); its purity rule picks the largest that keeps
#: 95% of the balls inside one k-means cluster.
PROBCOVER_RADII = np.round(np.arange(0.02, 1.01, 0.02), 2)
PEER_SEEDS, RANDOM_DRAWS = 3, 5


def smallest(out):
    """The smallest configuration: a small digits model, one training seed, one peer seed, two draws."""
    return ["--dataset", "digits", "--train-seeds", "0", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1",
            "--per-class", "1",
            "--extra-budgets", "--peer-seeds", "1", "--random-draws", "2", "--no-route", "--out", str(out)]


def peers(n_classes):
    """scikit-activeml's strategies as ``query(codes, y, n) -> indices`` makers, by name ({} without it)."""
    try:
        from skactiveml.pool import MaxHerding, ProbCover, TypiClust
    except ImportError:
        return {}
    return {
        "TypiClust": lambda seed: TypiClust(k=20, random_state=seed),
        "ProbCover": lambda seed: ProbCover(n_classes=n_classes, deltas=PROBCOVER_RADII, random_state=seed),
        "MaxHerding": lambda seed: MaxHerding(random_state=seed),
    }


def choose(method, seed, *, gmvae, X, codes, y_in_hand, n_labels, make_peer=None, features=None):
    """Rows ``method`` suggests given the labels in hand (``y_in_hand`` -1 where unlabeled)."""
    unlabeled = np.flatnonzero(y_in_hand == -1)
    if method == OURS:
        return suggest_labels(gmvae, X, n_labels, y=y_in_hand)
    if method == "random" or (method == UNCERTAINTY and (y_in_hand != -1).sum() == 0):
        return unlabeled[draw_labeled_rows(len(unlabeled), n_labels, seed)]
    if method == UNCERTAINTY:
        from skactiveml.pool import uncertainty_scores

        search = fitted_search(features, y_in_hand, seed)
        rows = features["matrix"][unlabeled]
        if hasattr(search, "predict_proba"):
            probabilities = search.predict_proba(rows)
        else:  # a route without probabilities (the SVC's): the softmax of its class scores
            scores = search.decision_function(rows)
            probabilities = softmax(np.column_stack([-scores, scores]) if scores.ndim == 1 else scores, axis=1)
        margin = uncertainty_scores(probabilities, method="margin_sampling")
        return unlabeled[np.argsort(-margin, kind="stable")[:n_labels]]
    y_peer = np.where(y_in_hand == -1, np.nan, y_in_hand).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ProbCover's note when no radius reaches its purity target
        return np.asarray(make_peer(seed).query(codes, y_peer, batch_size=n_labels), dtype=int)


def scores(chosen, y, features, held_out, *, route, seed):
    """Soft decoding of q(c|x) and the cross-validated route, fitted on the rows ``chosen``.

    ``features`` and ``held_out`` (or None) hold ``'posterior'`` and, when ``route``, the route search's
    ``'matrix'`` and ``'blocks'`` (:func:`route_matrix`); ``held_out`` also ``'y'``.
    """
    if held_out is None:
        rest = np.setdiff1d(np.arange(len(y)), chosen)
        test, y_test = {"posterior": features["posterior"][rest]}, y[rest]
        if route:
            test["matrix"] = features["matrix"][rest]
    else:
        test, y_test = held_out, held_out["y"]
    soft = ClusterLabelDecoder().fit(features["posterior"][chosen], y[chosen])
    result = {"soft": float(np.mean(soft.predict(test["posterior"]) == y_test))}
    if route:
        y_semi = np.full(len(y), -1, dtype=np.int64)
        y_semi[chosen] = y[chosen]
        search = fitted_search(features, y_semi, seed)
        result["route"] = float(np.mean(search.predict(test["matrix"]) == y_test))
        result["chosen_route"] = search.best_route_
    return result


def fitted_search(features, y_semi, seed):
    """The route search ``skgmvae predict`` runs, on the precomputed features, fitted on the labels of ``y_semi``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fallback with too few labels, recorded in chosen_route
        return RouteSearchCV("precomputed", feature_blocks=features["blocks"], random_state=seed).fit(
            features["matrix"], y_semi)


def run_model(args, gmvae, X, y, held_out_rows, train_seed, n_classes):
    """Every method's records on one model."""
    features_of = gmvae_feature_maker(gmvae, X)
    encoded = features_of(X)
    # The route search's matrix is built once per model; each choice's rest is a slice of it.
    features = {"posterior": encoded["posterior"], **dict(zip(("matrix", "blocks"), route_matrix(encoded)))}
    held_out = None
    if held_out_rows is not None:
        encoded_held_out = features_of(held_out_rows[0])
        held_out = {"posterior": encoded_held_out["posterior"], "matrix": route_matrix(encoded_held_out)[0],
                    "y": held_out_rows[1]}
    codes = normalize(encoded["latent"])
    made = peers(n_classes)
    methods = [(OURS, [0]), ("random", list(range(args.random_draws)))]
    methods += [(name, list(range(args.peer_seeds))) for name in made]
    if args.rounds and args.route and made:
        methods.append((UNCERTAINTY, list(range(args.peer_seeds))))
    batches = ([[n_classes * per_class] for per_class in args.per_class] + [[n] for n in args.extra_budgets]
               if not args.rounds else [[n_classes] * args.rounds])
    records = []
    for batch in batches:
        for method, seeds in methods:
            for seed in seeds:
                y_in_hand = np.full(len(y), -1, dtype=np.int64)
                for round_index, n_labels in enumerate(batch):
                    start = time.perf_counter()
                    chosen = choose(method, seed, gmvae=gmvae, X=X, codes=codes, y_in_hand=y_in_hand,
                                    n_labels=n_labels, make_peer=made.get(method), features=features)
                    seconds = time.perf_counter() - start
                    if len(np.unique(chosen)) != n_labels or (y_in_hand[chosen] != -1).any():
                        raise AssertionError(f"{method} suggested a row twice or a labeled row")
                    y_in_hand[chosen] = y[chosen]
                    labeled = np.flatnonzero(y_in_hand != -1)
                    record = {"train_seed": train_seed, "method": method, "seed": seed,
                              "n_labels": len(labeled), "round": round_index + 1, "selection_seconds": seconds,
                              "classes_named": len(np.unique(y[labeled])),
                              **scores(labeled, y, features, held_out, route=args.route, seed=seed)}
                    records.append(record)
                    print({key: round(value, 4) if isinstance(value, float) else value
                           for key, value in record.items()}, flush=True)
    return records


def summary_table(records, measures):
    """Markdown: each method's mean over models, and ``suggest_labels`` minus each method paired by model.

    A method's seeds (or random draws) are averaged on each model first: the models are the independent
    runs, so the paired interval is over training seeds.
    """
    methods = list(dict.fromkeys(row["method"] for row in records))
    counts = sorted({(row["round"], row["n_labels"]) for row in records})
    lines = []
    for measure in measures:
        lines += [f"**{measure}** (accuracy %: mean over training seeds of each method's mean over its seeds or "
                  "draws; in brackets the spread of those per-model means, as a 95% t-interval)", "",
                  "| labels (round) | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
        paired_lines = []
        for round_index, n_labels in counts:
            at = [row for row in records if row["n_labels"] == n_labels and row["round"] == round_index]
            per_model = {}
            for row in at:
                per_model.setdefault(row["method"], {}).setdefault(row["train_seed"], []).append(100 * row[measure])
            per_model = {method: {seed: np.mean(values) for seed, values in by_seed.items()}
                         for method, by_seed in per_model.items()}
            cells = []
            for method in methods:
                means = list(per_model.get(method, {}).values())
                spread = f" ({t_half_width(means):.1f})" if len(means) > 1 else ""
                cells.append(f"{np.mean(means):.1f}{spread}" if means else "")
                if method == OURS or OURS not in per_model:
                    continue
                seeds = sorted(set(per_model[OURS]) & set(per_model[method]))
                diff = paired_difference([per_model[OURS][seed] for seed in seeds],
                                         [per_model[method][seed] for seed in seeds])
                verdict = {"a ahead": f"{OURS} ahead", "b ahead": f"{method} ahead"}.get(diff["verdict"], "tie")
                interval = f" ± {diff['ci']:.1f}" if diff["n_pairs"] > 1 else " (no interval)"
                paired_lines.append(f"| {n_labels} ({round_index}) | {method} | {diff['difference']:+.1f}{interval} "
                                    f"| {verdict} | {diff['n_pairs']} |")
            lines.append(f"| {n_labels} ({round_index}) | " + " | ".join(cells) + " |")
        lines += ["", f"{OURS} minus each method, {measure}, paired by training seed (95% t-interval; a single "
                      "training seed gives no interval and every difference is then a tie):", "",
                  "| labels (round) | method | difference | verdict | models |", "|---|---|---|---|---|"]
        lines += paired_lines + [""]
    times = {method: np.mean([row["selection_seconds"] for row in records if row["method"] == method])
             for method in methods}
    lines.append("Mean selection time (s; suggest_labels' includes encoding the candidates, the peers' does not): "
                 + ", ".join(f"{name} {value:.2f}" for name, value in times.items()))
    return "\n".join(lines) + "\n"


def write_summary_from_csv(path):
    """The ``.md`` beside ``path`` from the runs it holds, with the command that measured them."""
    rows = read_csv(path)
    records = [{**row, "train_seed": int(row["train_seed"]), "seed": int(row["seed"]),
                "n_labels": int(row["n_labels"]), "round": int(row["round"]),
                "selection_seconds": float(row["selection_seconds"]),
                **{measure: float(row[measure]) for measure in ("soft", "route") if row.get(measure)}}
               for row in rows]
    measures = ["soft", "route"] if rows[0].get("route") else ["soft"]
    commands = list(dict.fromkeys(row["command"] for row in rows))  # one per run when runs were merged
    datasets = {line.split()[line.split().index("--dataset") + 1] for line in commands}
    if len(datasets) > 1 or len({row["protocol_split"] for row in rows}) > 1:
        raise ValueError(f"{path} mixes runs of {sorted(datasets)} and splits "
                         f"{sorted({row['protocol_split'] for row in rows})}; merge runs of one data set and split.")
    dataset = datasets.pop()
    said = (f"Command: `{commands[0]}`" if len(commands) == 1 else
            "Commands (one per run, their CSVs concatenated, then `--from-csv`): "
            + "; ".join(f"`{line}`" for line in commands))
    path.with_suffix(".md").write_text(f"# Label selection, {dataset}, {rows[0]['protocol_split']} split\n\n"
                                       f"{summary_table(records, measures)}\n{said}\n")
    print(f"wrote {path.with_suffix('.md')}")


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), help="required unless --from-csv")
    arguments.add_argument("--data-dir", default=None)
    add_split_argument(arguments, "report")
    arguments.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2],
                           help="training seeds of the cached models (default: 0 1 2)")
    arguments.add_argument("--per-class", type=int, nargs="+", default=[1, 2, 4, 8],
                           help="budgets in labels per class (default: 1 2 4 8)")
    arguments.add_argument("--extra-budgets", type=int, nargs="*", default=[300], help="budgets in labels (300)")
    arguments.add_argument("--rounds", type=int, default=0,
                           help="choose this many rounds of one label per class instead of one batch per budget")
    arguments.add_argument("--max-candidates", type=int, default=None,
                           help="choose among a seeded random subsample of this many label candidates (every method "
                                "the same; ProbCover and MaxHerding hold an n x n kernel)")
    arguments.add_argument("--peer-seeds", type=int, default=PEER_SEEDS)
    arguments.add_argument("--random-draws", type=int, default=RANDOM_DRAWS)
    arguments.add_argument("--no-route", dest="route", action="store_false",
                           help="score soft decoding only (no route search)")
    arguments.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    arguments.add_argument("--from-csv", default=None, metavar="CSV",
                           help="write the summary (.md beside it) of a CSV this benchmark wrote, and run nothing")
    model_arguments(arguments)
    args = arguments.parse_args(argv)
    if args.from_csv:
        write_summary_from_csv(Path(args.from_csv))
        return 0
    if args.dataset is None:
        arguments.error("--dataset is required (unless --from-csv)")

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, args.split)
    candidates = part.candidates
    if args.max_candidates and len(candidates) > args.max_candidates:
        # The same seeded subsample for every method: the peers' n x n kernels must fit in memory.
        candidates = np.sort(np.random.RandomState(0).choice(candidates, args.max_candidates, replace=False))
    X, y = data["X_pool"][candidates], np.asarray(data["y_pool"][candidates])
    held_out_rows = None if part.X_test is None else (part.X_test, np.asarray(part.y_test))
    n_classes = len(np.unique(y))
    records = []
    for train_seed in args.train_seeds:
        gmvae, _ = load_or_fit_gmvae(args.dataset, data["X_pool"], args.k, random_state=train_seed,
                                     **model_params(args))
        records += run_model(args, gmvae, X, y, held_out_rows, train_seed, n_classes)

    out = results_dir(args.dataset, args.out, args.split)
    stem = "label-selection-rounds" if args.rounds else "label-selection"
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seeds {' '.join(map(str, args.train_seeds))}; peer seeds 0-"
                           f"{args.peer_seeds - 1}; random draws 0-{args.random_draws - 1}")
    scored = "held_out" if held_out_rows is not None else "rest"
    write_csv(out / f"{stem}.csv", [{"protocol_split": args.split, "split": scored, **row} for row in records], run)
    print(f"wrote {out / (stem + '.csv')}")
    write_summary_from_csv(out / f"{stem}.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
