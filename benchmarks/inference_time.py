"""What inference in float64 costs: ``transform`` of the default EMNIST model against a float32 pass.

``GMVAETransformer.transform`` runs a float64 copy of the module on the CPU, so that each row's q(c|x) does not
depend on the rows it shares a batch with (scikit-learn's subset-invariance check). This times it on the EMNIST
pool (19,358 rows) and on 200,000 rows (the pool repeated), beside the same pass in float32, and reports how far
apart the two posteriors are.

Command (from the repository root; reads the cached model of ``benchmarks.label_efficiency``)::

    python -m benchmarks.inference_time --data-dir ../shared/data --out benchmarks/results/step-time/inference.csv
"""

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._protocol import load_or_fit_gmvae, write_csv
from skgmvae._transformer import responsibilities
from skgmvae.datasets import load_dataset
from skgmvae.nn.inference import batched_apply


def float32_posterior(gmvae, X):
    """q(c|x) from the float32 module, log q(c|x) turned into probabilities in float64."""
    module = copy.deepcopy(gmvae.module_).float().eval()
    log_resp = batched_apply(lambda batch: module(batch)[2], X, torch.device("cpu"))
    return responsibilities(log_resp.double().numpy())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rows", type=int, nargs="+", default=[19_358, 200_000])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    X = load_dataset("emnist", args.data_dir)["X_pool"]
    gmvae = load_or_fit_gmvae("emnist", X)[0]
    torch.set_num_threads(2)
    rows = []
    for n_rows in args.rows:
        data = np.resize(X, (n_rows, X.shape[1]))
        timings = {}
        for name, run in (("float64 (transform)", gmvae.set_params(n_jobs=2).transform),
                          ("float32", lambda rows_: float32_posterior(gmvae, rows_))):
            start = time.perf_counter()
            posterior = run(data)
            timings[name] = (time.perf_counter() - start, posterior)
        (seconds64, q64), (seconds32, q32) = timings.values()
        rows.append({"rows": n_rows, "float64_s": round(seconds64, 2), "float32_s": round(seconds32, 2),
                     "max_abs_difference": float(np.abs(q64 - q32).max()),
                     "argmax_agreement": float((q64.argmax(1) == q32.argmax(1)).mean())})
        print(rows[-1], flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_csv(args.out, rows)


if __name__ == "__main__":
    main()
