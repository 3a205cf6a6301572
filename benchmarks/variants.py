"""Compare GMVAETransformer settings on EMNIST Letters (partial), as in the model-quality work.

Each variant is a JSON object of GMVAETransformer parameters; the script fits
it once on the 19,358-image pool and prints one Markdown row: soft / hard
accuracy at 73, 291 and 1000 random labels (mean of ``--seeds`` draws, on the
unlabeled rest of the 8,879 train-sample images), fit time and components in
use.

Example::

    python -m benchmarks.variants --data-dir ../shared/data \\
        '{"max_epochs": 30}' '{"max_epochs": 30, "augment": true}'
"""

import argparse
import json
import time

import numpy as np

from skgmvae import ClusterLabelDecoder, GMVAETransformer
from skgmvae.datasets import load_dataset

COUNTS = (73, 291, 1000)


def evaluate(Q, y, counts=COUNTS, n_seeds=3):
    """Mean soft and hard accuracy on the unlabeled rest for each count of random labels."""
    scores = {}
    for n_labels in counts:
        for mode in ("soft", "hard"):
            accuracies = []
            for seed in range(n_seeds):
                labeled = np.random.RandomState(seed).choice(len(y), n_labels, replace=False)
                rest = np.setdiff1d(np.arange(len(y)), labeled)
                decoder = ClusterLabelDecoder(mode=mode).fit(Q[labeled], y[labeled])
                accuracies.append(decoder.score(Q[rest], y[rest]))
            scores[(mode, n_labels)] = 100 * float(np.mean(accuracies))
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", help="JSON objects of GMVAETransformer parameters")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    data = load_dataset("emnist", args.data_dir)
    X, y, candidates = data["X_pool"], data["y_pool"], data["label_candidates"]
    for text in args.variants:
        params = json.loads(text)
        start = time.perf_counter()
        gmvae = GMVAETransformer(**{"random_state": 0, "device": args.device, **params}).fit(X)
        seconds = time.perf_counter() - start
        scores = evaluate(gmvae.transform(X[candidates]), y[candidates], n_seeds=args.seeds)
        cells = " | ".join(f"{scores[('soft', n)]:.1f} / {scores[('hard', n)]:.1f}" for n in COUNTS)
        print(f"| `{json.dumps(params)}` | {cells} | {seconds:.0f} s | {gmvae.n_components_used_:.0f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
