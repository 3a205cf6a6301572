"""Time of a GMVAE training step, this checkout beside a baseline checkout, through the public API.

A step is one mini-batch of :meth:`GMVAETransformer.fit`'s GMVAE training: two distortions of the batch,
the ELBO with the consistency, balance and contrastive terms, the backward pass and an Adam step. The
worker fits the package-default network on ``--rows`` images for no epoch (the network and its mixture set
up), then, with ``warm_start=True``, times a fit of no epoch (validation and the fit's closing usage pass)
and a fit of ``--epochs`` epochs; the difference over the number of steps is the time of a step. Only
public parameters are set, so any checkout of the package can be timed (``--baseline``), each measurement
in a fresh process, the checkouts interleaved (``benchmarks/_timing.py``).

Configurations: ``default`` (batch 64, float32), ``batch128`` (128 images a step), ``bfloat16``
(``precision='bfloat16'``: emulated, slowly, on a CPU without BF16), ``threads1`` (one torch thread).

Commands (from the repository root)::

    python -m benchmarks step_time --rounds 3
    python -m benchmarks step_time --baseline ../baseline --rounds 3 --configurations default batch128

Writes ``step-time-runs.csv`` (every measurement) and ``step-time-summary.csv`` (median per configuration and
checkout, and this checkout's ratio to the baseline) into ``--out`` (default ``benchmarks/results/step-time``).
"""

import math
from pathlib import Path

from benchmarks import _timing
from benchmarks._protocol import RESULTS, command_line, parser, provenance, write_csv

NAME = "step_time"
CONFIGURATIONS = {
    "default": {},
    "batch128": {"batch_size": 128},
    "bfloat16": {"precision": "bfloat16"},
    "threads1": {"threads": 1},
}


def worker(dataset="emnist", data_dir=None, rows=6400, k=200, epochs=1, batch_size=64, precision="float32",
           threads=2, device="cpu", seed=0):
    """Milliseconds per GMVAE training step of the default network on ``rows`` images (run in a fresh process)."""
    import time
    import warnings

    import numpy as np

    import skgmvae
    from skgmvae import GMVAETransformer

    X, source = _images(dataset, data_dir, rows, seed)
    params = {"k": k, "max_epochs": 0, "pretrain_epochs": 0, "batch_size": batch_size, "n_jobs": threads,
              "random_state": seed, "device": device}
    if precision != "float32":  # a parameter older checkouts lack; left out where it is the default
        params["precision"] = precision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained network's components are unbalanced: not the point here
        gmvae = GMVAETransformer(**params).fit(X).set_params(warm_start=True)
        start = time.perf_counter()
        gmvae.fit(X)
        around_s = time.perf_counter() - start
        gmvae.set_params(max_epochs=epochs)
        start = time.perf_counter()
        gmvae.fit(X)
        total_s = time.perf_counter() - start
    steps = epochs * math.ceil(len(X) / batch_size)
    return {"data": source, "rows": len(X), "steps": steps, "batch_size": batch_size, "precision": precision,
            "threads": threads, "device": str(getattr(gmvae, "device_", device)),
            "architecture": getattr(gmvae, "architecture_", ""),
            "ms_per_step": 1000 * (total_s - around_s) / steps, "fit_around_epochs_s": around_s,
            "skgmvae_version": getattr(skgmvae, "__version__", "unknown"), "numpy": np.__version__}


def _images(dataset, data_dir, rows, seed):
    """The first ``rows`` images of the data set's pool, or uniform noise of EMNIST's shape without the data."""
    import numpy as np

    from skgmvae.datasets import load_dataset

    try:
        X = np.asarray(load_dataset(dataset, data_dir)["X_pool"][:rows], dtype=np.float32)
        return X, dataset
    except (FileNotFoundError, ValueError, OSError):
        # The cost of a step depends on the shapes, not on the pixels.
        return np.random.RandomState(seed).rand(rows, 784).astype(np.float32), "noise 28x28"


def smallest(out):
    """The smallest configuration: digits, a small network, one round of one configuration."""
    return ["--dataset", "digits", "--rows", "256", "--k", "5", "--rounds", "1", "--configurations", "default",
            "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    arguments.add_argument("--dataset", default="emnist", help="data set of the images (default: emnist; noise "
                           "of its shape when it cannot be read)")
    arguments.add_argument("--data-dir", default=None)
    arguments.add_argument("--rows", type=int, default=6400, help="images per epoch (default: 6,400, 100 steps)")
    arguments.add_argument("--epochs", type=int, default=1, help="epochs timed per measurement (default: 1)")
    arguments.add_argument("--k", type=int, default=200, help="components (default: the package's 200)")
    arguments.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    arguments.add_argument("--device", default="cpu", help="torch device of the fits (default: cpu)")
    arguments.add_argument("--configurations", nargs="+", default=["default", "batch128"],
                           choices=list(CONFIGURATIONS))
    arguments.add_argument("--out", default=str(RESULTS / "step-time"), help="output folder")
    _timing.add_arguments(arguments)
    args = arguments.parse_args(argv)
    folders = _timing.checkouts(args.baseline)
    base = {"dataset": args.dataset, "data_dir": args.data_dir, "rows": args.rows, "k": args.k,
            "epochs": args.epochs, "threads": args.threads, "device": args.device}
    rows = _timing.interleave(folders, {name: CONFIGURATIONS[name] for name in args.configurations}, args.rounds,
                              "benchmarks.step_time", "worker", lambda settings: {**base, **settings})
    run = provenance(command_line(NAME, argv), seeds="0")
    out = Path(args.out)
    write_csv(out / "step-time-runs.csv", rows, run)
    summary = _timing.medians(rows, "ms_per_step")
    write_csv(out / "step-time-summary.csv", summary, run)
    for row in summary:
        ratio = row["ratio_to_baseline"]
        print(f"{row['configuration']:>10} {row['checkout']:>14}: {row['median_ms_per_step']:.1f} ms per step"
              + (f" ({ratio:.2f}x the baseline)" if ratio != "" else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
