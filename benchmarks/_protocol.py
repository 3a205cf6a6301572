"""What the benchmark scripts share: the data sets and their label counts, the model cache, the scoring.

Every script takes ``--dataset`` with the package's data set names (:data:`skgmvae.datasets.DATASET_NAMES`);
results go to ``benchmarks/results/<results folder>/``, where EMNIST's folder is ``emnist-partial`` because
the runs here use the partial offline copy. Labeled rows are always drawn by
:func:`skgmvae.evaluation.draw_labeled_rows`, so every script scores the same draws.
"""

import time
from pathlib import Path

import numpy as np

from skgmvae import ClusterLabelDecoder, GMVAETransformer
from skgmvae.evaluation import draw_labeled_rows

SETTINGS = {
    "digits": {"results": "digits", "counts": [10, 30, 100, 300]},
    "emnist": {"results": "emnist-partial", "counts": [26, 73, 146, 291, 728, 1456, 2912]},
    "fashion-mnist": {"results": "fashion-mnist", "counts": [10, 30, 100, 300, 1000, 3000]},
}
RESULTS = Path(__file__).parent / "results"
CACHE = Path(__file__).parent / "_cache"  # fitted models, kept out of git


def results_dir(dataset, out=None):
    """The output folder of a script: ``out`` when given, else the data set's results folder (created)."""
    folder = Path(out) if out else RESULTS / SETTINGS[dataset]["results"]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_path(dataset, k, random_state=0):
    """Where the package-default GMVAE with ``k`` components and training seed ``random_state`` is cached."""
    suffix = f"-seed{random_state}" if random_state else ""
    return CACHE / f"{SETTINGS[dataset]['results']}-gmvae-k{k}{suffix}.pt"


def _settings(model):
    """The parameters that shape a fitted model (not where, how verbosely or with how many threads it ran)."""
    return {name: value for name, value in model.get_params().items()
            if name not in ("device", "verbose", "n_jobs", "output")}


def load_or_fit_gmvae(dataset, X, k=None, random_state=0, device="auto"):
    """The package-default GMVAE for ``dataset`` from the cache, fitted and cached when absent or outdated.

    Returns
    -------
    gmvae : GMVAETransformer
    fit_seconds : float or None
        Wall time of the fit, None when the model came from the cache.
    """
    k = GMVAETransformer().k if k is None else k
    cached = cache_path(dataset, k, random_state)
    if cached.is_file():
        model = GMVAETransformer.load(cached, device=device)
        if _settings(model) == _settings(GMVAETransformer(k=k, random_state=random_state)):
            return model, None
        print(f"{cached} was fitted with other settings; fitting again")
    start = time.perf_counter()
    gmvae = GMVAETransformer(k=k, random_state=random_state, device=device, verbose=True).fit(X)
    fit_seconds = time.perf_counter() - start
    print(f"fitted in {fit_seconds:.0f} s")
    CACHE.mkdir(exist_ok=True)
    gmvae.save(cached)
    return gmvae, fit_seconds


def evaluation_rows(Q, y, labeled, Q_test=None, y_test=None):
    """What a decoder fitted on ``labeled`` is scored on: the test set when given, else the other rows."""
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
        A held-out test set; when omitted, the decoder is scored on the rows not labeled.

    Returns
    -------
    float
    """
    decoder = ClusterLabelDecoder(mode=mode).fit(Q[labeled], y[labeled])
    return decoder.score(*evaluation_rows(Q, y, labeled, Q_test, y_test))


def accuracy_over_draws(Q, y, n_labels, n_seeds, mode="soft", Q_test=None, y_test=None):
    """:func:`decoder_accuracy` for draws ``0 .. n_seeds - 1`` of ``n_labels`` random labels.

    Returns
    -------
    ndarray of shape (n_seeds,)
    """
    return np.array([decoder_accuracy(Q, y, draw_labeled_rows(len(y), n_labels, seed), mode, Q_test, y_test)
                     for seed in range(n_seeds)])
