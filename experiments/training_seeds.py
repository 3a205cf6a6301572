"""How much the decoders move with the training seed: the default GMVAE fitted with several random_state values.

A decision record, superseded by ``python -m benchmarks label_efficiency --train-seeds 0 1 2``, which gives
the spread over training seeds of every method. For each training seed the package-default GMVAE is fitted
on the data set's pool (cached by ``load_or_fit_gmvae``; seed 0 is the label-efficiency benchmark's model), then
scored as in the benchmarks: soft and hard accuracy at random labels (mean of ``--seeds`` draws, on the
candidates not labeled) and soft accuracy with the labels ``skgmvae.suggest_labels`` proposes, on the
report split of ``benchmarks/_protocol.py`` by default. Writes ``training-seeds.md`` and
``training-seeds.csv`` (with the split) into the data set's results folder. The label-efficiency
benchmark's ``--train-seeds`` gives the same spread for every method; this script is the quick look at
the decoders alone.

Command::

    python -m experiments.training_seeds --dataset emnist --data-dir ../shared/data --training-seeds 0 1 2
"""

import argparse

import numpy as np

from benchmarks._protocol import (
    SETTINGS,
    accuracy_over_draws,
    add_split_argument,
    command_line,
    decoder_accuracy,
    load_or_fit_gmvae,
    protocol_split,
    provenance,
    results_dir,
    write_csv,
)
from skgmvae import GMVAETransformer, suggest_labels
from skgmvae.datasets import load_dataset

RANDOM_COUNTS = {"emnist": (73, 291, 728), "fashion-mnist": (30, 100, 300), "digits": (10, 30, 100)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--data-dir", default=None)
    add_split_argument(parser, "report")
    parser.add_argument("--training-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seeds", type=int, default=5, help="random label draws per count")
    parser.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    parser.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (smoke runs)")
    args = parser.parse_args(argv)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, args.split)
    X, y, candidates = data["X_pool"], data["y_pool"], part.candidates
    params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
    X_candidates, y_candidates = X[candidates], y[candidates]
    counts = RANDOM_COUNTS[args.dataset]
    k = GMVAETransformer().k
    suggested_counts = (k // 4, k // 2, k)

    header = (["training seed"] + [f"{mode} at {n} random" for n in counts for mode in ("soft", "hard")]
              + [f"{n} suggested" for n in suggested_counts] + ["components used"])
    rows = []
    for training_seed in args.training_seeds:
        gmvae, _ = load_or_fit_gmvae(args.dataset, X, random_state=training_seed, **params)
        Q = gmvae.transform(X_candidates)
        row = []
        for n_labels in counts:
            for mode in ("soft", "hard"):
                row.append(accuracy_over_draws(Q, y_candidates, n_labels, args.seeds, mode,
                                               draw_seed=part.draw_seed).mean())
        for n_labels in suggested_counts:
            row.append(decoder_accuracy(Q, y_candidates, suggest_labels(gmvae, X_candidates, n_labels)))
        rows.append(row + [gmvae.n_components_used_])
        print(f"training seed {training_seed}: " + ", ".join(f"{100 * v:.1f}" for v in row), flush=True)

    def cells(values):
        return [f"{100 * v:.1f}" for v in values[:-1]] + [f"{values[-1]:.0f}"]

    run = provenance(command_line("training_seeds", argv, suite="experiments"), protocol_split=args.split,
                     seeds=f"training seeds {' '.join(map(str, args.training_seeds))}; label draw seeds "
                           f"{part.draw_seed}-{part.draw_seed + args.seeds - 1}")
    lines = [f"# Training seeds on {args.dataset} (package defaults, K={k})", "",
             f"Command: `{run['command']}`. Accuracy (%) on the label "
             f"candidates of the {args.split} split not labeled; random labels: mean of {args.seeds} draws "
             "(the benchmark's draws).", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([str(seed)] + cells(row)) + " |" for seed, row in zip(args.training_seeds, rows)]
    mean = np.mean(rows, axis=0)
    lines.append("| mean | " + " | ".join(cells(mean)) + " |")
    out = results_dir(args.dataset, args.out, args.split)
    write_csv(out / "training-seeds.csv",
              [{"protocol_split": args.split, "training_seed": seed, **dict(zip(header[1:], row))}
               for seed, row in zip(args.training_seeds, rows)], run)
    (out / "training-seeds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
