"""How UMAPMixture places rows it was not fitted on: its neighbours' posteriors (now) or their embeddings (before).

The mixture is fitted on the unit-length codes of development rows (EMNIST: half of the development half of
the label candidates; Fashion-MNIST: its 50,000 label candidates), then rows it never saw get a posterior both
ways: the distance-weighted mean of their neighbours' posteriors (``UMAPMixture.transform``), or the mixture's
posterior at the distance-weighted mean of their neighbours' embeddings (the previous rule). Soft decoding
is fitted on random labeled rows of the fitted ones and scored on the unseen rows (EMNIST: the other half of
the development half; Fashion-MNIST: its 10,000 validation images), never on report rows. Both rules read the
same fitted UMAP, mixture and labels, so the difference is the placement alone.

A decision record (the placement by the neighbours' posteriors was kept). Command (from the repository root;
the cached seed-0 models of ``label_efficiency``)::

    python -m experiments.umap_placement --data-dir ../shared/data --out benchmarks/results/umap-placement.csv
"""

import argparse
import copy

import numpy as np
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import Normalizer

from benchmarks._protocol import command_line, load_or_fit_gmvae, protocol_split, provenance, write_csv
from skgmvae import ClusterLabelDecoder, UMAPMixture
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import draw_labeled_rows


def placements(dataset, data_dir, counts, n_draws):
    data = load_dataset(dataset, data_dir)
    X, y = data["X_pool"], data["y_pool"]
    development = protocol_split(data, "development")
    if development.X_test is not None:  # Fashion-MNIST: fitted on the candidates, scored on the validation images
        fit_rows, X_new, y_new = development.candidates, development.X_test, development.y_test
    else:  # EMNIST: fitted on one half of the development rows, scored on the other (never the report rows)
        shuffled = np.random.RandomState(0).permutation(development.candidates)
        fit_rows, new_rows = np.sort(shuffled[: len(shuffled) // 2]), np.sort(shuffled[len(shuffled) // 2:])
        X_new, y_new = X[new_rows], y[new_rows]
    gmvae = copy.deepcopy(load_or_fit_gmvae(dataset, X)[0]).set_params(output="latent")
    codes, new_codes = (Normalizer().transform(gmvae.transform(rows)) for rows in (X[fit_rows], X_new))
    mixture = UMAPMixture(random_state=0).fit(codes)
    n_neighbors = min(mixture.n_neighbors, len(codes) - 1)
    by_posterior = mixture.transform(new_codes)
    embedding = KNeighborsRegressor(n_neighbors, weights="distance").fit(codes, mixture.embedding_)
    by_embedding = mixture.mixture_.predict_proba(embedding.predict(new_codes))
    fitted_posterior = mixture.mixture_.predict_proba(mixture.embedding_)
    rows = []
    for n_labels in counts:
        for draw in range(n_draws):
            labeled = draw_labeled_rows(len(fit_rows), n_labels, draw)
            decoder = ClusterLabelDecoder().fit(fitted_posterior[labeled], y[fit_rows][labeled])
            for rule, posterior in (("neighbours' posteriors", by_posterior), ("neighbours' embeddings", by_embedding)):
                rows.append({"dataset": dataset, "rule": rule, "n_labels": n_labels, "draw": draw,
                             "accuracy": float(decoder.score(posterior, y_new)),
                             "mean_max_posterior": float(posterior.max(axis=1).mean())})
                print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="EMNIST's folder (Fashion-MNIST is looked for where "
                        "skgmvae.datasets looks by default, e.g. Debian's dataset-fashion-mnist)")
    parser.add_argument("--datasets", nargs="+", default=["emnist", "fashion-mnist"])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    counts = {"emnist": [73, 291, 1456], "fashion-mnist": [30, 100, 1000]}
    rows = [row for name in args.datasets
            for row in placements(name, args.data_dir if name == "emnist" else None, counts[name], args.draws)]
    if args.out:
        write_csv(args.out, rows, provenance(command_line("umap_placement", argv, suite="experiments"),
                                             protocol_split="development",
                                             seeds=f"training seed 0; label draw seeds 0-{args.draws - 1}"))


if __name__ == "__main__":
    main()
