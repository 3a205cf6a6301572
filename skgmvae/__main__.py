"""The main job: label efficiency of the GMVAE against stock classifiers.

Run ``python -m skgmvae`` (or the ``skgmvae`` console script). By default it
uses scikit-learn's digits, which are always there: it trains the GMVAE on
all images without labels, then for several numbers of random labels prints
the accuracy on the unlabeled rest of soft and hard decoding,
LabelSpreading (the strongest stock rival on digits), LogisticRegression and
XGBoost, all fitted on the same labeled rows.
"""

import argparse
import platform
import sys
import time

import numpy as np

from . import ClusterLabelDecoder, GMVAETransformer, LabeledOnlyClassifier
from .cli import COMMAND_HELP, COMMANDS
from .cli import main as loop_main
from .datasets import DATASET_NAMES, load_dataset
from .evaluation import format_table, label_efficiency, summarize
from .plotting import save_label_efficiency_figure

DEFAULT_COUNTS = {"digits": [10, 30, 100, 300], "emnist": [26, 73, 291, 1000], "fashion-mnist": [10, 100, 1000]}


def build_parser():
    loop = "\n".join(f"  {name:<9} {summary}" for name, summary in COMMAND_HELP.items())
    parser = argparse.ArgumentParser(
        prog="skgmvae", usage="skgmvae [options]  (the main job)\n       skgmvae COMMAND ...  (the labeling loop)",
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"the labeling loop, to label a folder of your own images (skgmvae COMMAND --help for each):\n"
               f"{loop}\n\nexample:\n  skgmvae fit scans/ --out model.pt\n"
               "  skgmvae suggest model.pt scans/ -n 100 --out to_label.csv\n"
               "  skgmvae label scans/ --labels to_label.csv --model model.pt\n"
               "  skgmvae predict model.pt scans/ --labels to_label.csv --out predictions.csv",
    )
    parser.add_argument("--dataset", choices=DATASET_NAMES, default="digits",
                        help="data set to run on (default: digits, which ships with scikit-learn)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the data set files (default: $SKGMVAE_DATA or ../shared/data)")
    parser.add_argument("--k", type=int, default=None,
                        help="number of mixture components (default: the estimator's, 200)")
    parser.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (default: the estimator's)")
    parser.add_argument("--labels", type=int, nargs="+", default=None, help="numbers of random labels")
    parser.add_argument("--seeds", type=int, default=3, help="random label draws per count")
    parser.add_argument("--figure", default=None,
                        help="PNG file for the accuracy curve (default: skgmvae-<dataset>.png here; 'none' for none)")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu or cuda")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--csv", default=None,
                        help="CSV file for the table's figures (one row per method and number of labels)")
    return parser


def default_methods(random_state=0):
    """The methods the main job compares, each with the name of the features it reads."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import LabelSpreading
    from xgboost import XGBClassifier

    return {
        "GMVAE soft": (ClusterLabelDecoder(mode="soft"), "posterior"),
        "GMVAE hard": (ClusterLabelDecoder(mode="hard"), "posterior"),
        "LabelSpreading (knn)": (LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100), "pixels"),
        "LogisticRegression": (LabeledOnlyClassifier(LogisticRegression(max_iter=1000)), "pixels"),
        "XGBoost": (LabeledOnlyClassifier(XGBClassifier(n_estimators=100, random_state=random_state,
                                                        n_jobs=2, verbosity=0)), "pixels"),
    }


def _write_summary(path, summary, gmvae, argv):
    """The table's rows as CSV, with what made them (k, the command line)."""
    import csv
    import io

    from ._io import write_atomic

    command = " ".join(["python -m skgmvae", *argv])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["split", "method", "n_labels", "mean", "ci", "n_seeds", "k",
                                                "command"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "k": gmvae.spec_.k, "command": command} for row in summary)
    write_atomic(path, buffer.getvalue(), force=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        return loop_main(argv)
    args = build_parser().parse_args(argv)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    X, y = data["X_pool"], data["y_pool"]
    print(f"{args.dataset}: {X.shape[0]} images of {X.shape[1]} pixels, {len(np.unique(y))} classes; "
          f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}")

    params = {"random_state": args.random_state, "device": args.device, "verbose": True}
    if args.k is not None:
        params["k"] = args.k
    if args.max_epochs is not None:
        params["max_epochs"] = args.max_epochs
    gmvae = GMVAETransformer(**params)
    start = time.perf_counter()
    gmvae.fit(X)
    fit_seconds = time.perf_counter() - start
    k = gmvae.spec_.k
    print(f"GMVAE (k={k}) trained without labels in {fit_seconds:.0f} s: {gmvae.n_epochs_} epochs, "
          f"final ELBO {gmvae.history_[-1]['elbo']:.1f} nats per image, "
          f"{gmvae.n_components_used_:.0f} of {k} components in effective use.")

    candidates = data["label_candidates"]
    features = {"posterior": gmvae.transform(X[candidates]), "pixels": X[candidates]}
    counts = args.labels or DEFAULT_COUNTS[args.dataset]
    records = label_efficiency(features, y[candidates], default_methods(args.random_state), counts,
                               n_seeds=args.seeds, random_state=args.random_state, verbose=True)
    summary = summarize(records)
    print(f"\nAccuracy (%) on the unlabeled rest, mean ± 95% CI over {args.seeds} random label draws:\n")
    print(format_table(summary))
    if args.csv:
        _write_summary(args.csv, summary, gmvae, argv)
        print(f"\nTable written to {args.csv}")
    figure = args.figure or f"skgmvae-{args.dataset}.png"
    if figure.lower() != "none":
        save_label_efficiency_figure(summary, figure, f"{args.dataset}: accuracy vs number of labels")
        print(f"\nFigure saved to {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
