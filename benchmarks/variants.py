"""Compare GMVAETransformer settings, as in the model-quality work.

Each variant is a JSON object of GMVAETransformer parameters; the script fits
it once on the data set's unlabeled pool and prints one Markdown row: soft /
hard accuracy at each count of random labels (mean of ``--seeds`` draws), fit
time and components in use.

- ``--dataset emnist`` (partial copy): fit on the 19,358-image pool, labels at
  73, 291 and 1000 drawn from the 8,879 train-sample images, accuracy on the
  rest of them.
- ``--dataset fashion-mnist``: fit on the 60,000 training images, labels at
  10, 30, 100, 300 and 1000 drawn from them, accuracy on the 10,000 test images.

Example::

    python -m benchmarks.variants --data-dir ../shared/data \\
        '{"max_epochs": 30}' '{"max_epochs": 30, "augment": true}'
"""

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks._protocol import accuracy_over_draws
from skgmvae import GMVAETransformer
from skgmvae.datasets import load_dataset

COUNTS = {"emnist": (73, 291, 1000), "fashion-mnist": (10, 30, 100, 300, 1000)}


def evaluate(Q, y, counts, n_seeds=3, Q_test=None, y_test=None):
    """Mean soft and hard accuracy for each count of random labels drawn from the rows of ``Q``.

    Accuracy is measured on ``Q_test`` when given, else on the rows not drawn.
    """
    scores = {}
    for n_labels in counts:
        for mode in ("soft", "hard"):
            scores[(mode, n_labels)] = 100 * accuracy_over_draws(Q, y, n_labels, n_seeds, mode, Q_test, y_test).mean()
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="JSON objects of GMVAETransformer parameters")
    parser.add_argument("--dataset", choices=sorted(COUNTS), default="emnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save-dir", default=None, help="folder to save each fitted model in (variant-<i>.pt)")
    args = parser.parse_args(argv)
    data = load_dataset(args.dataset, args.data_dir)
    X, y, candidates = data["X_pool"], data["y_pool"], data["label_candidates"]
    counts = COUNTS[args.dataset]
    for text in args.variants:
        params = json.loads(text)
        start = time.perf_counter()
        gmvae = GMVAETransformer(**{"random_state": 0, "device": args.device, **params}).fit(X)
        seconds = time.perf_counter() - start
        if args.save_dir:
            Path(args.save_dir).mkdir(parents=True, exist_ok=True)
            gmvae.save(Path(args.save_dir) / f"variant-{args.variants.index(text)}.pt")
        Q_test = gmvae.transform(data["X_test"]) if data["X_test"] is not None else None
        scores = evaluate(gmvae.transform(X[candidates]), y[candidates], counts, args.seeds,
                          Q_test, data["y_test"])
        cells = " | ".join(f"{scores[('soft', n)]:.1f} / {scores[('hard', n)]:.1f}" for n in counts)
        trace = ", ".join(f"{entry['components_used']:.0f}/{entry['components_moved']}" for entry in gmvae.history_)
        print(f"components used / moved after each epoch: {trace}", file=sys.stderr, flush=True)
        print(f"| `{json.dumps(params)}` | {cells} | {seconds:.0f} s | {gmvae.n_components_used_:.0f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
