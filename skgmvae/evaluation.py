"""The label-efficiency protocol: accuracy against the number of random labels.

As in the GMVAE article: the features (q(c|x), raw pixels, ...) are computed
once; for each number of labels and each seed, labeled rows are drawn
uniformly at random (not stratified) from a candidate pool, every method is
fitted on exactly those rows (the rest of the pool is given with y = -1, so
semi-supervised methods may use it), and accuracy is measured on the
remaining pool rows and on any held-out test set.
"""

import numpy as np
from scipy import stats
from sklearn.base import clone
from tqdm.auto import tqdm

from ._validation import UNLABELED


def draw_labeled_rows(n_rows, n_labels, seed):
    """The protocol's label draw: ``n_labels`` distinct rows out of ``n_rows``, uniformly, with ``RandomState(seed)``.

    Parameters
    ----------
    n_rows, n_labels, seed : int

    Returns
    -------
    ndarray of int, shape (n_labels,)

    Examples
    --------
    >>> from skgmvae.evaluation import draw_labeled_rows
    >>> draw_labeled_rows(10, 3, seed=0)
    array([2, 8, 4])
    """
    return np.random.RandomState(seed).choice(n_rows, n_labels, replace=False)


def semi_supervised_dtype(dtype):
    """The dtype of a target that holds the classes of ``dtype`` and the -1 of unlabeled rows.

    Unsigned integers cannot hold -1 and booleans would read it as True: they
    become ``int64`` (``uint64`` and booleans, objects); strings become objects.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmvae.evaluation import semi_supervised_dtype
    >>> semi_supervised_dtype(np.dtype(np.uint8))
    dtype('int64')
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "OUSb" or (dtype.kind == "u" and dtype.itemsize == 8):
        return np.dtype(object)
    if dtype.kind == "u":
        return np.dtype(np.int64)
    return dtype


def label_efficiency(features, y, methods, label_counts, *, n_seeds=5, test_features=None, y_test=None,
                     random_state=0, verbose=False):
    """Accuracy of each method for each number of random labels and seed.

    Parameters
    ----------
    features : dict of str to ndarray of shape (n_pool, n_features_i)
        Inputs of the methods on the candidate pool, by name (e.g.
        ``{"posterior": Q, "pixels": X}``).
    y : ndarray of shape (n_pool,)
        True labels of the pool.
    methods : dict of str to (estimator, str)
        Each method's estimator and the name of the features it reads. The
        estimator must accept y = -1 for unlabeled rows (wrap stock
        classifiers in :class:`~skgmvae.LabeledOnlyClassifier`).
    label_counts : sequence of int
        Numbers of labeled rows to draw.
    n_seeds : int, default=5
        Random draws per count.
    test_features : dict of str to ndarray, optional
        The same features on a held-out test set.
    y_test : ndarray of shape (n_test,), optional
        Labels of the test set.
    random_state : int, default=0
        Draw ``s`` is ``draw_labeled_rows(n_pool, n_labels, random_state + s)``.
    verbose : bool, default=False
        Show a progress bar.

    Returns
    -------
    list of dict
        One row per (method, n_labels, seed, split) with keys ``method``,
        ``n_labels``, ``seed``, ``split`` ('rest' of the pool or 'test') and
        ``accuracy``.
    """
    y = np.asarray(y)
    n_pool = len(y)
    if max(label_counts) >= n_pool:
        raise ValueError(f"label_counts go up to {max(label_counts)}, but the pool has only {n_pool} rows.")
    records = []
    jobs = [(n, s) for n in label_counts for s in range(n_seeds)]
    for n_labels, seed in tqdm(jobs, desc="label draws", disable=not verbose):
        labeled = draw_labeled_rows(n_pool, n_labels, random_state + seed)
        rest = np.ones(n_pool, dtype=bool)
        rest[labeled] = False
        y_semi = np.full(n_pool, UNLABELED, dtype=semi_supervised_dtype(y.dtype))
        y_semi[labeled] = y[labeled]
        for name, (estimator, feature_name) in methods.items():
            base = {"method": name, "n_labels": n_labels, "seed": seed}
            model = _fit_one(estimator, features[feature_name], y_semi)
            records.append({**base, "split": "rest", "accuracy": _accuracy(model, features[feature_name][rest],
                                                                           y[rest])})
            if test_features is not None:
                records.append({**base, "split": "test", "accuracy": _accuracy(model, test_features[feature_name],
                                                                               y_test)})
    return records


def _fit_one(estimator, X, y_semi):
    model = clone(estimator)
    # LabelSpreading divides by zero for rows that no label reaches through the knn graph (graph
    # components without a labeled row); it then predicts its first class there.
    with np.errstate(invalid="ignore", divide="ignore"):
        return model.fit(X, y_semi)


def _accuracy(model, X, y):
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.mean(model.predict(X) == y))


def summarize(records, confidence=0.95):
    """Mean accuracy and confidence half-width over seeds.

    Parameters
    ----------
    records : list of dict
        Output of :func:`label_efficiency`.
    confidence : float, default=0.95
        Level of the Student-t confidence interval of the mean.

    Returns
    -------
    list of dict
        One row per (split, method, n_labels): ``mean``, ``ci`` (half-width;
        0 with a single seed) and ``n_seeds``.
    """
    groups = {}
    for row in records:
        groups.setdefault((row["split"], row["method"], row["n_labels"]), []).append(row["accuracy"])
    summary = []
    for (split, method, n_labels), values in groups.items():
        values = np.asarray(values)
        half_width = 0.0
        if len(values) > 1:
            sem = values.std(ddof=1) / np.sqrt(len(values))
            half_width = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * sem)
        summary.append({"split": split, "method": method, "n_labels": n_labels, "mean": float(values.mean()),
                        "ci": half_width, "n_seeds": len(values)})
    return summary


def format_table(summary, split="rest"):
    """A Markdown table: one row per method, one column per number of labels.

    Parameters
    ----------
    summary : list of dict
        Output of :func:`summarize`.
    split : str, default='rest'
        Which split to show.

    Returns
    -------
    str
    """
    rows = [row for row in summary if row["split"] == split]
    counts = sorted({row["n_labels"] for row in rows})
    methods = list(dict.fromkeys(row["method"] for row in rows))
    cell = {(row["method"], row["n_labels"]): row for row in rows}
    lines = ["| method | " + " | ".join(f"{n} labels" for n in counts) + " |",
             "|---|" + "---|" * len(counts)]
    for method in methods:
        cells = []
        for n in counts:
            row = cell.get((method, n))
            cells.append("" if row is None else f"{100 * row['mean']:.1f} ± {100 * row['ci']:.1f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _coverage_chain(k):
    """Distributions of the number of covered clusters after 0, 1, 2, ... random labels."""
    covered = np.arange(k + 1)
    stay, move = covered / k, (k - covered) / k
    probabilities = np.zeros(k + 1)
    probabilities[0] = 1.0
    while True:
        yield probabilities
        moved = np.zeros(k + 1)
        moved[1:] = probabilities[:-1] * move[:-1]
        probabilities = probabilities * stay + moved


def coverage_probability(n_labels, k):
    """Probability that ``n_labels`` random labels hit every one of ``k`` equal-size clusters.

    Each label falls in a cluster uniformly at random (sampling with
    replacement, exact for a large data set). The number of clusters already
    hit is a Markov chain that goes from m to m + 1 with probability
    (k - m) / k; the answer is its probability of being at k after
    ``n_labels`` steps.

    Parameters
    ----------
    n_labels : int
    k : int

    Returns
    -------
    float
    """
    for step, probabilities in enumerate(_coverage_chain(k)):
        if step == n_labels:
            return float(probabilities[k])


def labels_for_coverage(k, confidence=0.95):
    """Fewest random labels such that every one of ``k`` equal-size clusters gets one, with ``confidence``.

    Parameters
    ----------
    k : int
        Number of clusters.
    confidence : float, default=0.95

    Returns
    -------
    int

    Examples
    --------
    >>> from skgmvae.evaluation import labels_for_coverage
    >>> labels_for_coverage(100)
    754
    """
    for step, probabilities in enumerate(_coverage_chain(k)):
        if probabilities[k] >= confidence:
            return step
