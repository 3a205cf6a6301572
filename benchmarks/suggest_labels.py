"""Suggested labels against random labels: soft-decoding accuracy for n in {K/2, K, 2K, 3K}.

The GMVAE (package defaults) comes from the model cache when ``label_efficiency`` left one there, else it is
fitted and cached. Suggestions are drawn from the
label candidates by :func:`skgmvae.suggest_labels` (both strategies; they are deterministic), random
labels with 5 seeds; accuracy is measured on the candidates not labeled. The candidates are those of the
report split of ``benchmarks/_protocol.py`` (``--split development`` to compare suggestion rules).
Results go to ``benchmarks/results/<dataset>/`` (``development/`` for that split): ``suggested.md``,
``suggested.csv`` (every figure of the table, with the split) and ``suggested.png``.

Commands::

    python -m benchmarks suggest_labels --dataset emnist --data-dir ../shared/data
    python -m benchmarks suggest_labels --dataset fashion-mnist
"""

import numpy as np

from benchmarks._protocol import (
    SETTINGS,
    accuracy_over_draws,
    add_split_argument,
    command_line,
    decoder_accuracy,
    load_or_fit_gmvae,
    model_arguments,
    model_params,
    parser,
    protocol_split,
    provenance,
    results_dir,
    write_csv,
)
from skgmvae import suggest_labels
from skgmvae.datasets import load_dataset

NAME = "suggest_labels"


def smallest(out):
    """The smallest configuration: a small digits model, two draws."""
    return ["--dataset", "digits", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1", "--seeds", "2",
            "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    arguments.add_argument("--data-dir", default=None)
    add_split_argument(arguments, "report")
    arguments.add_argument("--seeds", type=int, default=5, help="random label draws per count (default: 5)")
    arguments.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    model_arguments(arguments)
    args = arguments.parse_args(argv)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, args.split)
    X, y, candidates = data["X_pool"], data["y_pool"], part.candidates
    gmvae, _ = load_or_fit_gmvae(args.dataset, X, args.k, **model_params(args))
    out = results_dir(args.dataset, args.out, args.split)
    X_candidates, y_candidates = X[candidates], y[candidates]
    Q = gmvae.transform(X_candidates)
    k = gmvae.k
    counts = [k // 2, k, 2 * k, 3 * k]
    rows = []
    for n_labels in counts:
        random_scores = accuracy_over_draws(Q, y_candidates, n_labels, args.seeds, draw_seed=part.draw_seed)
        row = {"n": n_labels, "random": np.mean(random_scores), "random_sd": np.std(random_scores)}
        for strategy in ("representative", "uncertain"):
            chosen = suggest_labels(gmvae, X_candidates, n_labels, strategy=strategy)
            row[strategy] = decoder_accuracy(Q, y_candidates, chosen)
            row[strategy + "_classes"] = len(np.unique(y_candidates[chosen]))
        rows.append(row)
        print(row, flush=True)

    reference_count = 291 if len(y_candidates) > 582 else len(y_candidates) // 2
    reference = [accuracy_over_draws(Q, y_candidates, reference_count, args.seeds, draw_seed=part.draw_seed).mean()]
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seed 0; label draw seeds {part.draw_seed}-{part.draw_seed + args.seeds - 1}")
    write_csv(out / "suggested.csv",
              [{"protocol_split": args.split, "n_labels": row["n"], "labels": "random", "accuracy": row["random"],
                "sd_over_draws": row["random_sd"], "n_draws": args.seeds, "classes": ""} for row in rows]
              + [{"protocol_split": args.split, "n_labels": row["n"], "labels": f"suggested, {strategy}",
                  "accuracy": row[strategy], "sd_over_draws": "", "n_draws": 1, "classes": row[strategy + "_classes"]}
                 for row in rows for strategy in ("representative", "uncertain")]
              + [{"protocol_split": args.split, "n_labels": reference_count, "labels": "random",
                  "accuracy": reference[0], "sd_over_draws": "", "n_draws": args.seeds, "classes": ""}], run)
    lines = [f"# Suggested labels against random labels on {args.dataset} (K={k})", "",
             f"Command: `{run['command']}`. Soft-decoding accuracy "
             f"(%) on the {len(y_candidates)} label candidates of the {args.split} split not labeled "
             f"(`suggested.csv`); random: mean ± sd over {args.seeds} draws.", "",
             "| labels | random | suggested, representative | suggested, then uncertain |", "|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['n']} | {100 * row['random']:.1f} ± {100 * row['random_sd']:.1f} | "
                     f"{100 * row['representative']:.1f} ({row['representative_classes']} classes) | "
                     f"{100 * row['uncertain']:.1f} ({row['uncertain_classes']} classes) |")
    lines += ["", f"For reference, {reference_count} random labels: {100 * reference[0]:.1f}%."]
    (out / "suggested.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="tight")
    ax = fig.subplots()
    ax.errorbar(counts, [100 * r["random"] for r in rows], yerr=[100 * r["random_sd"] for r in rows], marker="o",
                label="random labels", capsize=3)
    ax.plot(counts, [100 * r["representative"] for r in rows], marker="s", label="suggested (representative)")
    ax.plot(counts, [100 * r["uncertain"] for r in rows], marker="^", label="suggested (then uncertain)")
    ax.axhline(100 * reference[0], color="gray", linestyle=":", label=f"{reference_count} random labels")
    ax.set_xlabel("number of labels")
    ax.set_ylabel("soft-decoding accuracy (%)")
    ax.set_title(f"{args.dataset}: which images to label")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(out / "suggested.png", dpi=120)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
