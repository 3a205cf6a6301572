"""Scale benchmark: memmap input from 20k to 2M images, threads beside another process, Dask search.

Three parts, each a subcommand, each writing a Markdown file and a CSV of its figures into
``benchmarks/results/scale/``:

- ``memmap``: writes a uint8 memmap of n images (the EMNIST pool with random affine distortions,
  chunk by chunk) for n = 20k, 200k and 2M, and in a fresh process per n fits a GMVAE on it for a
  fixed number of optimizer steps, recording the time per step and the peak resident memory above
  the interpreter's baseline (validation of the whole memmap included);
- ``threads``: the digits fit of the scale issue (1,198 rows, k=30, 40 + 50 pretraining epochs) idle
  and beside a process running torch matrix products on every core, with the default ``n_jobs=None``
  and with fixed thread counts;
- ``search``: GridSearchCV over 4 values of K x 3 folds on a data set with ``n_jobs=1`` and on a Dask
  LocalCluster (2 workers x 1 thread), side by side: best parameters, scores and wall times.

Commands::

    python -m benchmarks.scale memmap --data-dir ../shared/data
    python -m benchmarks.scale threads
    python -m benchmarks.scale search --dataset digits
    python -m benchmarks.scale search --dataset emnist --data-dir ../shared/data
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "scale"
MEMMAP_SIZES = (20_000, 200_000, 2_000_000)


def _machine():
    import torch

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"


def write_distorted_memmap(X, n_images, path, chunk=50_000, seed=0):
    """``n_images`` uint8 rows: images of ``X`` drawn at random, each randomly rotated, shifted and scaled."""
    import torch

    from skgmvae.nn.augment import RandomAffine

    side = int(np.sqrt(X.shape[1]))
    distort = RandomAffine((side, side), max_rotation=15.0, max_shift=0.1)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.RandomState(seed)
    with open(path, "wb") as out:
        for start in range(0, n_images, chunk):
            rows = torch.as_tensor(X[rng.randint(len(X), size=min(chunk, n_images - start))], dtype=torch.float32)
            out.write((distort(rows, generator) * 255).round().to(torch.uint8).numpy().tobytes())
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(n_images, X.shape[1]))


def _peak_rss_mib():
    """This process's peak resident memory (VmHWM; unlike ru_maxrss, not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memmap_worker(path, n_images, n_features, n_steps):
    """Run in a fresh process: validate the memmap, then time ``n_steps`` training steps read from it."""
    import psutil
    import torch

    from skgmvae import GMVAETransformer
    from skgmvae.nn import GMVAE, gmvae_loss
    from skgmvae.nn.augment import RandomAffine
    from skgmvae.nn.training import _batches, _gather

    baseline = psutil.Process().memory_info().rss / 2**20  # after the imports
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=(n_images, n_features))
    start = time.perf_counter()
    estimator = GMVAETransformer()
    estimator._validate_X(X, reset=True)  # the fit's validation: every chunk of the file
    validation_s = time.perf_counter() - start
    torch.manual_seed(0)
    module = GMVAE(n_features, estimator.k, estimator.latent_dim, estimator.hidden_sizes)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    augmenter = RandomAffine((28, 28))
    generator = torch.Generator().manual_seed(0)
    times = []
    for number, index in enumerate(_batches(n_images, estimator.batch_size, generator, "cpu"), start=1):
        if number > n_steps:
            break
        tick = time.perf_counter()
        loss, _ = gmvae_loss(module, _gather(X, index, torch.device("cpu")), generator, augmenter, 1.0, 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - tick)
    rss_after_steps = psutil.Process().memory_info().rss / 2**20 - baseline
    steady = np.array(times[20:])  # the first steps warm up the allocator
    return {"n": n_images, "validation_s": validation_s, "step_ms": 1000 * float(np.median(steady)),
            "step_ms_mean": 1000 * float(steady.mean()), "peak_rss_above_baseline_mib": _peak_rss_mib() - baseline,
            "rss_after_steps_mib": rss_after_steps, "baseline_mib": baseline}


def run_memmap(args):
    from skgmvae.datasets import load_dataset

    X = load_dataset("emnist", args.data_dir)["X_pool"]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as folder:
        for n_images in args.sizes:
            path = Path(folder) / f"emnist-{n_images}.u8"
            start = time.perf_counter()
            write_distorted_memmap(X, n_images, path)
            written_s = time.perf_counter() - start
            code = (f"import json; from benchmarks.scale import memmap_worker; "
                    f"print(json.dumps(memmap_worker({str(path)!r}, {n_images}, {X.shape[1]}, {args.steps})))")
            result = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                               text=True).stdout.strip().splitlines()[-1])
            result.update(file_mib=path.stat().st_size / 2**20, written_s=written_s)
            rows.append(result)
            print(result, flush=True)
            path.unlink()
    lines = ["# Memmap input: time per training step and peak memory against the number of images", "",
             f"Command: `python -m benchmarks.scale memmap`; {args.steps} optimizer steps (batch 64, K=200, "
             f"default sizes, distortions on) per size, each in a fresh process; {_machine()}.", "",
             "| images | file | written in | validation of the whole file | time per step (median) | "
             "peak RSS above the interpreter's |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['n']:,} | {row['file_mib']:.0f} MiB | {row['written_s']:.0f} s | "
                     f"{row['validation_s']:.1f} s | {row['step_ms']:.1f} ms | "
                     f"{row['peak_rss_above_baseline_mib']:.0f} MiB |")
    ratio = rows[-1]["step_ms"] / rows[0]["step_ms"]
    lines += ["", f"Time per step, {rows[-1]['n']:,} against {rows[0]['n']:,} images: {ratio:.2f}x."]
    _write("memmap.md", lines)
    _write_csv("memmap.csv", [{"images": row["n"], "file_mib": round(row["file_mib"], 1),
                               "written_s": round(row["written_s"], 1), "validation_s": round(row["validation_s"], 2),
                               "step_ms_median": round(row["step_ms"], 2),
                               "peak_rss_above_interpreter_mib": round(row["peak_rss_above_baseline_mib"], 1),
                               "machine": _machine()} for row in rows])


def run_threads(args):
    code = ("import sys, time; from skgmvae import GMVAETransformer; from skgmvae.datasets import load_digits_dataset;"
            "X = load_digits_dataset().X_train[:1198]; n = None if sys.argv[1] == 'None' else int(sys.argv[1]);"
            "t = time.perf_counter(); GMVAETransformer(k=30, max_epochs=40, pretrain_epochs=50, random_state=0,"
            " device='cpu', n_jobs=n).fit(X); print(time.perf_counter() - t)")
    busy = ("import torch, time\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).clamp(-1, 1)\n")
    results = {}
    for n_jobs in ("None", "2", "1"):
        for beside in (False, True):
            other = subprocess.Popen([sys.executable, "-c", busy]) if beside else None
            try:
                time.sleep(3 if beside else 0)
                seconds = [float(subprocess.run([sys.executable, "-c", code, n_jobs], check=True, capture_output=True,
                                                text=True).stdout.strip()) for _ in range(args.repeats)]
            finally:
                if other is not None:
                    other.kill()
                    other.wait()
            results[(n_jobs, beside)] = float(np.median(seconds))
            print(n_jobs, beside, seconds, flush=True)
    idle = results[("None", False)]
    lines = ["# Threads: a digits fit alone and beside another torch process", "",
             f"Command: `python -m benchmarks.scale threads`; the fit of the scale issue (1,198 digits, k=30, "
             f"40 + 50 pretraining epochs), median of {args.repeats} runs; the other process runs 512x512 matrix "
             f"products with torch's default threads; {_machine()}.", "",
             "| n_jobs | alone | beside the other process | slowdown | against the default alone |",
             "|---|---|---|---|---|"]
    for n_jobs in ("None", "2", "1"):
        alone, shared = results[(n_jobs, False)], results[(n_jobs, True)]
        lines.append(f"| {n_jobs} | {alone:.1f} s | {shared:.1f} s | {shared / alone:.1f}x | {shared / idle:.1f}x |")
    _write("threads.md", lines)
    _write_csv("threads.csv", [{"n_jobs": n_jobs, "alone_s": round(results[(n_jobs, False)], 2),
                                "beside_other_process_s": round(results[(n_jobs, True)], 2), "repeats": args.repeats,
                                "machine": _machine()} for n_jobs in ("None", "2", "1")])


def run_search(args):
    from distributed import Client, LocalCluster
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline

    from skgmvae import ClusterLabelDecoder, GMVAETransformer, labeled_accuracy_scorer
    from skgmvae.datasets import load_dataset
    from skgmvae.evaluation import draw_labeled_rows

    data = load_dataset(args.dataset, args.data_dir)
    X, y = data["X_pool"], data["y_pool"]
    # Not seed 0: RandomState(0) draws the same permutation as KFold(shuffle=True, random_state=0), which
    # would put every labeled row in one test fold.
    labeled = draw_labeled_rows(len(y), args.labels, seed=1)
    y_semi = np.full(len(y), -1, dtype=y.dtype)
    y_semi[labeled] = y[labeled]
    params = {"random_state": 0, "device": "cpu"}
    if args.max_epochs:
        params["max_epochs"] = args.max_epochs

    def search():
        pipe = Pipeline([("gmvae", GMVAETransformer(**params)), ("decoder", ClusterLabelDecoder())])
        return GridSearchCV(pipe, {"gmvae__k": args.k}, cv=KFold(3, shuffle=True, random_state=0),
                            scoring=labeled_accuracy_scorer, n_jobs=-1)

    start = time.perf_counter()
    local = search().set_params(n_jobs=1).fit(X, y_semi)
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster), parallel_config(backend="dask"):
        started_s = time.perf_counter() - start
        on_dask = search().fit(X, y_semi)
    dask_s = time.perf_counter() - start
    same = (local.best_params_ == on_dask.best_params_ and
            np.array_equal(local.cv_results_["mean_test_score"], on_dask.cv_results_["mean_test_score"]))
    lines = [f"# GridSearchCV over K on {args.dataset}: one process against a Dask LocalCluster", "",
             f"Command: `python -m benchmarks.scale search --dataset {args.dataset}"
             f"{f' --max-epochs {args.max_epochs}' if args.max_epochs else ''}`; K in {args.k}, 3 folds, "
             f"{args.labels} random labels among {len(X)} images, soft decoding, labeled-row accuracy; "
             f"{_machine()}.", "",
             "| run | wall time | best K | mean test scores |", "|---|---|---|---|",
             f"| n_jobs=1 | {local_s:.0f} s | {local.best_params_['gmvae__k']} | "
             f"{', '.join(f'{v:.3f}' for v in local.cv_results_['mean_test_score'])} |",
             f"| Dask LocalCluster, 2 workers x 1 thread (cluster start {started_s:.0f} s included) | {dask_s:.0f} s | "
             f"{on_dask.best_params_['gmvae__k']} | "
             f"{', '.join(f'{v:.3f}' for v in on_dask.cv_results_['mean_test_score'])} |", "",
             f"Identical best parameters and scores: **{same}**; speed-up {local_s / dask_s:.2f}x."]
    _write(f"search-{args.dataset}.md", lines)
    _write_csv(f"search-{args.dataset}.csv", [
        {"run": run, "wall_s": round(seconds, 1), "cluster_start_s": round(start_s, 1),
         "best_k": fitted.best_params_["gmvae__k"], "k": " ".join(str(k) for k in args.k),
         "mean_test_scores": " ".join(repr(float(v)) for v in fitted.cv_results_["mean_test_score"]),
         "identical": same, "machine": _machine()}
        for run, seconds, start_s, fitted in (("n_jobs=1", local_s, 0.0, local),
                                              ("dask-localcluster-2x1", dask_s, started_s, on_dask))])


def _write(name, lines):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _write_csv(name, records):
    from benchmarks._protocol import write_csv

    RESULTS.mkdir(parents=True, exist_ok=True)
    write_csv(RESULTS / name, records)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    memmap = parts.add_parser("memmap")
    memmap.add_argument("--data-dir", default=None)
    memmap.add_argument("--sizes", type=int, nargs="+", default=list(MEMMAP_SIZES))
    memmap.add_argument("--steps", type=int, default=300)
    memmap.add_argument("--work-dir", default=None, help="folder for the memmap files (default: the temp folder)")
    threads = parts.add_parser("threads")
    threads.add_argument("--repeats", type=int, default=3)
    search = parts.add_parser("search")
    search.add_argument("--dataset", default="digits")
    search.add_argument("--data-dir", default=None)
    search.add_argument("--k", type=int, nargs="+", default=[25, 50, 100, 200])
    search.add_argument("--labels", type=int, default=300)
    search.add_argument("--max-epochs", type=int, default=None)
    args = parser.parse_args(argv)
    {"memmap": run_memmap, "threads": run_threads, "search": run_search}[args.part](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
