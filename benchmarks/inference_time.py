"""Time of ``GMVAETransformer.transform`` on many rows, in memory and from a memmap, beside a baseline checkout.

``transform`` runs the float32 network on batches of one fixed shape and the mixture in float64, and reads
a uint8 memmap chunk by chunk. The worker builds the package-default
network for the data set's images through the public API (a fit of no epoch: the cost of a pass does not
depend on the weights), then times ``transform`` of ``--rows`` rows: the pool repeated, as a float32 array
(``memory``) or as a uint8 memmap on disk (``memmap``). Each measurement runs in a fresh process, the
checkouts interleaved (``benchmarks/_timing.py``).

Commands (from the repository root)::

    python -m benchmarks inference_time --data-dir ../shared/data --rows 19358 200000
    python -m benchmarks inference_time --data-dir ../shared/data --baseline ../baseline --rounds 3

Writes ``inference-runs.csv`` and ``inference-summary.csv`` (median seconds per rows, source and checkout)
into ``--out`` (default ``benchmarks/results/step-time``). The float64-against-float32 comparison that
decided the inference precision is ``experiments/inference_precision.py``.
"""

import tempfile
from pathlib import Path

from benchmarks import _timing
from benchmarks._protocol import RESULTS, command_line, parser, provenance, write_csv

NAME = "inference_time"
SOURCES = ("memory", "memmap")


def worker(dataset="emnist", data_dir=None, rows=19_358, source="memory", memmap=None, k=200, threads=2):
    """Seconds of ``transform`` on ``rows`` rows of the data set's pool repeated (run in a fresh process)."""
    import time
    import warnings

    import numpy as np

    import skgmvae
    from skgmvae import GMVAETransformer
    from skgmvae.datasets import load_dataset

    pool = np.asarray(load_dataset(dataset, data_dir)["X_pool"], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained network's components are unbalanced: not the point here
        gmvae = GMVAETransformer(k, max_epochs=0, pretrain_epochs=0, n_jobs=threads, random_state=0,
                                 device="cpu").fit(pool[:2000])
    X = (np.memmap(memmap, dtype=np.uint8, mode="r", shape=(rows, pool.shape[1])) if source == "memmap"
         else np.resize(pool, (rows, pool.shape[1])))
    start = time.perf_counter()
    posterior = gmvae.transform(X)
    seconds = time.perf_counter() - start
    return {"dataset": dataset, "rows": rows, "source": source, "k": k, "threads": threads, "seconds": seconds,
            "ms_per_row": 1000 * seconds / rows, "posterior_sum": float(posterior.sum()),
            "skgmvae_version": getattr(skgmvae, "__version__", "unknown")}


def write_memmap(pool, rows, path):
    """``rows`` rows of ``pool`` (floats in [0, 1]) repeated, as a uint8 memmap file at ``path``."""
    import numpy as np

    out = np.memmap(path, dtype=np.uint8, mode="w+", shape=(rows, pool.shape[1]))
    for start in range(0, rows, len(pool)):
        stop = min(rows, start + len(pool))
        out[start:stop] = np.round(255 * pool[:stop - start])
    out.flush()
    return path


def smallest(out):
    """The smallest configuration: digits from a memmap, a small network, one round."""
    return ["--dataset", "digits", "--rows", "2000", "--k", "5", "--sources", "memmap", "--rounds", "1", "--out",
            str(out)]


def main(argv=None):
    import numpy as np

    from skgmvae.datasets import load_dataset

    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", default="emnist")
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--rows", type=int, nargs="+", default=[19_358, 200_000])
    arguments.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    arguments.add_argument("--k", type=int, default=200, help="components (default: the package's 200)")
    arguments.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    arguments.add_argument("--work-dir", default=None, help="folder for the memmap files (default: the temp folder)")
    arguments.add_argument("--out", default=str(RESULTS / "step-time"), help="output folder")
    _timing.add_arguments(arguments)
    args = arguments.parse_args(argv)
    folders = _timing.checkouts(args.baseline)
    pool = np.asarray(load_dataset(args.dataset, args.data_dir)["X_pool"], dtype=np.float32)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as work:
        for n_rows in args.rows:
            memmap = str(write_memmap(pool, n_rows, Path(work) / f"rows-{n_rows}.u8")) if "memmap" in args.sources \
                else None
            configurations = {f"{source}, {n_rows} rows": {"source": source, "rows": n_rows, "memmap": memmap}
                              for source in args.sources}
            rows += _timing.interleave(
                folders, configurations, args.rounds, "benchmarks.inference_time", "worker",
                lambda settings: {"dataset": args.dataset, "data_dir": args.data_dir, "k": args.k,
                                  "threads": args.threads, **settings})
            if memmap:
                Path(memmap).unlink()
    run = provenance(command_line(NAME, argv))
    out = Path(args.out)
    write_csv(out / "inference-runs.csv", rows, run)
    summary = _timing.medians(rows, "seconds", keys=("rows", "source"))
    write_csv(out / "inference-summary.csv", summary, run)
    for row in summary:
        ratio = row["ratio_to_baseline"]
        print(f"{row['rows']:>9} rows, {row['source']:>6}, {row['checkout']:>14}: {row['median_seconds']:.2f} s"
              + (f" ({ratio:.2f}x the baseline)" if ratio != "" else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
