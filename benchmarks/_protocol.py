"""What the benchmark scripts share: the data sets, the development and report splits, the model cache.

Every script takes ``--dataset`` with the package's data set names (:data:`skgmvae.datasets.DATASET_NAMES`);
results go to ``benchmarks/results/<results folder>/``, where EMNIST's folder is ``emnist-partial`` because
the runs here use the partial offline copy. Labeled rows are always drawn by
:func:`skgmvae.evaluation.draw_labeled_rows`.

Two splits keep the rows that decide (defaults, routes, classifier settings) apart from the rows the
published tables report (:func:`protocol_split`, ``--split`` in every script):

- **development**: what variants, route comparisons and settings are scored on;
- **report**: what the published tables (``label_efficiency.py``) are scored on, once the decisions are made.

On EMNIST (partial) and digits the label candidates are cut in two halves, stratified by class with
``train_test_split(..., stratify=y, random_state=SPLIT_SEED)``: labels are drawn from one half and
accuracy is measured on the rest of that half. On Fashion-MNIST a stratified validation set of
``VALIDATION_SIZE`` of the 60,000 training images is set apart the same way; both splits draw labels from
the other 50,000 training images, the development split is scored on the validation images and the report
split on the 10,000 test images, which nothing else reads. Report draws are seeded ``REPORT_DRAW_SEED + s``
instead of ``s``, so that no draw of labels is shared with the development runs either.
The GMVAE is fitted on the whole unlabeled pool in both splits (it reads no label), so one cached model
serves both.
"""

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
RESULTS = Path(__file__).parent / "results"
CACHE = Path(__file__).parent / "_cache"  # fitted models, kept out of git

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


def write_csv(path, rows):
    """Rows (dicts with the same keys) as a CSV file with a header line."""
    import csv

    if not rows:
        raise ValueError(f"Nothing to write to {path}: no rows.")
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def cache_path(dataset, k, random_state=0, **params):
    """Where the GMVAE with ``k`` components, training seed ``random_state`` and ``params`` is cached.

    The package defaults (no ``params``) keep the names of earlier runs; other parameters are spelled
    into the name (``...-max_epochs2.pt``).
    """
    suffix = f"-seed{random_state}" if random_state else ""
    suffix += "".join(f"-{name}{value}" for name, value in sorted(params.items()))
    return CACHE / f"{SETTINGS[dataset]['results']}-gmvae-k{k}{suffix}.pt"


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
    CACHE.mkdir(exist_ok=True)
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
