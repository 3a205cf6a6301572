"""Which classifier to put after the GMVAE's latent features, and how pure its clusters are.

Reads the cached package-default model of the data set (the model cache,
fitted first when absent), then scores classifiers on three encodings of the
same model at the benchmark's label counts (mean of ``--seeds`` draws), on the
development split of ``benchmarks/_protocol.py`` by default (a choice between
classifiers is a decision: it is never made on the report rows):

- ``latent``: means of q(z|x), standardised (what ``output='latent'`` gives,
  then a StandardScaler);
- ``latent-l2``: the same means scaled to unit length, the geometry the
  contrastive term trains (it compares codes by their cosine);
- ``both``: q(c|x) beside the standardised means (``output='posterior_and_latent'``).

It also prints the purity of the clusters on the split's rows: the share of
images whose argmax component's majority label is their own label.
``--out`` writes ``latent-pipelines.csv`` (every run, with the split) and
``latent-pipelines-summary.csv`` there.

Example::

    python -m benchmarks latent_pipelines --dataset emnist --out benchmarks/results/emnist-partial/development
"""

import copy
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC

from benchmarks._protocol import (
    SETTINGS,
    add_split_argument,
    command_line,
    load_or_fit_gmvae,
    model_arguments,
    model_params,
    parser,
    protocol_split,
    provenance,
    write_csv,
)
from benchmarks._stats import cluster_purity
from skgmvae import ClusterLabelDecoder, GMVAETransformer, LabeledOnlyClassifier
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import format_table, label_efficiency, summarize

NAME = "latent_pipelines"

# UMAPMixture settings re-checked on the development split: the default and one change of each setting.
UMAP_SETTINGS = {
    "UMAPMixture": {},
    "UMAPMixture(embedding_dim=5)": {"embedding_dim": 5},
    "UMAPMixture(embedding_dim=20)": {"embedding_dim": 20},
    "UMAPMixture(n_neighbors=50)": {"n_neighbors": 50},
}


def umap_posteriors(gmvae, X_pool, candidates, settings):
    """Each UMAPMixture's posterior of the candidates, fitted on the whole pool's unit codes (no labels)."""
    from skgmvae import UMAPMixture

    codes = Normalizer().transform(copy.deepcopy(gmvae).set_params(output="latent").transform(X_pool))
    return {name: UMAPMixture(random_state=0, **params).fit_transform(codes)[candidates]
            for name, params in settings.items()}


def encodings(gmvae, X_candidates):
    """Functions from rows to each encoding, with the scalers fitted on the candidates."""
    both_model = copy.deepcopy(gmvae).set_params(output="posterior_and_latent")  # one encoder pass for both outputs
    k = gmvae.spec_.k
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
            f"{encoding} + SVC(C=10)": (LabeledOnlyClassifier(SVC(C=10)), encoding),
            f"{encoding} + LogisticRegression": (LabeledOnlyClassifier(LogisticRegression(max_iter=2000)),
                                                 encoding),
            f"{encoding} + kNN(5, distance)": (LabeledOnlyClassifier(KNeighborsClassifier(5, weights="distance")),
                                               encoding),
        }
    methods["both + LabelSpreading(10)"] = (LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100), "both")
    for name in UMAP_SETTINGS:
        methods[f"{name} soft"] = (ClusterLabelDecoder(mode="soft"), name)
    if selected:
        methods = {name: method for name, method in methods.items() if name in selected or name == "soft"}
    return methods


def smallest(out):
    """The smallest configuration: a small digits model, two methods besides soft decoding, one count."""
    return ["--dataset", "digits", "--k", "6", "--max-epochs", "1", "--pretrain-epochs", "1", "--seeds", "2",
            "--labels", "30", "--methods", "latent-l2 + SVC", "latent + LabelSpreading(10)", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", choices=sorted(SETTINGS), default="emnist")
    arguments.add_argument("--data-dir", default=None)
    add_split_argument(arguments, "development")
    arguments.add_argument("--seeds", type=int, default=3, help="random label draws per count (default: 3)")
    arguments.add_argument("--labels", type=int, nargs="*", help="label counts (default: the benchmark's)")
    arguments.add_argument("--methods", nargs="*", help="method names to run (default: all)")
    arguments.add_argument("--model", help="a saved GMVAETransformer to read instead of the cached default")
    arguments.add_argument("--out", default=None, help="folder for latent-pipelines.csv and its summary")
    model_arguments(arguments)
    args = arguments.parse_args(argv)
    data = load_dataset(args.dataset, args.data_dir)
    part = protocol_split(data, args.split)
    X, y = data["X_pool"], data["y_pool"]
    candidates = part.candidates
    gmvae = (GMVAETransformer.load(args.model) if args.model
             else load_or_fit_gmvae(args.dataset, X, args.k, **model_params(args))[0])
    features_of = encodings(gmvae, X[candidates])
    features = features_of(X[candidates])
    umap_names = [name for name in UMAP_SETTINGS if args.methods is None or f"{name} soft" in args.methods]
    features.update(umap_posteriors(gmvae, X, candidates, {name: UMAP_SETTINGS[name] for name in umap_names}))
    test_features = None if part.X_test is None else features_of(part.X_test)
    if test_features is not None and umap_names:
        raise SystemExit("the UMAPMixture rows need the pool to hold the scored rows (EMNIST's split); pass "
                         "--methods without them for Fashion-MNIST's held-out validation rows.")
    purity_rows, purity_labels = features["posterior"], y[candidates]
    if test_features is not None:
        purity_rows = np.vstack([purity_rows, test_features["posterior"]])
        purity_labels = np.concatenate([purity_labels, part.y_test])
    purity = 100 * cluster_purity(purity_rows, purity_labels)
    print(f"cluster purity ({len(purity_labels)} labeled images, {args.split} split): {purity:.1f}%")
    counts = args.labels or SETTINGS[args.dataset]["counts"]
    records = label_efficiency(features, y[candidates], build_methods(args.methods), counts, n_seeds=args.seeds,
                               test_features=test_features, y_test=part.y_test, random_state=part.draw_seed,
                               verbose=True)
    scored_on = part.held_out or "rest"
    records = [{**row, "protocol_split": args.split, "split": scored_on if row["split"] == "test" else row["split"]}
               for row in records]
    summary = summarize(records)
    print(format_table(summary, split=scored_on))
    if args.out:
        out = Path(args.out)
        run = provenance(command_line(NAME, argv), protocol_split=args.split,
                         seeds=f"training seed 0; label draw seeds {part.draw_seed}-{part.draw_seed + args.seeds - 1}")
        write_csv(out / "latent-pipelines.csv", records, run)
        write_csv(out / "latent-pipelines-summary.csv", [{**row, "protocol_split": args.split} for row in summary], run)
        print(f"wrote {out / 'latent-pipelines.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
