"""Inference in float32 or float64: ``transform`` of the default EMNIST model against a float64 pass.

A decision record: ``GMVAETransformer.transform`` runs the float32 network on batches of one fixed shape
(each row's q(c|x) then does not depend on the rows it shares a call with, scikit-learn's subset-invariance
check) and the mixture's log-densities in float64. This times ``transform`` on the EMNIST pool and on the
pool repeated, beside a pass of a float64 copy of the whole network (what ``transform`` ran before), and
reports how far apart the two posteriors are. The suite's ``python -m benchmarks inference_time`` times
``transform`` across checkouts.

Command (from the repository root; reads the cached model of ``label_efficiency``)::

    python -m experiments.inference_precision --data-dir ../shared/data \\
        --out benchmarks/results/step-time/inference.csv
"""

import argparse
import copy
import time

import numpy as np
import torch
from scipy.special import softmax

from benchmarks._protocol import command_line, load_or_fit_gmvae, provenance, write_csv
from skgmvae.datasets import load_dataset


def float64_posterior(gmvae, X, batch_size=2048):
    """q(c|x) from a float64 copy of the whole module."""
    module = copy.deepcopy(gmvae.module_).double().cpu().eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(np.asarray(X[start:start + batch_size], dtype=np.float64))
            parts.append(module(batch)[2].numpy())  # the module's third output: log q(c|x)
    return softmax(np.concatenate(parts), axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rows", type=int, nargs="+", default=[19_358, 200_000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="CSV to write")
    args = parser.parse_args(argv)
    X = load_dataset("emnist", args.data_dir)["X_pool"]
    gmvae = load_or_fit_gmvae("emnist", X)[0].set_params(n_jobs=args.threads)
    torch.set_num_threads(args.threads)
    rows = []
    for n_rows in args.rows:
        data = np.resize(X, (n_rows, X.shape[1]))
        timings = {}
        for name, run in (("float64 network", lambda rows_: float64_posterior(gmvae, rows_)),
                          ("transform", gmvae.transform)):
            start = time.perf_counter()
            posterior = run(data)
            timings[name] = (time.perf_counter() - start, posterior)
        (seconds64, q64), (seconds32, q32) = timings.values()
        rows.append({"rows": n_rows, "float64_network_s": round(seconds64, 2), "transform_s": round(seconds32, 2),
                     "max_abs_difference": float(np.abs(q64 - q32).max()),
                     "argmax_agreement": float((q64.argmax(1) == q32.argmax(1)).mean())})
        print(rows[-1], flush=True)
    if args.out:
        write_csv(args.out, rows, provenance(command_line("inference_precision", argv, suite="experiments"),
                                             seeds="training seed 0"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
