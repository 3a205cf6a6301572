"""Which rule ``suggest_labels`` uses: the selection rules tried, on the development split.

Each rule chooses a one-batch budget (1, 2, 4, 8 labels per class and 300) among the development half's
candidates of each cached model; the choice is scored by soft decoding of q(c|x) and by soft decoding of the
UMAP-mixture posterior ('umap-soft', the route ``predict`` falls back to with few labels), on the candidates
not chosen. The rules:

- ``components``: the component-led rule (``strategy='representative'``);
- ``typiclust``: scikit-activeml's TypiClust (``k=20``, 3 seeds) on the unit-length codes, the peer to beat;
- ``typiclust-umap``: the same clustering and typicality on the 10-d UMAP embedding of the codes;
- ``coverage-dense-<temperature>``: greedy facility location with the Gaussian kernel on every pair of codes;
- ``coverage-posterior``: the same with the kernel ``<q(c|x), q(c|x')>`` that soft decoding reads;
- ``coverage-<n_neighbors>-<temperature>``: the kernel kept to each code's nearest neighbours, its width
  fixed or ``'auto'`` (twice the median ``1 - cos`` to the farthest neighbour kept), any count through
  ``--rules``;
- ``coverage-budget-<divisor>``: the same with the neighbourhood set by the pool and the budget together,
  ``n_candidates / (divisor * n_labels)`` neighbours from 30 to 300, width ``'auto'``, any divisor through
  ``--rules``; the rule adopted is ``coverage-budget-3`` (``suggest_labels``' default, ``n_neighbors='auto'``).

Command::

    python -m experiments.selection_rules --dataset digits --train-seeds 0 1 2 \\
        --out benchmarks/results/digits/development/selection-rules.csv
    python -m experiments.selection_rules --dataset emnist --data-dir ../shared/data --train-seeds 0 \\
        --out benchmarks/results/emnist-partial/development/selection-rules.csv
"""

import argparse
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

from benchmarks._protocol import command_line, load_or_fit_gmvae, protocol_split, provenance, write_csv
from benchmarks.label_efficiency import gmvae_feature_maker
from skgmvae import ClusterLabelDecoder, UMAPMixture, suggest_labels
from skgmvae.datasets import load_dataset


def dense_coverage(kernel, n_labels):
    """Greedy facility location on a dense kernel (``kernel[x, s]``: how well ``s`` covers ``x``)."""
    covered, chosen = np.zeros(len(kernel)), []
    for _ in range(n_labels):
        gain = np.maximum(kernel - covered[:, None], 0).sum(axis=0)
        gain[chosen] = -np.inf
        chosen.append(int(np.argmax(gain)))
        covered = np.maximum(covered, kernel[:, chosen[-1]])
    return np.array(chosen)


def typiclust_on(embedding, n_labels, seed, k=20):
    """TypiClust's cold start on any embedding: k-means into ``n_labels``, each cluster's most typical row."""
    clusters = KMeans(n_labels, n_init=1, random_state=seed).fit_predict(embedding)
    chosen = []
    for cluster in range(n_labels):
        members = np.flatnonzero(clusters == cluster)
        if len(members) < 2:
            chosen.extend(members)
            continue
        n_neighbors = min(k, len(members) - 1) + 1
        distance, _ = NearestNeighbors(n_neighbors=n_neighbors).fit(embedding[members]).kneighbors(embedding[members])
        chosen.append(members[np.argmin(distance[:, 1:].mean(axis=1))])
    return np.array(chosen)


def rules(gmvae, X, codes, posterior, umap_embedding, extra=()):
    """Rule name to ``(choose(n_labels, seed), seeds)``; the dense kernels are computed when a rule reads them.

    ``extra`` names more ``coverage-<n_neighbors>-<temperature>`` and ``coverage-budget-<divisor>`` rules
    than the grid below.
    """
    from skactiveml.pool import TypiClust

    def cosine():
        return codes @ codes.T
    found = {
        "components": (lambda n, seed: suggest_labels(gmvae, X, n, strategy="representative"), [0]),
        "typiclust": (lambda n, seed: TypiClust(k=20, random_state=seed).query(
            codes, np.full(len(codes), np.nan), batch_size=n), [0, 1, 2]),
        "typiclust-umap": (lambda n, seed: typiclust_on(umap_embedding, n, seed), [0, 1, 2]),
        "coverage-posterior": (lambda n, seed: dense_coverage(posterior @ posterior.T, n), [0]),
    }
    for temperature in (0.05, 0.1, 0.2):
        found[f"coverage-dense-{temperature}"] = (
            lambda n, seed, t=temperature: dense_coverage(np.exp((cosine() - 1) / t), n), [0])
    for name in extra:
        parts = name.split("-")
        if len(parts) == 3 and parts[:2] == ["coverage", "budget"]:
            found[name] = (lambda n, seed, d=float(parts[2]): suggest_labels(
                gmvae, X, n, n_neighbors=int(np.clip(round(len(X) / (d * n)), 30, 300))), [0])
    grid = [(n_neighbors, temperature) for n_neighbors in (10, 30, 100, 300) for temperature in (0.1, 0.2, "auto")]
    for name in extra:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "coverage" and parts[1].isdigit():
            grid.append((int(parts[1]), parts[2] if parts[2] == "auto" else float(parts[2])))
    for n_neighbors, temperature in grid:
        found[f"coverage-{n_neighbors}-{temperature}"] = (
            lambda n, seed, m=n_neighbors, t=temperature: suggest_labels(gmvae, X, n, n_neighbors=m,
                                                                           temperature=t), [0])
    return found


def main(argv=None):
    arguments = argparse.ArgumentParser(prog="python -m experiments.selection_rules", description=__doc__,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("--dataset", default="digits")
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments.add_argument("--out", required=True)
    arguments.add_argument("--rules", nargs="+", default=None, help="run only these rules (default: all)")
    arguments.add_argument("--max-candidates", type=int, default=None,
                           help="a seeded random subsample of the development candidates (the dense rules hold an "
                                "n x n kernel)")
    args = arguments.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    part = protocol_split(data, "development")
    candidates = part.candidates
    if args.max_candidates and len(candidates) > args.max_candidates:
        candidates = np.sort(np.random.RandomState(0).choice(candidates, args.max_candidates, replace=False))
    X, y = data["X_pool"][candidates], np.asarray(data["y_pool"][candidates])
    n_classes = len(np.unique(y))
    records = []
    for train_seed in args.train_seeds:
        gmvae, _ = load_or_fit_gmvae(args.dataset, data["X_pool"], random_state=train_seed)
        features = gmvae_feature_maker(gmvae, X)(X)
        codes = normalize(features["latent"])
        umap_embedding = UMAPMixture(gmvae.k, random_state=0).fit(codes).embedding_
        for name, (choose, seeds) in rules(gmvae, X, codes, features["posterior"], umap_embedding,
                                               args.rules or ()).items():
            if args.rules is not None and name not in args.rules:
                continue
            for n_labels in [n_classes * per_class for per_class in (1, 2, 4, 8)] + [300]:
                for seed in seeds:
                    chosen = np.asarray(choose(n_labels, seed))
                    rest = np.setdiff1d(np.arange(len(y)), chosen)
                    row = {"train_seed": train_seed, "rule": name, "seed": seed, "n_labels": n_labels}
                    for measure, posterior in (("soft", features["posterior"]), ("umap-soft",
                                                                                  features["umap-posterior"])):
                        decoder = ClusterLabelDecoder().fit(posterior[chosen], y[chosen])
                        row[measure] = decoder.score(posterior[rest], y[rest])
                    records.append(row)
                    print(row, flush=True)
    run = provenance(command_line("selection_rules", argv, suite="experiments"), protocol_split="development",
                     seeds=f"training seeds {' '.join(map(str, args.train_seeds))}; TypiClust seeds 0-2")
    write_csv(args.out, [{"split": "rest", **row} for row in records], run)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
