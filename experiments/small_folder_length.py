"""Training length for small folders: the 'auto' epoch caps against half of them, on development rows.

On a folder of a few thousand images the 'auto' length of the convolutional model is set by its epoch
caps (100 epochs after 50 of pretraining), not by its number of optimizer steps. This script measures
whether half the caps (50 + 25 epochs) lose accuracy, on the folder the labeling loop times: scikit-learn's
1,797 digits written as PNG files by ``benchmarks/labeling_loop.py`` and read back at 28x28 as ``skgmvae
fit`` reads them. Each length is fitted with three training seeds on every image (no labels); accuracy of
soft decoding is scored on the **development half** of the digits (``protocol_split(...,
'development')`` of ``benchmarks/_protocol.py``, mapped to the files by their digit index), with 10, 30
and 100 random labels drawn from that half (5 draws) and with the 30 images :func:`skgmvae.suggest_labels`
picks from it. Paired differences over the same seeds and draws say whether the shorter training is tied.
A decision record: the caps were kept.

Command (from the repository root)::

    python -m experiments.small_folder_length

Writes ``benchmarks/results/digits/development/small-folder-length.csv`` (every run) and
``small-folder-length-paired.csv`` (run a: the 'auto' caps, run b: half of them; ``--summarize`` rewrites it
from the former). Fit times in it are only
comparable within one run (the machine's load is not controlled here).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._protocol import RESULTS, command_line, protocol_split, provenance, read_csv, with_schema, write_csv
from benchmarks.compare_runs import compare
from benchmarks.labeling_loop import write_digits
from skgmvae import ClusterLabelDecoder, GMVAETransformer, suggest_labels
from skgmvae.datasets import load_dataset, load_image_folder
from skgmvae.evaluation import draw_labeled_rows

LENGTHS = {"auto caps (100 + 50 epochs)": {}, "half the caps (50 + 25 epochs)": {"max_epochs": 50,
                                                                                  "pretrain_epochs": 25}}
COUNTS = (10, 30, 100)


def digits_folder_rows(folder):
    """The digits written as PNG files and read back as ``skgmvae fit`` reads them.

    Returns the rows, their labels and each row's index in scikit-learn's digits (the folder is read in
    path order, not in the data set's order).
    """
    truth = write_digits(folder)
    data = load_image_folder(folder, side=28)
    index = np.array([int(Path(path).stem.removeprefix("digit")) for path in data.paths])
    return data.X, np.array([int(truth[Path(path).as_posix()]) for path in data.paths]), index


def development_rows(digit_index):
    """Rows of the folder that are in the protocol's development half of the digits."""
    candidates = protocol_split(load_dataset("digits"), "development").candidates
    return np.flatnonzero(np.isin(digit_index, candidates))


def soft_accuracy(posterior, y, labeled, scored):
    decoder = ClusterLabelDecoder(mode="soft").fit(posterior[labeled], y[labeled])
    return float(np.mean(decoder.predict(posterior[scored]) == y[scored]))


def length_comparison(records):
    """Per label setting, the paired difference half the caps minus the 'auto' caps (``compare_runs``'s rows).

    Run ``a`` is the 'auto' caps, run ``b`` half of them; ``n_labels`` holds the label setting and ``split``
    the rows scored, as in ``compare_runs`` ('rest': the development half's images not labeled).
    """
    runs = {length: {(r["labels"], str(r["train_seed"]), str(r["draw"]), "rest"): float(r["accuracy"])
                     for r in records if r["length"] == length} for length in LENGTHS}
    default, short = LENGTHS
    return compare(runs[default], runs[short])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--summarize", action="store_true",
                        help="only rewrite the paired summary from the records CSV of an earlier run")
    args = parser.parse_args(argv)
    out = RESULTS / "digits" / "development"
    run = provenance(command_line("small_folder_length", argv, suite="experiments"), protocol_split="development",
                     seeds=f"training seeds {' '.join(map(str, args.train_seeds))}; label draw seeds "
                           f"0-{args.draws - 1}")
    if args.summarize:
        records = with_schema(read_csv(out / "small-folder-length.csv"))
    else:
        records = fit_and_score(args)
        write_csv(out / "small-folder-length.csv", records, run)
    rows = length_comparison(records)
    write_csv(out / "small-folder-length-paired.csv", rows, run)
    for row in rows:
        print(f"{row['n_labels']}: {100 * row['mean_a']:.1f} (auto caps) vs {100 * row['mean_b']:.1f} (half), paired "
              f"{100 * row['difference_b_minus_a']:+.1f} ± {100 * row['ci']:.1f} over {row['n_pairs']}: "
              f"{row['verdict']}")


def fit_and_score(args):
    """Fit each length with each training seed and score soft decoding on the development half."""
    with tempfile.TemporaryDirectory() as folder:
        X, y, digit_index = digits_folder_rows(Path(folder))
    development = development_rows(digit_index)
    records = []
    for name, params in LENGTHS.items():
        for seed in args.train_seeds:
            start = time.perf_counter()
            gmvae = GMVAETransformer(k=200, random_state=seed, device="cpu", **params).fit(X)
            fit_seconds = time.perf_counter() - start
            posterior = gmvae.transform(X)
            base = {"length": name, "train_seed": seed, "epochs": gmvae.n_epochs_, "fit_seconds": round(fit_seconds)}
            for n_labels in COUNTS:
                for draw in range(args.draws):
                    labeled = development[draw_labeled_rows(len(development), n_labels, draw)]
                    scored = np.setdiff1d(development, labeled)
                    records.append({**base, "labels": f"{n_labels} random", "draw": draw,
                                    "accuracy": soft_accuracy(posterior, y, labeled, scored)})
            labeled = development[suggest_labels(gmvae, X[development], 30)]
            records.append({**base, "labels": "30 suggested", "draw": 0,
                            "accuracy": soft_accuracy(posterior, y, labeled, np.setdiff1d(development, labeled))})
            scores = [f"{r['accuracy']:.3f}" for r in records[-(len(COUNTS) * args.draws + 1):]]
            print(name, seed, f"{fit_seconds:.0f} s", scores, flush=True)
    return records


if __name__ == "__main__":
    main()
