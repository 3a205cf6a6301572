"""What the benchmarks share: the data sets, the development and report splits, the model cache, the results schema.

Every benchmark takes ``--dataset`` with the package's data set names (:data:`skgmvae.datasets.DATASET_NAMES`);
results go to ``benchmarks/results/<results folder>/``, where EMNIST's folder is ``emnist-partial`` because
the runs use the partial offline copy. Labeled rows are always drawn by
:func:`skgmvae.evaluation.draw_labeled_rows`.

Two splits keep the rows that decide (defaults, routes, classifier settings) apart from the rows the
published tables report (:func:`protocol_split`, ``--split`` in every benchmark that draws labels):

- **development**: what variants, route comparisons and settings are scored on;
- **report**: what the published tables (``label_efficiency``) are scored on, once the decisions are made.

On EMNIST (partial) and digits the label candidates are cut in two halves, stratified by class with
``train_test_split(..., stratify=y, random_state=SPLIT_SEED)``: labels are drawn from one half and
accuracy is measured on the rest of that half. On Fashion-MNIST a stratified validation set of
``VALIDATION_SIZE`` of the 60,000 training images is set apart the same way; both splits draw labels from
the other 50,000 training images, the development split is scored on the validation images and the report
split on the 10,000 test images, which nothing else reads. Report draws are seeded ``REPORT_DRAW_SEED + s``
instead of ``s``, so that no draw of labels is shared with the development runs either.
The GMVAE is fitted on the whole unlabeled pool in both splits (it reads no label), so one cached model
serves both (:func:`load_or_fit_gmvae`; the cache folder is ``benchmarks/_cache``, or
``$SKGMVAE_BENCHMARK_CACHE``).

Every CSV a benchmark writes goes through :func:`write_csv`, which adds the columns of :data:`SCHEMA` to
each row: the protocol split, the seeds, the commit of the checkout, the machine (CPU model, its vector
flags, torch threads), the date and the command that wrote it. Rows written before the schema carry
``'unknown'`` in the fields nobody recorded.
"""

import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from skgmvae import ClusterLabelDecoder, GMVAETransformer
from skgmvae.evaluation import draw_labeled_rows

SETTINGS = {
    "digits": {"results": "digits", "counts": [10, 30, 100, 300]},
    "emnist": {"results": "emnist-partial", "counts": [26, 73, 146, 291, 728, 1456, 2912]},
    "fashion-mnist": {"results": "fashion-mnist", "counts": [10, 30, 100, 300, 1000, 3000]},
}
ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
DEFAULT_CACHE = Path(__file__).parent / "_cache"  # fitted models, kept out of git

SPLITS = ("development", "report")
SPLIT_SEED = 0
VALIDATION_SIZE = 10_000
REPORT_DRAW_SEED = 1000


def protocol_split(data, split, *, seed=SPLIT_SEED):
    """The rows one split of the protocol draws labels from and scores on.

    Parameters
    ----------
    data : dict
        Output of :func:`skgmvae.datasets.load_dataset`.
    split : {'development', 'report'}
    seed : int, default=SPLIT_SEED
        Seed of the stratified cut; the published splits use the default.

    Returns
    -------
    Bunch
        ``candidates``: ndarray of int, the pool rows labels are drawn from (their unlabeled rest is
        scored as ``'rest'``); ``X_test``, ``y_test``: the held-out rows scored as ``held_out``, or None;
        ``held_out``: ``'validation'``, ``'test'`` or None; ``draw_seed``: the seed of draw 0 (draw
        ``s`` uses ``draw_seed + s``); ``split``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    candidates, y_pool = np.asarray(data["label_candidates"]), data["y_pool"]
    draw_seed = REPORT_DRAW_SEED if split == "report" else 0
    if data["X_test"] is not None:
        # A held-out test set (Fashion-MNIST): the validation images come out of the training images.
        rest, validation = train_test_split(candidates, test_size=VALIDATION_SIZE, stratify=y_pool[candidates],
                                            random_state=seed)
        rest, validation = np.sort(rest), np.sort(validation)
        if split == "development":
            return Bunch(candidates=rest, X_test=data["X_pool"][validation], y_test=y_pool[validation],
                         held_out="validation", draw_seed=draw_seed, split=split)
        return Bunch(candidates=rest, X_test=data["X_test"], y_test=data["y_test"], held_out="test",
                     draw_seed=draw_seed, split=split)
    development, report = train_test_split(candidates, test_size=0.5, stratify=y_pool[candidates],
                                           random_state=seed)
    chosen = development if split == "development" else report
    return Bunch(candidates=np.sort(chosen), X_test=None, y_test=None, held_out=None, draw_seed=draw_seed,
                 split=split)


def add_split_argument(parser, default):
    """``--split {development,report}`` with the script's default."""
    parser.add_argument("--split", choices=SPLITS, default=default,
                        help=f"which rows to draw labels from and score on (default: {default}; "
                             "benchmarks/_protocol.py says which rows each split holds)")


def results_dir(dataset, out=None, split="report"):
    """The output folder of a script (created): ``out`` when given, else the data set's results folder.

    The development split's results go to a ``development/`` folder inside it, so that they never
    overwrite the report's.
    """
    folder = RESULTS / SETTINGS[dataset]["results"]
    folder = Path(out) if out else folder / "development" if split == "development" else folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


SCHEMA = ("protocol_split", "seeds", "commit", "machine", "cpu_flags", "threads", "date", "command")
UNKNOWN = "unknown"  # a field nobody recorded (rows written before the schema)
NOT_APPLICABLE = "none"  # a field that does not apply (no protocol split in a timing, no seed in a tool)
# The CPU flags that decide which kernels torch runs (x86 and ARM spellings).
VECTOR_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8",
                "asimd", "sve", "bf16", "i8mm")


def git_commit(checkout=ROOT):
    """The commit of ``checkout``, with ``-dirty`` when tracked files other than results differ from it, or 'unknown'.

    Files under ``benchmarks/results/`` do not count: a run that rewrites its own result files (a re-run of a
    checked-in table) still ran the code of the commit.
    """
    try:
        described = subprocess.run(["git", "-C", str(checkout), "describe", "--always", "--abbrev=12"],
                                   capture_output=True, text=True, timeout=60)
        changed = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no", "--",
                                  ".", ":(exclude)benchmarks/results"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    commit = described.stdout.strip()
    if described.returncode != 0 or not commit or changed.returncode != 0:
        return UNKNOWN
    return commit + ("-dirty" if changed.stdout.strip() else "")


def machine():
    """The machine a figure was measured on: ``machine`` (CPU model, architecture, cores, GPU), ``cpu_flags``.

    ``cpu_flags`` lists the :data:`VECTOR_FLAGS` the CPU has (from ``/proc/cpuinfo``; 'unknown' elsewhere).
    """
    model, flags = None, None
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware") and model is None:
            model = value.strip()
        if key.strip() in ("flags", "Features") and flags is None:
            present = set(value.split())
            flags = " ".join(flag for flag in VECTOR_FLAGS if flag in present)
    model = model or platform.processor() or UNKNOWN
    described = f"{model}, {platform.machine()}, {os.cpu_count()} cores"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        described += f", GPU {torch.cuda.get_device_name(0)}"
    return {"machine": described, "cpu_flags": UNKNOWN if flags is None else flags or NOT_APPLICABLE}


def command_line(name, argv=None, suite="benchmarks"):
    """The command that ran ``name`` with ``argv`` (default: this process's arguments).

    ``python -m benchmarks NAME ...`` for a benchmark of the suite; ``suite='experiments'`` gives
    ``python -m experiments.NAME ...`` for a study of ``experiments/``.
    """
    argv = sys.argv[1:] if argv is None else argv
    start = ["python -m benchmarks", name] if suite == "benchmarks" else [f"python -m {suite}.{name}"]
    return " ".join(start + [shlex.join(str(part) for part in argv)]).strip()


def provenance(command, *, protocol_split=NOT_APPLICABLE, seeds=NOT_APPLICABLE):
    """The schema's fields for the CSVs of one run (see :func:`write_csv`).

    Parameters
    ----------
    command : str
        The command that runs it again (:func:`command_line`).
    protocol_split : str, default='none'
        ``'development'``, ``'report'``, or 'none' where no labels are drawn.
    seeds : str or sequence of int, default='none'
        The seeds the run used (training seeds and the seeds of the label draws), spelled out.

    Returns
    -------
    dict
        One value per name of :data:`SCHEMA`; ``threads`` is torch's intra-op threads when torch is imported.
    """
    torch = sys.modules.get("torch")
    return {"protocol_split": protocol_split, "seeds": seeds if isinstance(seeds, str) else " ".join(map(str, seeds)),
            "commit": git_commit(), **machine(),
            "threads": torch.get_num_threads() if torch is not None else NOT_APPLICABLE,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "command": command}


def read_csv(path):
    """The rows of a CSV file as dicts of strings."""
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def with_schema(rows, fill=UNKNOWN):
    """``rows`` with every column of :data:`SCHEMA`, ``fill`` where a row has none (the rows' columns first)."""
    return [{**row, **{name: fill for name in SCHEMA if name not in row}} for row in rows]


def write_csv(path, rows, run, *, append=False):
    """Write ``rows`` to the CSV file ``path`` with the provenance columns of the results schema.

    Parameters
    ----------
    path : path-like
        Created with its folder; overwritten unless ``append``.
    rows : list of dict
        The figures. A row's own value of a schema field wins over ``run``'s (a row may carry its protocol
        split, or the threads it was timed with).
    run : dict
        Output of :func:`provenance` for the run that wrote them.
    append : bool, default=False
        Keep the rows already in ``path``; those written before the schema get 'unknown' in its fields.

    Raises
    ------
    ValueError
        With no rows, or a ``run`` that lacks a field of the schema.
    """
    import csv

    if not rows:
        raise ValueError(f"Nothing to write to {path}: no rows.")
    missing = [name for name in SCHEMA if name not in run]
    if missing:
        raise ValueError(f"run lacks the schema fields {missing}: build it with provenance().")
    path = Path(path)
    new = [{**row, **{name: run[name] for name in SCHEMA if name not in row}} for row in rows]
    old = with_schema(read_csv(path)) if append and path.is_file() else []
    columns = list(dict.fromkeys(name for row in old + new for name in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(old + new)


def model_arguments(arguments, k=True):
    """``--k``, ``--max-epochs`` and ``--pretrain-epochs``: a model other than the package default (smoke runs)."""
    if k:
        arguments.add_argument("--k", type=int, default=None, help="components (default: the package's)")
    arguments.add_argument("--max-epochs", type=int, default=None, help="GMVAE epochs (default: the package's)")
    arguments.add_argument("--pretrain-epochs", type=int, default=None,
                           help="autoencoder pretraining epochs (default: the package's)")


def model_params(args):
    """The GMVAETransformer parameters other than ``k`` that :func:`model_arguments` set."""
    return {name: value for name, value in (("max_epochs", args.max_epochs), ("pretrain_epochs", args.pretrain_epochs))
            if value is not None}


def cache_dir():
    """Where fitted models are cached: ``$SKGMVAE_BENCHMARK_CACHE``, else ``benchmarks/_cache``."""
    return Path(os.environ.get("SKGMVAE_BENCHMARK_CACHE") or DEFAULT_CACHE)


def parser(name, doc):
    """The argument parser of benchmark ``name``, its description the first line of ``doc``."""
    import argparse

    return argparse.ArgumentParser(prog=f"python -m benchmarks {name}", description=doc.strip().splitlines()[0],
                                   epilog="docs/benchmarks.md: the suite, its protocol and its results schema.")


def cache_path(dataset, k, random_state=0, **params):
    """Where the GMVAE with ``k`` components, training seed ``random_state`` and ``params`` is cached.

    The package defaults (no ``params``) keep the names of earlier runs; other parameters are spelled
    into the name (``...-max_epochs2.pt``).
    """
    suffix = f"-seed{random_state}" if random_state else ""
    suffix += "".join(f"-{name}{value}" for name, value in sorted(params.items()))
    return cache_dir() / f"{SETTINGS[dataset]['results']}-gmvae-k{k}{suffix}.pt"


def _settings(model):
    """The parameters that shape a fitted model (not where, how verbosely or with how many threads it ran)."""
    return {name: value for name, value in model.get_params().items()
            if name not in ("device", "verbose", "n_jobs", "output")}


def load_or_fit_gmvae(dataset, X, k=None, random_state=0, device="auto", refit=False, cache=True, **params):
    """The package-default GMVAE for ``dataset`` from the cache, fitted and cached when absent or outdated.

    Parameters
    ----------
    dataset : str
    X : ndarray of shape (n_pool, n_features)
        The unlabeled pool.
    k : int, optional
        Components (default: the package's).
    random_state : int, default=0
        Training seed; each seed has its own cache file.
    device : str, default='auto'
    refit : bool, default=False
        Fit (and cache) even when the cache holds the model, e.g. to time the fit.
    cache : bool, default=True
        Write the fitted model to the cache (False: a refit leaves the cached model as it is).
    **params
        Other GMVAETransformer parameters (e.g. ``max_epochs`` for a smoke run); a model with
        parameters other than the defaults is cached under its own name.

    Returns
    -------
    gmvae : GMVAETransformer
    fit_seconds : float or None
        Wall time of the fit, None when the model came from the cache.
    """
    k = GMVAETransformer().k if k is None else k
    cached = cache_path(dataset, k, random_state, **params)
    wanted = GMVAETransformer(k=k, random_state=random_state, **params)
    if cached.is_file() and not refit:
        model = GMVAETransformer.load(cached, device=device)
        if _settings(model) == _settings(wanted):
            return model, None
        print(f"{cached} was fitted with other settings; fitting again")
    start = time.perf_counter()
    gmvae = wanted.set_params(device=device, verbose=True).fit(X)
    fit_seconds = time.perf_counter() - start
    print(f"fitted in {fit_seconds:.0f} s")
    if not cache:
        return gmvae, fit_seconds
    cached.parent.mkdir(parents=True, exist_ok=True)
    gmvae.save(cached)
    cached.with_suffix(".fit-seconds").write_text(f"{fit_seconds:.1f}")
    return gmvae, fit_seconds


def recorded_fit_seconds(gmvae_path):
    """The fit time written beside a cached model by :func:`load_or_fit_gmvae`, or None."""
    recorded = Path(gmvae_path).with_suffix(".fit-seconds")
    return float(recorded.read_text()) if recorded.is_file() else None


def evaluation_rows(Q, y, labeled, Q_test=None, y_test=None):
    """What a decoder fitted on ``labeled`` is scored on: the held-out rows when given, else the other rows."""
    if Q_test is not None:
        return Q_test, y_test
    rest = np.setdiff1d(np.arange(len(y)), labeled)
    return Q[rest], y[rest]


def decoder_accuracy(Q, y, labeled, mode="soft", Q_test=None, y_test=None):
    """Accuracy of a :class:`~skgmvae.ClusterLabelDecoder` fitted on the rows ``labeled`` of ``(Q, y)``.

    Parameters
    ----------
    Q : ndarray of shape (n_rows, k)
        q(c|x) of the label candidates.
    y : ndarray of shape (n_rows,)
    labeled : ndarray of int
        Rows whose labels the decoder sees.
    mode : {'soft', 'hard'}
    Q_test, y_test : ndarrays, optional
        Held-out rows (validation or test images); when omitted, the decoder is scored on the rows not
        labeled.

    Returns
    -------
    float
    """
    decoder = ClusterLabelDecoder(mode=mode).fit(Q[labeled], y[labeled])
    return decoder.score(*evaluation_rows(Q, y, labeled, Q_test, y_test))


def accuracy_over_draws(Q, y, n_labels, n_seeds, mode="soft", Q_test=None, y_test=None, draw_seed=0):
    """:func:`decoder_accuracy` for draws ``draw_seed .. draw_seed + n_seeds - 1`` of ``n_labels`` random labels.

    Returns
    -------
    ndarray of shape (n_seeds,)
    """
    return np.array([decoder_accuracy(Q, y, draw_labeled_rows(len(y), n_labels, draw_seed + seed), mode, Q_test,
                                      y_test)
                     for seed in range(n_seeds)])
