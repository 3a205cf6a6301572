"""The course of training of a benchmark's GMVAE: ELBO and components in use after each epoch.

The model comes from benchmarks/_cache (fitted and cached when absent, as by the label-efficiency
benchmark, which also draws this figure). Writes ``training.png`` into the data set's results folder.

Commands::

    python -m benchmarks.training_figure --dataset emnist --data-dir ../shared/data
    python -m benchmarks.training_figure --dataset fashion-mnist
"""

import argparse

from benchmarks._protocol import SETTINGS, load_or_fit_gmvae, results_dir
from skgmvae.datasets import load_dataset
from skgmvae.plotting import save_training_figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    args = parser.parse_args(argv)
    gmvae, _ = load_or_fit_gmvae(args.dataset, load_dataset(args.dataset, args.data_dir)["X_pool"])
    path = results_dir(args.dataset, args.out) / "training.png"
    save_training_figure(gmvae, path, f"{args.dataset}: GMVAE training (K={gmvae.k})")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
