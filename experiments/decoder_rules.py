"""Other decoding rules against soft and hard, on the GMVAE of the label-efficiency benchmark.

A decision record: the rule below was kept out of the package. The model comes from the benchmarks' model
cache (fitted and cached when absent). The candidate rule is
p(l|x) = sum_c q(c|x) p(l|c), with p(l|c) from soft counts of the labeled rows smoothed towards the
class frequencies with weight ``alpha``. It is kept out of the package: it never
beat soft decoding (see ``benchmarks/results/decoder-rules.md``).

Labels are drawn and scored on the development split of ``benchmarks/_protocol.py`` (a rule chosen here
is a decision); ``--csv`` writes every draw's accuracy, with the split.

Commands::

    python -m experiments.decoder_rules --dataset emnist --data-dir ../shared/data \
        --csv benchmarks/results/emnist-partial/development/decoder-rules.csv
    python -m experiments.decoder_rules --dataset fashion-mnist \
        --csv benchmarks/results/fashion-mnist/development/decoder-rules.csv
"""

import argparse

import numpy as np

from benchmarks._protocol import (
    SETTINGS,
    add_split_argument,
    command_line,
    decoder_accuracy,
    evaluation_rows,
    load_or_fit_gmvae,
    protocol_split,
    provenance,
    write_csv,
)
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import draw_labeled_rows

ALPHAS = (0.1, 1.0, 5.0)


def label_posterior_rule(Q_labeled, y_labeled, Q_eval, alpha):
    """Predict argmax_l sum_c q(c|x) p(l|c), p(l|c) from smoothed soft counts."""
    classes = np.unique(y_labeled)
    one_hot = (y_labeled[:, None] == classes[None]).astype(float)
    counts = Q_labeled.T @ one_hot
    prior = one_hot.mean(axis=0)
    label_given_component = (counts + alpha * prior) / (counts.sum(axis=1, keepdims=True) + alpha)
    return classes[(Q_eval @ label_given_component).argmax(axis=1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--data-dir", default=None)
    add_split_argument(parser, "development")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--labels", type=int, nargs="+", default=None, help="label counts (default: the benchmark's)")
    parser.add_argument("--model", default=None, help="a saved GMVAETransformer instead of the cached default")
    parser.add_argument("--csv", default=None, help="CSV file for every draw's accuracy")
    args = parser.parse_args(argv)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, args.split)
    if args.model:
        from skgmvae import GMVAETransformer

        gmvae = GMVAETransformer.load(args.model)
    else:
        gmvae, _ = load_or_fit_gmvae(args.dataset, data["X_pool"])
    Q, y = gmvae.transform(data["X_pool"][part.candidates]), data["y_pool"][part.candidates]
    Q_test = gmvae.transform(part.X_test) if part.X_test is not None else None
    names = ["soft", "hard"] + [f"p(l given x), alpha={alpha:g}" for alpha in ALPHAS]
    records = []
    print("| labels | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for n_labels in args.labels or SETTINGS[args.dataset]["counts"]:
        scores = {name: [] for name in names}
        for seed in range(args.seeds):
            labeled = draw_labeled_rows(len(y), n_labels, part.draw_seed + seed)
            Q_eval, y_eval = evaluation_rows(Q, y, labeled, Q_test, part.y_test)
            for mode in ("soft", "hard"):
                scores[mode].append(decoder_accuracy(Q, y, labeled, mode, Q_test, part.y_test))
            for alpha, name in zip(ALPHAS, names[2:]):
                predicted = label_posterior_rule(Q[labeled], y[labeled], Q_eval, alpha)
                scores[name].append(np.mean(predicted == y_eval))
            records += [{"dataset": args.dataset, "protocol_split": args.split, "split": part.held_out or "rest",
                         "rule": name, "n_labels": n_labels, "seed": seed, "accuracy": float(scores[name][-1])}
                        for name in names]
        print(f"| {n_labels} | " + " | ".join(f"{100 * np.mean(scores[name]):.1f}" for name in names) + " |",
              flush=True)
    if args.csv:
        write_csv(args.csv, records, provenance(
            command_line("decoder_rules", argv, suite="experiments"), protocol_split=args.split,
            seeds=f"training seed 0; label draw seeds {part.draw_seed}-{part.draw_seed + args.seeds - 1}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
