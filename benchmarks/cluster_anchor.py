"""An outside anchor for the clusters: clustering accuracy with K = the number of classes.

The label-efficiency tables compare the GMVAE with stock classifiers run here; this script puts its
clusters beside figures published by others. The GMVAE (package defaults but ``k`` = the number of
classes) is fitted on the unlabeled pool; each image goes to its most probable component, and the
components are matched one to one with the classes by the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment` on the cluster-class counts), the usual clustering
accuracy of the deep-clustering literature; NMI beside it. The labels are used only to score. The same is
measured for a :class:`~skgmvae.UMAPMixture` with K clusters on the unit-length codes (the N2D recipe)
when umap-learn is installed.

Scored on every image of the data set (Fashion-MNIST: the 60,000 training images the GMVAE trained on
and the 10,000 test images, 70,000 in all, as the published figures count them; digits: the 1,797 images).
Writes ``benchmarks/results/cluster-anchor/<dataset>.csv`` (one row per training seed and clustering)
and ``published.csv`` (the published figures, each with its source: authors, year, where in the source).

Commands::

    python -m benchmarks cluster_anchor --dataset fashion-mnist --train-seeds 0 1 2
    python -m benchmarks cluster_anchor --dataset digits --max-epochs 5   # a quick run
"""

import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score
from sklearn.preprocessing import normalize

from benchmarks._protocol import RESULTS, command_line, model_arguments, model_params, parser, provenance, write_csv
from skgmvae import GMVAETransformer
from skgmvae.datasets import load_dataset

NAME = "cluster_anchor"
OUT = RESULTS / "cluster-anchor"

# Figures stated in a source, with that source; only Fashion-MNIST (all 70,000 images unless the source
# says otherwise). Accuracy and NMI as fractions.
PUBLISHED = [
    {"dataset": "fashion-mnist", "method": "k-means on pixels", "accuracy": 0.47, "nmi": 0.51,
     "source": "X. Guo, DEC-keras (github.com/XifengGuo/DEC-keras), README, 'Results', Table 1, 2018",
     "note": "mean of 10 trials; two-digit percentages"},
    {"dataset": "fashion-mnist", "method": "autoencoder + k-means", "accuracy": 0.61, "nmi": 0.64,
     "source": "X. Guo, DEC-keras (github.com/XifengGuo/DEC-keras), README, 'Results', Table 1, 2018",
     "note": "mean of 10 trials; two-digit percentages"},
    {"dataset": "fashion-mnist", "method": "DEC", "accuracy": 0.62, "nmi": 0.65,
     "source": "X. Guo, DEC-keras (github.com/XifengGuo/DEC-keras), README, 'Results', Table 1, 2018",
     "note": "mean of 10 trials of the Keras reimplementation of DEC (Xie et al., ICML 2016)"},
    {"dataset": "fashion-mnist", "method": "DEC", "accuracy": 0.6525, "nmi": 0.6054,
     "source": "Representation Learning Based on Autoencoder and Deep Adaptive Clustering for Image Clustering, "
               "Mathematical Problems in Engineering, 2021, article 3742536, Table 2",
     "note": "that table says most of its figures are excerpted from other papers; some of its other rows repeat "
             "figures of its CIFAR-10 columns, so read it with care"},
    {"dataset": "fashion-mnist", "method": "JULE", "accuracy": 0.4778, "nmi": 0.4379,
     "source": "Mathematical Problems in Engineering, 2021, article 3742536, Table 2",
     "note": "as the DEC row of the same table"},
    {"dataset": "fashion-mnist", "method": "DAC", "accuracy": 0.7052, "nmi": 0.6538,
     "source": "Mathematical Problems in Engineering, 2021, article 3742536, Table 2",
     "note": "as the DEC row of the same table"},
    {"dataset": "fashion-mnist", "method": "N2D (autoencoder, UMAP, Gaussian mixture)", "accuracy": 0.672,
     "nmi": 0.684,
     "source": "R. McConville, R. Santos-Rodriguez, R. J. Piechocki, I. Craddock, N2D: (Not Too) Deep Clustering "
               "via Clustering the Local Manifold of an Autoencoded Embedding, arXiv:1908.05968, 2019; figures as "
               "listed for that paper by Papers with Code (Image Clustering, Fashion-MNIST)",
     "note": "the recipe UMAPMixture follows on the GMVAE's codes"},
    {"dataset": "fashion-mnist", "method": "GMVAE (Dilokthanakul et al., 2016)", "accuracy": 0.3010, "nmi": 0.2568,
     "source": "Mathematical Problems in Engineering, 2021, article 3742536, Table 2",
     "note": "as the DEC row of the same table; the same figures appear in its CILR row"},
]


def cluster_accuracy(y, clusters):
    """Accuracy of the best one-to-one matching of clusters to classes (Hungarian algorithm).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        True classes.
    clusters : ndarray of shape (n_samples,)
        Cluster of each row.

    Returns
    -------
    float
        Share of rows whose cluster is matched to their class; clusters left unmatched (more clusters
        than classes) count as wrong.

    Examples
    --------
    >>> import numpy as np
    >>> from benchmarks.cluster_anchor import cluster_accuracy
    >>> cluster_accuracy(np.array([0, 0, 1, 1, 2]), np.array([5, 5, 3, 3, 3]))
    0.8
    """
    classes, y_codes = np.unique(y, return_inverse=True)
    names, cluster_codes = np.unique(clusters, return_inverse=True)
    counts = np.zeros((len(names), len(classes)), dtype=np.int64)
    np.add.at(counts, (cluster_codes, y_codes), 1)
    rows, columns = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, columns].sum() / len(y))


def score(name, clusters, y, extra):
    return {"clustering": name, **extra, "n_images": len(y), "accuracy": cluster_accuracy(y, clusters),
            "nmi": float(normalized_mutual_info_score(y, clusters))}


def smallest(out):
    """The smallest configuration: digits, one epoch of training."""
    return ["--dataset", "digits", "--max-epochs", "1", "--pretrain-epochs", "1", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=["digits", "fashion-mnist"], required=True)
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--train-seeds", type=int, nargs="+", default=[0])
    model_arguments(arguments, k=False)
    arguments.add_argument("--device", default="auto")
    arguments.add_argument("--out", default=str(OUT))
    args = arguments.parse_args(argv)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    X, y = data["X_pool"], data["y_pool"]
    X_all = X if data["X_test"] is None else np.concatenate([X, data["X_test"]])
    y_all = y if data["y_test"] is None else np.concatenate([y, data["y_test"]])
    n_classes = len(np.unique(y))
    params = model_params(args)
    rows = []
    for train_seed in args.train_seeds:
        start = time.perf_counter()
        gmvae = GMVAETransformer(k=n_classes, random_state=train_seed, device=args.device, **params).fit(X)
        fit_seconds = time.perf_counter() - start
        both = gmvae.set_params(output="posterior_and_latent").transform(X_all)
        extra = {"dataset": args.dataset, "train_seed": train_seed, "k": n_classes,
                 "fit_seconds": round(fit_seconds, 1), "n_epochs": gmvae.n_epochs_,
                 "settings": ", ".join(f"{name}={value}" for name, value in params.items()) or "package defaults"}
        rows.append(score("GMVAE, most probable component", both[:, :n_classes].argmax(axis=1), y_all, extra))
        try:
            from skgmvae import UMAPMixture

            mixture = UMAPMixture(n_classes, random_state=train_seed)
            # Fitted on the training codes only, as the GMVAE; the test images are placed by transform.
            codes = normalize(both[:, n_classes:])
            mixture.fit(codes[:len(X)])
            rows.append(score(f"GMVAE codes + UMAPMixture(k={n_classes})", mixture.transform(codes).argmax(axis=1),
                              y_all, extra))
        except ImportError:
            print("umap-learn is not installed: the UMAPMixture row is left out")
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = provenance(command_line(NAME, argv), seeds="training seeds " + " ".join(map(str, args.train_seeds)))
    write_csv(out / f"{args.dataset}.csv", rows, run)
    write_csv(out / "published.csv", PUBLISHED, {**run, "seeds": "none (published figures)"})
    for row in rows:
        print(f"{row['clustering']} (seed {row['train_seed']}): accuracy {100 * row['accuracy']:.1f}%, "
              f"NMI {row['nmi']:.3f} on {row['n_images']} images")
    print(f"wrote {out / (args.dataset + '.csv')} and {out / 'published.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
