"""Paired differences and ties of a ``records.csv``: writes ``paired.csv`` and ``ties.csv`` beside it.

``label_efficiency`` writes both itself; this rewrites them from the records alone (after records of
several runs were joined, say). Records written before the protocol split (no ``train_seed`` or
``protocol_split`` column) are read as training seed 0 and protocol split ``'(before the split)'``.

Command (from the repository root)::

    python -m benchmarks summarize benchmarks/results/emnist-partial/records.csv
"""

import csv
from pathlib import Path

from benchmarks._protocol import NOT_APPLICABLE, command_line, parser, provenance, write_csv
from benchmarks._stats import paired_rows, summarize_over_seeds, ties_with_best

NAME = "summarize"


def read_records(path):
    """The accuracy records of a ``records.csv``, typed."""
    with open(path, newline="") as handle:
        return [{**row, "n_labels": int(row["n_labels"]), "seed": int(row["seed"]),
                 "accuracy": float(row["accuracy"]), "train_seed": int(row.get("train_seed") or 0),
                 "protocol_split": row.get("protocol_split") or "(before the split)"}
                for row in csv.DictReader(handle)]


def smallest(out):
    """The smallest configuration: a records.csv of two methods, three draws."""
    path = Path(out) / "records.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"method": method, "n_labels": 10, "train_seed": 0, "seed": seed, "protocol_split": "report",
             "split": "rest", "accuracy": accuracy + 0.01 * seed}
            for method, accuracy in (("a", 0.8), ("b", 0.6)) for seed in range(3)]
    write_csv(path, rows, provenance("(the smallest configuration's input)"))
    return [str(path)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("records", help="a records.csv of label_efficiency")
    args = arguments.parse_args(argv)
    path = Path(args.records)
    records = read_records(path)
    summary, paired = summarize_over_seeds(records), paired_rows(records)
    splits = sorted({row["protocol_split"] for row in records})
    run = provenance(command_line(NAME, argv), protocol_split=" ".join(splits) or NOT_APPLICABLE,
                     seeds="those of the records")
    write_csv(path.parent / "paired.csv", paired, run)
    write_csv(path.parent / "ties.csv", ties_with_best(summary, paired), run)
    print(f"wrote {path.parent / 'paired.csv'} and {path.parent / 'ties.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
