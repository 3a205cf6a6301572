"""Choosing K on EMNIST Letters (partial): without labels (ELBO) against with labels (CV on 291 labels).

For each K the GMVAE is fitted with the package defaults on the 19,358-image
pool. Then:

- the unsupervised criterion is the mean ELBO per image on the pool
  (``GMVAETransformer.score``), available with no label at all;
- the labeled criterion is what a user holding 291 random labels can compute:
  3-fold cross-validated accuracy of soft decoding on those 291 rows;
- the truth is the soft accuracy at 291 labels on the unlabeled rest.

Each criterion is averaged over 5 random draws of the 291 labels, drawn from the development half of the
candidates and scored on the rest of that half (``benchmarks/_protocol.py``; choosing K is a decision).
One JSON line per K is written to ``--out`` (a folder), so that several K can run as separate processes;
the run, or ``--summarize`` on the folder, turns the lines into a Markdown table and writes them as
``choose-k.csv`` beside them.

Commands::

    python -m benchmarks choose_k --data-dir ../shared/data --k 25 50 100 200 --out benchmarks/results/choose-k-dev
    python -m benchmarks choose_k --summarize benchmarks/results/choose-k-dev
"""

import json
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold, cross_val_score

from benchmarks._protocol import (
    NOT_APPLICABLE,
    add_split_argument,
    command_line,
    decoder_accuracy,
    model_params,
    parser,
    protocol_split,
    provenance,
    with_schema,
    write_csv,
)
from skgmvae import ClusterLabelDecoder, GMVAETransformer
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import draw_labeled_rows

NAME = "choose_k"
N_LABELS = 291


def labeled_cv_accuracy(Q, y, n_splits=3, seed=0):
    """Cross-validated soft-decoding accuracy using only the labeled rows."""
    cv = KFold(n_splits, shuffle=True, random_state=seed)
    return float(cross_val_score(ClusterLabelDecoder(), Q, y, cv=cv).mean())


def evaluate_k(k, X, y, candidates, device, n_seeds=5, draw_seed=0, split="development", **params):
    """One K: the ELBO, the labeled cross-validation and the accuracy on the rest, as one JSON-able dict."""
    start = time.perf_counter()
    gmvae = GMVAETransformer(k=k, random_state=0, device=device, **params).fit(X)
    seconds = time.perf_counter() - start
    Q = gmvae.transform(X[candidates])
    y_candidates = y[candidates]
    accuracy, cv_accuracy = [], []
    for seed in range(n_seeds):
        labeled = draw_labeled_rows(len(candidates), N_LABELS, draw_seed + seed)
        accuracy.append(decoder_accuracy(Q, y_candidates, labeled))
        cv_accuracy.append(labeled_cv_accuracy(Q[labeled], y_candidates[labeled], seed=seed))
    return {"k": k, "protocol_split": split, "elbo": gmvae.score(X), "cv_accuracy_291": float(np.mean(cv_accuracy)),
            "accuracy_291": float(np.mean(accuracy)), "fit_seconds": seconds,
            "components_used": gmvae.n_components_used_}


def summarize(folder, run):
    """The Markdown table of the JSON lines in ``folder``; also writes them as ``choose-k.csv`` there.

    Each line keeps the provenance of the run that measured it; lines written before the schema get
    'unknown' in its fields.
    """
    rows = sorted((json.loads(line) for path in Path(folder).glob("k*.json") for line in path.read_text().splitlines()),
                  key=lambda row: row["k"])
    write_csv(Path(folder) / "choose-k.csv",
              with_schema([{"protocol_split": row.get("protocol_split", "(before the split)"),
                            **{key: value for key, value in row.items() if key != "protocol_split"}}
                           for row in rows]), run)
    pick_elbo = max(rows, key=lambda row: row["elbo"])["k"]
    pick_cv = max(rows, key=lambda row: row["cv_accuracy_291"])["k"]
    best = max(rows, key=lambda row: row["accuracy_291"])["k"]
    lines = ["| K | mean ELBO per image (no labels) | 3-fold CV accuracy on the 291 labeled rows | "
             "soft accuracy at 291 labels on the rest | components used | fit |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['k']} | {row['elbo']:.1f} | {100 * row['cv_accuracy_291']:.1f}% | "
                     f"{100 * row['accuracy_291']:.1f}% | {row['components_used']:.0f} | {row['fit_seconds']:.0f} s |")
    lines += ["", f"Without labels (highest ELBO) the choice is **K={pick_elbo}**; with the 291 labels (best "
              f"cross-validated accuracy) it is **K={pick_cv}**; the K with the best accuracy on the rest is "
              f"K={best}."]
    return "\n".join(lines)


def smallest(out):
    """The smallest configuration: digits, two small K, one epoch."""
    return ["--dataset", "digits", "--k", "4", "8", "--max-epochs", "1", "--pretrain-epochs", "1", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--dataset", choices=["emnist", "digits"], default="emnist",
                           help="emnist (default) or digits for a smoke run")
    arguments.add_argument("--k", type=int, nargs="+", default=[25, 50, 100, 200])
    arguments.add_argument("--device", default="auto")
    arguments.add_argument("--out", default="benchmarks/results/choose-k-dev")
    add_split_argument(arguments, "development")
    arguments.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (smoke runs)")
    arguments.add_argument("--pretrain-epochs", type=int, default=None, help="pretraining epochs (smoke runs)")
    arguments.add_argument("--summarize", default=None, help="folder of JSON lines to turn into a table")
    args = arguments.parse_args(argv)
    if args.summarize:
        print(summarize(args.summarize, provenance(command_line(NAME, argv), protocol_split=NOT_APPLICABLE)))
        return 0
    data = load_dataset(args.dataset, args.data_dir)
    part = protocol_split(data, args.split)
    params = model_params(args)
    run = provenance(command_line(NAME, argv), protocol_split=args.split,
                     seeds=f"training seed 0; label draw seeds {part.draw_seed}-{part.draw_seed + 4}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for k in args.k:
        row = {**evaluate_k(k, data["X_pool"], data["y_pool"], part.candidates, args.device,
                            draw_seed=part.draw_seed, split=args.split, **params),
               **{name: value for name, value in run.items() if name != "protocol_split"}}
        (out / f"k{k}.json").write_text(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    print(summarize(out, run))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
