"""Label-efficiency benchmark with the GMVAE article's protocol.

Train the GMVAE once on the unlabeled pool with the package's defaults; for
each number of labels and each seed, draw the labeled rows uniformly at
random from the label candidates, fit every method on exactly those rows, and
measure accuracy on the rest (and on the held-out test set where there is
one). Besides soft and hard decoding, the GMVAE's latent means feed stock
semi-supervised and supervised classifiers (``output='latent'`` scaled to
unit length, the recommended pipelines for larger label budgets). Results go to
``benchmarks/results/<dataset>/``: ``records.csv`` (every run),
``summary.csv``, ``results.md`` (tables, timings, machine), ``accuracy.png``
and ``training.png``.

Commands (from the repository root)::

    python -m benchmarks.label_efficiency --dataset emnist
    python -m benchmarks.label_efficiency --dataset fashion-mnist
    python -m benchmarks.label_efficiency --dataset digits

``--data-dir`` (or ``SKGMVAE_DATA``) points at the data; by default
``../shared/data`` for EMNIST and ``/usr/share/datasets/fashion-mnist`` for
Fashion-MNIST are searched. The model is fitted unless ``--reuse-model`` takes
it from ``benchmarks/_cache``.
"""

import argparse
import copy
import csv
import datetime
import os
import platform
import time

import numpy as np
import torch

from benchmarks._protocol import SETTINGS, cache_path, load_or_fit_gmvae, results_dir
from skgmvae import ClusterLabelDecoder, GMVAETransformer, LabeledOnlyClassifier, UMAPMixture
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import format_table, label_efficiency, summarize
from skgmvae.plotting import save_label_efficiency_figure, save_training_figure

FEATURES_INDEPENDENT_OF_THE_GMVAE = ("pixels", "pca")


def build_methods(k, random_state):
    """Each method's estimator and the name of the features it reads."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.semi_supervised import LabelSpreading
    from sklearn.svm import SVC
    from xgboost import XGBClassifier

    return {
        "GMVAE soft": (ClusterLabelDecoder(mode="soft"), "posterior"),
        "GMVAE hard": (ClusterLabelDecoder(mode="hard"), "posterior"),
        "GMVAE latent + LabelSpreading": (LabelSpreading(kernel="knn", n_neighbors=20, max_iter=100), "latent"),
        "GMVAE latent + SVC": (LabeledOnlyClassifier(SVC(C=10)), "latent"),
        "GMVAE latent + UMAPMixture soft": (ClusterLabelDecoder(mode="soft"), "umap-posterior"),
        "LogisticRegression": (LabeledOnlyClassifier(LogisticRegression(max_iter=1000)), "pixels"),
        "MLPClassifier": (LabeledOnlyClassifier(MLPClassifier((256,), max_iter=500, random_state=random_state)),
                          "pixels"),
        "XGBoost": (LabeledOnlyClassifier(XGBClassifier(n_estimators=200, n_jobs=2, verbosity=0,
                                                        random_state=random_state)), "pixels"),
        "LabelSpreading (knn)": (LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100), "pca"),
        f"KMeans({k}) + majority": (ClusterLabelDecoder(mode="hard"), "kmeans"),
    }


def feature_maker(gmvae, X_fit, X_candidates, k):
    """A function from rows to every method's features, with the unsupervised steps fitted on the data."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import normalize

    kmeans = KMeans(k, n_init=1, random_state=0).fit(X_fit)
    pca = PCA(50, random_state=0).fit(X_candidates)
    both_model = copy.deepcopy(gmvae).set_params(output="both")  # one encoder pass for both outputs
    umap_mixture = UMAPMixture(k, random_state=0)

    def features_from(rows, both, umap_posterior_of):
        # Unit-length codes: the contrastive term shapes their directions (benchmarks/latent_pipelines.py).
        codes = normalize(both[:, gmvae.k:])
        return {"posterior": both[:, :gmvae.k], "latent": codes, "umap-posterior": umap_posterior_of(codes),
                "pixels": rows, "pca": pca.transform(rows), "kmeans": np.eye(k)[kmeans.predict(rows)]}

    # The candidates are encoded once; the UMAP mixture is fitted on their codes, and their posterior is read
    # from its fitted embedding.
    candidate_features = features_from(X_candidates, both_model.transform(X_candidates), umap_mixture.fit_transform)

    def features_of(rows):
        if rows is X_candidates:
            return candidate_features
        return features_from(rows, both_model.transform(rows), umap_mixture.transform)

    return features_of


def time_formulations(X, k, batch_size, device, n_batches=20):
    """Seconds per epoch of skgmvae's single-decode GMVAE vs the K-decode reference, same batches."""
    from benchmarks.kdecode_reference import KDecodeGMVAE, seconds_per_epoch
    from skgmvae.nn import GMVAE, elbo_terms

    X_tensor = torch.as_tensor(X, dtype=torch.float32, device=device)
    defaults = GMVAETransformer().get_params()
    torch.manual_seed(0)
    ours = GMVAE(X.shape[1], k, defaults["latent_dim"], tuple(defaults["hidden_sizes"])).to(device)
    reference = KDecodeGMVAE(X.shape[1], k).to(device)
    ours_s = seconds_per_epoch(lambda x: -elbo_terms(ours, x)["elbo"].mean(), ours.parameters(), X_tensor,
                               batch_size, n_batches)
    reference_s = seconds_per_epoch(reference.loss, reference.parameters(), X_tensor, batch_size, n_batches)
    return ours_s, reference_s


def reusable_records(path, methods, counts, n_seeds):
    """Rows of an earlier records.csv for the methods whose inputs do not depend on the GMVAE or K.

    A method's rows are reused only when they cover exactly the requested
    counts and seeds, so the reused and the new rows share one protocol.
    """
    if not path.is_file():
        return []
    independent = {name for name, (_, features) in methods.items() if features in FEATURES_INDEPENDENT_OF_THE_GMVAE}
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["method"] in independent]
    wanted = {(n, s) for n in counts for s in range(n_seeds)}
    reused = []
    for name in independent:
        mine = [row for row in rows if row["method"] == name]
        if {(int(row["n_labels"]), int(row["seed"])) for row in mine} == wanted:
            reused += [{**row, "n_labels": int(row["n_labels"]), "seed": int(row["seed"]),
                        "accuracy": float(row["accuracy"])} for row in mine]
    return reused


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fit_seconds_path(dataset, k):
    """Where the fit time of the cached model is kept, so that a --reuse-model run can still report it."""
    return cache_path(dataset, k).with_suffix(".fit-seconds")


def fit(args, X):
    """The package-default GMVAE on the pool: fitted (and cached), or taken from the cache with --reuse-model.

    Returns the model, its fit time in seconds (None when unknown) and whether it came from the cache.
    """
    if args.reuse_model:
        gmvae, fit_seconds = load_or_fit_gmvae(args.dataset, X, args.k, device=args.device)
        recorded = fit_seconds_path(args.dataset, args.k)
        if fit_seconds is None:
            return gmvae, float(recorded.read_text()) if recorded.is_file() else None, True
        recorded.write_text(f"{fit_seconds:.1f}")
        return gmvae, fit_seconds, False
    gmvae = GMVAETransformer(k=args.k, random_state=0, device=args.device, verbose=True)
    start = time.perf_counter()
    gmvae.fit(X)
    fit_seconds = time.perf_counter() - start
    cache_path(args.dataset, args.k).parent.mkdir(exist_ok=True)
    gmvae.save(cache_path(args.dataset, args.k))
    fit_seconds_path(args.dataset, args.k).write_text(f"{fit_seconds:.1f}")
    return gmvae, fit_seconds, False


def evaluate(args, gmvae, data, out):
    """Every method at every count and seed; reuses the GMVAE-independent rows when asked."""
    X, y, candidates = data["X_pool"], data["y_pool"], data["label_candidates"]
    counts = args.labels or SETTINGS[args.dataset]["counts"]
    methods = build_methods(args.k, 0)
    order = list(methods)
    reused = reusable_records(out / "records.csv", methods, counts, args.seeds) if args.reuse_baselines else []
    reused_methods = sorted({row["method"] for row in reused})
    if reused_methods:
        print(f"reusing the records of {', '.join(reused_methods)} from {out / 'records.csv'}")
    methods = {name: method for name, method in methods.items() if name not in reused_methods}
    X_candidates = X[candidates]
    features_of = feature_maker(gmvae, X, X_candidates, args.k)
    test = data["X_test"]
    records = reused + label_efficiency(
        features_of(X_candidates), y[candidates], methods, counts, n_seeds=args.seeds,
        test_features=None if test is None else features_of(test), y_test=data["y_test"], verbose=True)
    records.sort(key=lambda row: order.index(row["method"]))  # stable: keeps counts and seeds in order
    return records, reused_methods


def report(args, gmvae, fit_seconds, from_cache, data, records, reused_methods, out):
    """records.csv, summary.csv, the figures and results.md."""
    summary = summarize(records)
    write_csv(out / "records.csv", records)
    write_csv(out / "summary.csv", summary)
    test = data["X_test"]
    split = "test" if test is not None else "rest"
    save_label_efficiency_figure(summary, out / "accuracy.png",
                                 f"{args.dataset}: accuracy vs random labels (K={args.k}, {args.seeds} seeds)",
                                 split=split)
    save_training_figure(gmvae, out / "training.png", f"{args.dataset}: GMVAE training (K={args.k})")
    timing = ""
    if not args.skip_timing:
        ours_s, reference_s = time_formulations(data["X_pool"], 100, gmvae.batch_size, gmvae.device_)
        timing = (f"\n## Time per epoch against the K-decode formulation (K=100, batch {gmvae.batch_size})\n\n"
                  f"| formulation | seconds per epoch on the pool |\n|---|---|\n"
                  f"| skgmvae, one decode per sample (dense, default sizes) | {ours_s:.1f} |\n"
                  f"| reference, one decode per component (512-512 hidden, latent 64) | {reference_s:.1f} |\n\n"
                  f"Ratio: **{reference_s / ours_s:.0f}x** faster per epoch (projected from 20 timed batches).\n")
    usage = np.sort(gmvae.component_usage_)[::-1]
    n_epochs_total = gmvae.n_epochs_ + len(gmvae.pretrain_history_)
    fit_text = ("taken from the cache (fit time not recorded)" if fit_seconds is None else
                f"fit in {fit_seconds:.0f} s ({fit_seconds / max(1, n_epochs_total):.1f} s per epoch)"
                + (" in the run that cached it" if from_cache else ""))
    flags = "".join(f" {flag}" for flag, on in [("--reuse-baselines", args.reuse_baselines),
                                                  ("--reuse-model", args.reuse_model)] if on)
    lines = [
        f"# Label efficiency on {args.dataset}", "",
        f"Command: `python -m benchmarks.label_efficiency --dataset {args.dataset}"
        f"{'' if args.seeds == 5 else f' --seeds {args.seeds}'}{flags}`  ",
        *([f"The rows of {', '.join(reused_methods)} (which read neither the GMVAE nor K) were reused from "
           "the previous run's records.csv, same counts and seeds.  "] if reused_methods else []),
        f"Date: {datetime.date.today()}; machine: {platform.machine()}, {os.cpu_count()} CPU cores, "
        f"torch {torch.__version__}, device {gmvae.device_}.", "",
        f"GMVAE (package defaults, k={args.k}) on {len(data['X_pool'])} unlabeled images: {fit_text}; "
        f"{gmvae.n_epochs_} epochs + {len(gmvae.pretrain_history_)} pretraining epochs; "
        f"{gmvae.n_components_used_:.1f} of {args.k} components in effective use "
        f"(largest component {100 * usage[0]:.1f}% of the mass, smallest {100 * usage[-1]:.2f}%).", "",
        "The latent rows feed the latent means scaled to unit length (`GMVAETransformer(output='latent')`, "
        "then `Normalizer()`) to the estimator named; the UMAPMixture row soft-decodes the posterior of "
        f"`UMAPMixture(k={args.k}, random_state=0)` fitted on the candidates' codes.", "",
    ]
    for name in ["rest"] + (["test"] if test is not None else []):
        what = "the unlabeled rest of the label candidates" if name == "rest" else "the held-out test set"
        lines += [f"## Accuracy (%) on {what}, mean ± 95% CI over {args.seeds} random draws", "",
                  format_table(summary, split=name), ""]
    (out / "results.md").write_text("\n".join(lines) + timing)
    print("\n".join(lines) + timing)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--labels", type=int, nargs="+", default=None)
    parser.add_argument("--k", type=int, default=GMVAETransformer().k)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="output folder (default benchmarks/results/<dataset>)")
    parser.add_argument("--skip-timing", action="store_true", help="skip the K-decode per-epoch timing")
    parser.add_argument("--reuse-model", action="store_true", help="take the GMVAE from benchmarks/_cache when there")
    parser.add_argument("--reuse-baselines", action="store_true",
                        help="take the records of the methods that do not read the GMVAE or K (raw pixels, PCA) "
                             "from the output folder's records.csv of an earlier run with the same counts and seeds")
    args = parser.parse_args(argv)
    out = results_dir(args.dataset, args.out)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    print(f"{args.dataset}: pool {data['X_pool'].shape}, label candidates {len(data['label_candidates'])}, "
          f"test {None if data['X_test'] is None else data['X_test'].shape}")
    gmvae, fit_seconds, from_cache = fit(args, data["X_pool"])
    records, reused_methods = evaluate(args, gmvae, data, out)
    report(args, gmvae, fit_seconds, from_cache, data, records, reused_methods, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
