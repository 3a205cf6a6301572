"""The course of training of a benchmark's GMVAE: ELBO and components in use after each epoch.

The model comes from the model cache (fitted and cached when absent, as by ``label_efficiency``, which also
draws this figure). Writes ``training.png`` into the data set's results folder.

Commands::

    python -m benchmarks training_figure --dataset emnist --data-dir ../shared/data
    python -m benchmarks training_figure --dataset fashion-mnist
"""

from benchmarks._protocol import SETTINGS, load_or_fit_gmvae, model_arguments, model_params, parser, results_dir
from skgmvae.datasets import load_dataset
from skgmvae.plotting import save_training_figure

NAME = "training_figure"


def smallest(out):
    """The smallest configuration: a small digits model."""
    return ["--dataset", "digits", "--k", "5", "--max-epochs", "1", "--pretrain-epochs", "1", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    model_arguments(arguments)
    args = arguments.parse_args(argv)
    gmvae, _ = load_or_fit_gmvae(args.dataset, load_dataset(args.dataset, args.data_dir)["X_pool"], args.k,
                                 **model_params(args))
    path = results_dir(args.dataset, args.out) / "training.png"
    save_training_figure(gmvae, path, f"{args.dataset}: GMVAE training (K={gmvae.k})")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
