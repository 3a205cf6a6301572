"""Paired difference of one method between two runs of ``label_efficiency`` (e.g. two route orders).

Both folders must hold a ``records.csv`` of the same protocol split; the runs are paired on (labels,
training seed, draw, scored split) and the difference ``b - a`` is given with its 95% t-interval. Runs that
only one folder has are listed and left out; a run recorded twice in one folder is an error.

Command (from the repository root)::

    python -m benchmarks compare_runs benchmarks/results/emnist-partial/development \\
        benchmarks/results/emnist-partial/development/umap-first \\
        --out benchmarks/results/emnist-partial/development/umap-first-vs-auto.csv
"""

import csv
from pathlib import Path

import numpy as np

from benchmarks._protocol import command_line, parser, provenance, write_csv
from benchmarks._stats import paired_difference

NAME = "compare_runs"
CV_ROUTE = "cross-validated route"  # label_efficiency's row of the route chosen on each draw


def read_accuracies(folder, method):
    """``{(n_labels, train_seed, seed, split): accuracy}`` of ``method`` in ``folder/records.csv``, and its split."""
    accuracies, splits = {}, set()
    with open(Path(folder) / "records.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["method"] != method:
                continue
            key = (int(row["n_labels"]), row["train_seed"], row["seed"], row["split"])
            if key in accuracies:
                raise ValueError(f"{folder}: the run {key} of {method!r} is recorded twice.")
            accuracies[key] = float(row["accuracy"])
            splits.add(row["protocol_split"])
    if len(splits) > 1:
        raise ValueError(f"{folder}: records of several protocol splits {sorted(splits)}; compare one at a time.")
    return accuracies, splits.pop() if splits else None


def compare(a, b):
    """Rows of the paired difference ``b - a`` per scored split and label count, over the runs both have.

    ``verdict`` is 'tie' when the interval holds 0, else 'a ahead' or 'b ahead' (the run ahead).
    """
    rows = []
    for split, n_labels in sorted({(key[3], key[0]) for key in a}):
        keys = sorted(key for key in a if key[3] == split and key[0] == n_labels and key in b)
        if not keys:
            continue
        result = paired_difference([b[key] for key in keys], [a[key] for key in keys])
        rows.append({"split": split, "n_labels": n_labels, "mean_a": np.mean([a[key] for key in keys]),
                     "mean_b": np.mean([b[key] for key in keys]), "difference_b_minus_a": result["difference"],
                     "ci": result["ci"], "n_pairs": result["n_pairs"],
                     # paired_difference's first argument is run b here
                     "verdict": {"a ahead": "b ahead", "b ahead": "a ahead"}.get(result["verdict"],
                                                                                result["verdict"])})
    return rows


def smallest(out):
    """The smallest configuration: two records.csv of one method over the same five draws."""
    out = Path(out)
    for name, shift in (("a", 0.0), ("b", 0.02)):
        rows = [{"method": CV_ROUTE, "n_labels": 10, "train_seed": 0, "seed": seed, "protocol_split": "report",
                 "split": "rest", "accuracy": 0.7 + 0.01 * seed + shift} for seed in range(5)]
        write_csv(out / name / "records.csv", rows, provenance("(the smallest configuration's input)"))
    return [str(out / "a"), str(out / "b"), "--out", str(out / "b-vs-a.csv")]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("a", help="folder of the first run")
    arguments.add_argument("b", help="folder of the second run")
    arguments.add_argument("--method", default=CV_ROUTE, help=f"method to compare (default: {CV_ROUTE!r})")
    arguments.add_argument("--out", required=True, help="CSV to write")
    args = arguments.parse_args(argv)
    (a, split_a), (b, split_b) = read_accuracies(args.a, args.method), read_accuracies(args.b, args.method)
    if split_a != split_b:
        raise SystemExit(f"{args.a} holds the {split_a} split and {args.b} the {split_b} split: their draws differ.")
    for name, keys in ((args.a, a.keys() - b.keys()), (args.b, b.keys() - a.keys())):
        if keys:
            print(f"left out, only in {name}: {sorted(keys)}")
    rows = compare(a, b)
    if not rows:
        raise SystemExit(f"No runs of {args.method!r} common to {args.a} and {args.b}.")
    write_csv(args.out, rows, provenance(command_line(NAME, argv), protocol_split=split_a or "unknown",
                                         seeds="those of the records"))
    for row in rows:
        print(f"{row['split']:>10} {row['n_labels']:>5}: {100 * row['mean_a']:.1f} -> {100 * row['mean_b']:.1f}, "
              f"{100 * row['difference_b_minus_a']:+.1f} ± {100 * row['ci']:.1f} over {row['n_pairs']} "
              f"({row['verdict']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
