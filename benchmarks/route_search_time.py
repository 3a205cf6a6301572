"""What choosing the route costs beside the GMVAE fit: ``RouteSearchCV`` on a fitted, frozen model.

The GMVAE is fitted once, without labels; :class:`skgmvae.RouteSearchCV` then encodes the rows, fits its
UMAP mixture on their codes and cross-validates the routes on the labeled ones. This times that whole
``fit`` on the EMNIST report half (4,440 label candidates: a random draw of labeled rows, the rest
unlabeled, ``y == -1``) at a few label counts, beside the fit time of the model recorded when it was cached.
The search reads the same model every time (``FrozenEstimator``), so its time is what a user adds to one fit.

Command (from the repository root; reads the cached model of ``benchmarks.label_efficiency``; run it alone)::

    python -m benchmarks.route_search_time --data-dir ../shared/data
"""

import argparse
import os
import platform
import time

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator

from benchmarks._protocol import (
    RESULTS,
    SETTINGS,
    cache_path,
    load_or_fit_gmvae,
    protocol_split,
    recorded_fit_seconds,
    write_csv,
)
from skgmvae import RouteSearchCV
from skgmvae.datasets import load_dataset
from skgmvae.evaluation import draw_labeled_rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--labels", type=int, nargs="+", default=[146, 291, 2912])
    parser.add_argument("--out", default=str(RESULTS / SETTINGS["emnist"]["results"] / "route-search-time.csv"))
    args = parser.parse_args(argv)
    data = load_dataset("emnist", args.data_dir)
    part = protocol_split(data, "report")
    gmvae = load_or_fit_gmvae("emnist", data["X_pool"])[0]
    fit_seconds = recorded_fit_seconds(cache_path("emnist", gmvae.k))
    X, y_true = data["X_pool"][part.candidates], data["y_pool"][part.candidates]
    rows = []
    for n_labels in args.labels:
        y = np.full(len(y_true), -1, dtype=np.int64)
        labeled = draw_labeled_rows(len(y), n_labels, part.draw_seed)
        y[labeled] = y_true[labeled]
        search = RouteSearchCV(FrozenEstimator(gmvae), random_state=0)
        start = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - start
        rows.append({"n_rows": len(y), "n_labels": n_labels, "chosen_route": search.best_route_,
                     "routes_tried": len(search.route_scores_), "search_seconds": round(seconds, 1),
                     "gmvae_fit_seconds": fit_seconds,
                     "share_of_fit": None if fit_seconds is None else round(seconds / fit_seconds, 4),
                     "torch_threads": torch.get_num_threads(),
                     "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                     "machine": f"{platform.machine()}, {os.cpu_count()} cores"})
        print(rows[-1], flush=True)
    write_csv(args.out, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
