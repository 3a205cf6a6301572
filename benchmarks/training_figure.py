"""The course of training of a benchmark's GMVAE: ELBO and components in use after each epoch.

The model comes from benchmarks/_cache (fitted and cached when absent, as by the label-efficiency
benchmark, which also draws this figure). Writes ``training.png`` into the data set's results folder.

Commands::

    python -m benchmarks.training_figure --dataset emnist-partial --data-dir ../shared/data
    python -m benchmarks.training_figure --dataset fashion-mnist
"""

import argparse
from pathlib import Path

from benchmarks.label_efficiency import RESULTS, SETTINGS, load_or_fit_gmvae
from skgmvae.datasets import load_dataset


def save_training_figure(gmvae, path, title):
    """Draw :func:`skgmvae.plotting.plot_training_history` of ``gmvae`` into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skgmvae.plotting import plot_training_history

    fig, ax = plt.subplots(figsize=(7, 3.5))
    plot_training_history(gmvae, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    args = parser.parse_args(argv)
    gmvae = load_or_fit_gmvae(args.dataset, load_dataset(SETTINGS[args.dataset]["dataset"], args.data_dir)["X_pool"])
    out = Path(args.out) if args.out else RESULTS / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    save_training_figure(gmvae, out / "training.png", f"{args.dataset}: GMVAE training (K={gmvae.k})")
    print(f"wrote {out / 'training.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
