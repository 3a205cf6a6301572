"""Which classifier to put after the GMVAE's latent features, and how pure its clusters are.

Reads the cached package-default model of the data set (``benchmarks/_cache``,
fitted first when absent), then scores classifiers on three encodings of the
same model at the benchmark's label counts (mean of ``--seeds`` draws, as the
label-efficiency benchmark draws them):

- ``latent``: means of q(z|x), standardised (what ``output='latent'`` gives,
  then a StandardScaler);
- ``latent-l2``: the same means scaled to unit length, the geometry the
  contrastive term trains (it compares codes by their cosine);
- ``both``: q(c|x) beside the standardised means (``output='both'``).

It also prints the purity of the clusters: the share of images whose argmax
component's majority label (over every labeled image) is their own label.

Example::

    python -m benchmarks.latent_pipelines --dataset emnist
"""

import argparse
import copy

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC

from benchmarks._protocol import SETTINGS, load_or_fit_gmvae
from skgmvae import ClusterLabelDecoder, GMVAETransformer, LabeledOnlyClassifier
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import format_table, label_efficiency, summarize


def cluster_purity(Q, y):
    """Share of rows whose argmax component's majority label is their own label."""
    assigned = Q.argmax(axis=1)
    correct = 0
    for component in np.unique(assigned):
        _, counts = np.unique(y[assigned == component], return_counts=True)
        correct += counts.max()
    return correct / len(y)


def encodings(gmvae, X_candidates):
    """Functions from rows to each encoding, with the scalers fitted on the candidates."""
    both_model = copy.deepcopy(gmvae).set_params(output="both")  # one encoder pass for both outputs
    k = gmvae.k
    scaler = StandardScaler().fit(both_model.transform(X_candidates)[:, k:])
    normalizer = Normalizer()

    def features_of(rows):
        both = both_model.transform(rows)
        posterior, latent = both[:, :k], both[:, k:]
        standardized = scaler.transform(latent)
        return {"posterior": posterior, "latent": standardized, "latent-l2": normalizer.transform(latent),
                "both": np.hstack([posterior, standardized])}

    return features_of


def build_methods(selected=None):
    """Each candidate's estimator and the encoding it reads."""
    methods = {"soft": (ClusterLabelDecoder(mode="soft"), "posterior")}
    for encoding in ("latent", "latent-l2"):
        methods |= {
            f"{encoding} + LabelSpreading(10)": (LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100),
                                                 encoding),
            f"{encoding} + LabelSpreading(20)": (LabelSpreading(kernel="knn", n_neighbors=20, max_iter=100),
                                                 encoding),
            f"{encoding} + SVC": (LabeledOnlyClassifier(SVC()), encoding),
            f"{encoding} + LogisticRegression": (LabeledOnlyClassifier(LogisticRegression(max_iter=2000)),
                                                 encoding),
            f"{encoding} + kNN(5, distance)": (LabeledOnlyClassifier(KNeighborsClassifier(5, weights="distance")),
                                               encoding),
        }
    methods["both + LabelSpreading(10)"] = (LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100), "both")
    if selected:
        methods = {name: method for name, method in methods.items() if name in selected or name == "soft"}
    return methods


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), default="emnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--labels", type=int, nargs="*", help="label counts (default: the benchmark's)")
    parser.add_argument("--methods", nargs="*", help="method names to run (default: all)")
    parser.add_argument("--model", help="a saved GMVAETransformer to read instead of the cached default")
    args = parser.parse_args(argv)
    data = load_dataset(args.dataset, args.data_dir)
    X, y, candidates = data["X_pool"], data["y_pool"], data["label_candidates"]
    gmvae = GMVAETransformer.load(args.model) if args.model else load_or_fit_gmvae(args.dataset, X)[0]
    features_of = encodings(gmvae, X[candidates])
    features = features_of(X[candidates])
    test = data["X_test"]
    test_features = None if test is None else features_of(test)
    purity_rows, purity_labels = features["posterior"], y[candidates]
    if test is not None:
        purity_rows = np.vstack([purity_rows, test_features["posterior"]])
        purity_labels = np.concatenate([purity_labels, data["y_test"]])
    purity = 100 * cluster_purity(purity_rows, purity_labels)
    print(f"cluster purity ({len(purity_labels)} labeled images): {purity:.1f}%")
    counts = args.labels or SETTINGS[args.dataset]["counts"]
    records = label_efficiency(features, y[candidates], build_methods(args.methods), counts, n_seeds=args.seeds,
                               test_features=test_features, y_test=data["y_test"], verbose=True)
    print(format_table(summarize(records), split="rest" if test is None else "test"))


if __name__ == "__main__":
    main()
