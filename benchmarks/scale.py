"""Scale: fits on memmaps of 20k to 2M images, threads beside another process, a search on Dask; two checkouts.

Three parts, each a subcommand; every measurement runs in a fresh process whose ``skgmvae`` comes from the
checkout under test (``--baseline``: another one beside this one, interleaved; ``benchmarks/_timing.py``),
through the public API only:

- ``memmap``: writes a uint8 memmap of n images (images of the EMNIST pool drawn at random, each shifted by
  up to two pixels) for each size, then fits a GMVAE on it for no epoch, and with ``warm_start`` for no
  epoch and for one epoch: the time per training step (the difference over the steps of an epoch) and the
  peak resident memory above the interpreter's (validation of the whole file and the fit's passes over it
  included). The published run used the dense network (``--architecture mlp``, the default here);
- ``threads``: the digits fit of the scale issue (1,198 rows, k=30, 40 + 50 pretraining epochs) alone and
  beside a process running torch matrix products on every core, with the default ``n_jobs=None``, with it
  and ``callbacks.YieldCores`` (``--n-jobs yield``) and with fixed thread counts;
- ``search``: GridSearchCV over values of K x 3 folds on a data set with ``n_jobs=1`` and on a Dask
  LocalCluster (2 workers x 1 thread), in one process: best parameters, scores and wall times.

Commands::

    python -m benchmarks scale memmap --data-dir ../shared/data --sizes 20000 200000 2000000
    python -m benchmarks scale threads
    python -m benchmarks scale search --dataset digits
    python -m benchmarks scale search --dataset emnist --data-dir ../shared/data

Each part writes ``<part>-runs.csv`` and ``<part>-summary.csv`` into ``--out`` (default
``benchmarks/results/scale``). ``memmap.csv``, ``threads.csv`` and ``search-<dataset>.csv`` there are the
published runs (with their Markdown reports), measured by the code of their commit.
"""

import math
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from benchmarks import _timing
from benchmarks._protocol import RESULTS, command_line, parser, provenance, write_csv

NAME = "scale"
OUT = RESULTS / "scale"
MEMMAP_SIZES = (20_000, 200_000, 2_000_000)
# A process that keeps every core busy with torch matrix products.
_BUSY = "import torch\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).clamp(-1, 1)\n"


def write_shifted_memmap(X, n_images, path, chunk=50_000, seed=0):
    """``n_images`` uint8 rows: square images of ``X`` drawn at random, each shifted by up to two pixels."""
    side = math.isqrt(X.shape[1])
    rng = np.random.RandomState(seed)
    with open(path, "wb") as out:
        for start in range(0, n_images, chunk):
            n = min(chunk, n_images - start)
            images = X[rng.randint(len(X), size=n)].reshape(n, side, side)
            shifts = rng.randint(-2, 3, size=(n, 2))
            for dy, dx in set(map(tuple, shifts)):
                chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                images[chosen] = np.roll(images[chosen], (dy, dx), axis=(1, 2))
            out.write(np.round(255 * images).astype(np.uint8).tobytes())
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(n_images, X.shape[1]))


def _peak_rss_mib():
    """This process's peak resident memory (VmHWM; unlike ru_maxrss, not inherited across exec)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memmap_worker(path, n_images, n_features, architecture="mlp", threads=2):
    """Time per step and peak memory of fits read from a memmap (run in a fresh process)."""
    import warnings

    import psutil

    import skgmvae
    from skgmvae import GMVAETransformer

    baseline = psutil.Process().memory_info().rss / 2**20  # after the imports
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=(n_images, n_features))
    gmvae = GMVAETransformer(max_epochs=0, pretrain_epochs=0, architecture=architecture, n_jobs=threads,
                             random_state=0, device="cpu")
    timings = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained network's components are unbalanced: not the point here
        for params in ({}, {"warm_start": True}, {"warm_start": True, "max_epochs": 1}):
            start = time.perf_counter()
            gmvae.set_params(**params).fit(X)
            timings.append(time.perf_counter() - start)
    steps = math.ceil(n_images / gmvae.batch_size)
    return {"images": n_images, "architecture": architecture, "threads": threads, "first_fit_s": timings[0],
            "fit_around_epochs_s": timings[1], "epoch_s": timings[2] - timings[1], "steps": steps,
            "step_ms": 1000 * (timings[2] - timings[1]) / steps,
            "peak_rss_above_interpreter_mib": _peak_rss_mib() - baseline,
            "skgmvae_version": getattr(skgmvae, "__version__", "unknown")}


def threads_worker(n_jobs=None):
    """Seconds of the scale issue's digits fit with ``n_jobs`` (run in a fresh process).

    ``n_jobs='yield'`` is the default ``n_jobs`` with ``callbacks.YieldCores``.
    """
    from skgmvae import GMVAETransformer
    from skgmvae.datasets import load_digits_dataset

    X = load_digits_dataset().X_train[:1198]
    settings = {"n_jobs": n_jobs}
    if n_jobs == "yield":
        from skgmvae.callbacks import YieldCores

        settings = {"n_jobs": None, "callbacks": [YieldCores()]}
    start = time.perf_counter()
    GMVAETransformer(k=30, max_epochs=40, pretrain_epochs=50, random_state=0, device="cpu", **settings).fit(X)
    return {"n_jobs": "None" if n_jobs is None else n_jobs, "seconds": time.perf_counter() - start}


def search_worker(dataset, data_dir=None, k=(25, 50, 100, 200), labels=300, max_epochs=None):
    """GridSearchCV over K with ``n_jobs=1`` and on a Dask LocalCluster (run in a fresh process)."""
    from distributed import Client, LocalCluster
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline

    from skgmvae import ClusterLabelDecoder, GMVAETransformer, labeled_accuracy_scorer
    from skgmvae.datasets import load_dataset
    from skgmvae.evaluation import draw_labeled_rows, semi_supervised_dtype

    data = load_dataset(dataset, data_dir)
    X, y = data["X_pool"], data["y_pool"]
    # Not seed 0: RandomState(0) draws the same permutation as KFold(shuffle=True, random_state=0), which
    # would put every labeled row in one test fold.
    labeled = draw_labeled_rows(len(y), labels, seed=1)
    y_semi = np.full(len(y), -1, dtype=semi_supervised_dtype(y.dtype))
    y_semi[labeled] = y[labeled]
    params = {"random_state": 0, "device": "cpu", **({"max_epochs": max_epochs} if max_epochs else {})}

    def search(n_jobs):
        pipe = Pipeline([("gmvae", GMVAETransformer(**params)), ("decoder", ClusterLabelDecoder())])
        return GridSearchCV(pipe, {"gmvae__k": list(k)}, cv=KFold(3, shuffle=True, random_state=0),
                            scoring=labeled_accuracy_scorer, n_jobs=n_jobs)

    start = time.perf_counter()
    local = search(1).fit(X, y_semi)
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster), parallel_config(backend="dask"):
        started_s = time.perf_counter() - start
        on_dask = search(-1).fit(X, y_semi)
    dask_s = time.perf_counter() - start
    same = bool(local.best_params_ == on_dask.best_params_ and
                np.array_equal(local.cv_results_["mean_test_score"], on_dask.cv_results_["mean_test_score"]))
    return {"dataset": dataset, "k": " ".join(map(str, k)), "labels": labels, "local_s": local_s, "dask_s": dask_s,
            "cluster_start_s": started_s, "speed_up": local_s / dask_s,
            "best_k_local": local.best_params_["gmvae__k"], "best_k_dask": on_dask.best_params_["gmvae__k"],
            "scores_local": " ".join(repr(float(v)) for v in local.cv_results_["mean_test_score"]),
            "scores_dask": " ".join(repr(float(v)) for v in on_dask.cv_results_["mean_test_score"]),
            "identical": same}


@contextmanager
def _beside_another_process(settings):
    other = subprocess.Popen([sys.executable, "-c", _BUSY]) if settings.get("beside") else None
    try:
        if other is not None:
            time.sleep(3)  # let it take the cores
        yield
    finally:
        if other is not None:
            other.kill()
            other.wait()


def run_memmap(args, folders):
    from skgmvae.datasets import load_dataset

    X = np.asarray(load_dataset(args.dataset, args.data_dir)["X_pool"], dtype=np.float32)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as folder:
        for n_images in args.sizes:
            path = Path(folder) / f"images-{n_images}.u8"
            start = time.perf_counter()
            write_shifted_memmap(X, n_images, path)
            written_s = time.perf_counter() - start
            measured = _timing.interleave(
                folders, {f"{n_images} images": {"path": str(path), "n_images": n_images}}, args.rounds,
                "benchmarks.scale", "memmap_worker",
                lambda settings: {**settings, "n_features": X.shape[1], "architecture": args.architecture,
                                  "threads": args.threads})
            rows += [{**row, "file_mib": path.stat().st_size / 2**20, "written_s": written_s} for row in measured]
            path.unlink()
    return rows, _timing.medians(rows, "step_ms", keys=("images",)), "step_ms"


def run_threads(args, folders):
    def n_jobs_value(text):
        return {"None": None, "yield": "yield"}[text] if text in ("None", "yield") else int(text)

    configurations = {f"n_jobs={n_jobs}, {'beside another process' if beside else 'alone'}":
                      {"n_jobs": n_jobs_value(n_jobs), "beside": beside}
                      for n_jobs in args.n_jobs for beside in (False, True)}
    rows = _timing.interleave(folders, configurations, args.rounds, "benchmarks.scale", "threads_worker",
                              lambda settings: {"n_jobs": settings["n_jobs"]}, around=_beside_another_process)
    for row in rows:
        row["beside_other_process"] = configurations[row["configuration"]]["beside"]
    return rows, _timing.medians(rows, "seconds"), "seconds"


def run_search(args, folders):
    rows = _timing.interleave(folders, {args.dataset: {}}, args.rounds, "benchmarks.scale", "search_worker",
                              lambda settings: {"dataset": args.dataset, "data_dir": args.data_dir, "k": args.k,
                                                "labels": args.labels, "max_epochs": args.max_epochs})
    return rows, _timing.medians(rows, "speed_up"), "speed_up"


def smallest(out):
    """The smallest configuration: a fit on a memmap of 300 digits, one round."""
    return ["memmap", "--dataset", "digits", "--sizes", "300", "--rounds", "1", "--out", str(out)]


def main(argv=None):
    arguments = parser(NAME, __doc__)
    parts = arguments.add_subparsers(dest="part", required=True)
    memmap = parts.add_parser("memmap", help="fits read from memmaps of growing size")
    memmap.add_argument("--dataset", default="emnist", help="images to draw from (default: emnist)")
    memmap.add_argument("--data-dir", default=None)
    memmap.add_argument("--sizes", type=int, nargs="+", default=list(MEMMAP_SIZES))
    memmap.add_argument("--architecture", choices=["mlp", "conv", "auto"], default="mlp",
                        help="network (default: mlp, as the published run)")
    memmap.add_argument("--threads", type=int, default=2)
    memmap.add_argument("--work-dir", default=None, help="folder for the memmap files (default: the temp folder)")
    threads = parts.add_parser("threads", help="a fit alone and beside another torch process")
    threads.add_argument("--n-jobs", nargs="+", default=["None", "yield", "2", "1"],
                         help="'None' (the default), 'yield' (the default with callbacks.YieldCores), counts")
    search = parts.add_parser("search", help="GridSearchCV in one process and on a Dask LocalCluster")
    search.add_argument("--dataset", default="digits")
    search.add_argument("--data-dir", default=None)
    search.add_argument("--k", type=int, nargs="+", default=[25, 50, 100, 200])
    search.add_argument("--labels", type=int, default=300)
    search.add_argument("--max-epochs", type=int, default=None)
    for part in (memmap, threads, search):
        part.add_argument("--out", default=str(OUT), help="output folder (default: benchmarks/results/scale)")
        _timing.add_arguments(part, rounds=1 if part is not threads else 3)
    args = arguments.parse_args(argv)
    folders = _timing.checkouts(args.baseline)
    rows, summary, value = {"memmap": run_memmap, "threads": run_threads, "search": run_search}[args.part](
        args, folders)
    run = provenance(command_line(NAME, argv), seeds="0")
    out = Path(args.out)
    write_csv(out / f"{args.part}-runs.csv", rows, run)
    write_csv(out / f"{args.part}-summary.csv", summary, run)
    for row in summary:
        ratio = row["ratio_to_baseline"]
        print(f"{row[[key for key in row if key != 'checkout'][0]]} {row['checkout']}: median {value} "
              f"{row[f'median_{value}']:.3g}" + (f" ({ratio:.2f}x the baseline)" if ratio != "" else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
