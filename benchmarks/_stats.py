"""Summaries of benchmark records: spread over draws and training seeds, paired differences, ties.

A record is one accuracy: a method fitted on one draw of labels (``seed``) of the model of one training
seed (``train_seed``), scored on one set of rows (``split``: the candidates' unlabeled ``rest``, the
``validation`` or the ``test`` images), in one split of the protocol (``protocol_split``).

Two methods compared on the same draws of the same models are compared **pairwise**: the difference of
their accuracies on each (training seed, draw) cancels what the draw and the model share. A difference
whose 95% t-interval holds 0 is a tie; the docs call nothing a lead that is not outside it.
"""

from itertools import combinations

import numpy as np
from scipy import stats

TIE = "tie"


def t_half_width(values, confidence=0.95):
    """Half-width of the Student-t confidence interval of the mean of ``values`` (0 for fewer than two)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return 0.0
    sem = values.std(ddof=1) / np.sqrt(len(values))
    return float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * sem)


def paired_difference(a, b, confidence=0.95):
    """Mean of ``a - b`` over paired runs, with its t-interval, and whether it is a tie.

    Parameters
    ----------
    a, b : array-like of shape (n_pairs,)
        Accuracies of two methods on the same runs, in the same order.
    confidence : float, default=0.95

    Returns
    -------
    dict
        ``difference`` (mean of ``a - b``), ``ci`` (half-width), ``low``, ``high``, ``n_pairs`` and
        ``verdict``: ``'tie'`` when the interval holds 0 (always with a single pair), else ``'a ahead'``
        or ``'b ahead'``.

    Examples
    --------
    >>> from benchmarks._stats import paired_difference
    >>> paired_difference([0.80, 0.82, 0.81], [0.70, 0.71, 0.72])["verdict"]
    'a ahead'
    >>> paired_difference([0.80, 0.70, 0.75], [0.75, 0.75, 0.74])["verdict"]
    'tie'
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D and paired, got shapes {a.shape} and {b.shape}.")
    differences = a - b
    mean = float(differences.mean())
    half_width = t_half_width(differences, confidence)
    low, high = mean - half_width, mean + half_width
    if len(differences) < 2 or low <= 0 <= high:
        verdict = TIE
    else:
        verdict = "a ahead" if mean > 0 else "b ahead"
    return {"difference": mean, "ci": half_width, "low": low, "high": high, "n_pairs": len(differences),
            "verdict": verdict}


def _group(records, keys):
    groups = {}
    for row in records:
        groups.setdefault(tuple(row[key] for key in keys), []).append(row)
    return groups


def summarize_over_seeds(records, confidence=0.95):
    """Mean accuracy per method and count, with its spread over draws and over training seeds.

    Parameters
    ----------
    records : list of dict
        With keys ``protocol_split``, ``split``, ``method``, ``n_labels``, ``train_seed``, ``seed`` and
        ``accuracy``.
    confidence : float, default=0.95

    Returns
    -------
    list of dict
        One row per (protocol_split, split, method, n_labels), in the order of first appearance:
        ``mean`` over every (training seed, draw); ``ci``, the half-width of the t-interval over those
        runs; ``draw_sd``, the standard deviation over draws averaged over training seeds; ``seed_sd``,
        the standard deviation of the training seeds' means (0 with one seed); ``seed_means``, those
        means separated by spaces; ``n_draws`` per seed and ``n_train_seeds``. It reads like
        :func:`skgmvae.evaluation.summarize`'s output (``split``, ``method``, ``n_labels``, ``mean``,
        ``ci``), so the package's tables and figures take it.
    """
    summary = []
    for (protocol_split, split, method, n_labels), rows in _group(
            records, ("protocol_split", "split", "method", "n_labels")).items():
        by_seed = _group(rows, ("train_seed",))
        seed_means = [np.mean([row["accuracy"] for row in seed_rows]) for seed_rows in by_seed.values()]
        draw_sds = [np.std([row["accuracy"] for row in seed_rows], ddof=1) if len(seed_rows) > 1 else 0.0
                    for seed_rows in by_seed.values()]
        values = [row["accuracy"] for row in rows]
        summary.append({
            "protocol_split": protocol_split, "split": split, "method": method, "n_labels": n_labels,
            "mean": float(np.mean(values)), "ci": t_half_width(values, confidence),
            "draw_sd": float(np.mean(draw_sds)),
            "seed_sd": float(np.std(seed_means, ddof=1)) if len(seed_means) > 1 else 0.0,
            "seed_means": " ".join(f"{mean:.4f}" for mean in seed_means),
            "n_draws": len(rows) // len(by_seed), "n_train_seeds": len(by_seed),
        })
    return summary


def paired_rows(records, confidence=0.95):
    """Every pair of methods compared on the same (training seed, draw), at each count and set of rows.

    Parameters
    ----------
    records : list of dict
        As for :func:`summarize_over_seeds`.
    confidence : float, default=0.95

    Returns
    -------
    list of dict
        One row per (protocol_split, split, n_labels, method_a, method_b), methods in their order of first
        appearance: the keys of :func:`paired_difference` (difference = a - b). Runs that only one of the
        two methods has are left out of the pair.
    """
    rows = []
    for (protocol_split, split, n_labels), group in _group(records, ("protocol_split", "split", "n_labels")).items():
        by_method = {}
        for row in group:
            by_method.setdefault(row["method"], {})[(row["train_seed"], row["seed"])] = row["accuracy"]
        for method_a, method_b in combinations(by_method, 2):
            runs = sorted(set(by_method[method_a]) & set(by_method[method_b]))
            if not runs:
                continue
            result = paired_difference([by_method[method_a][run] for run in runs],
                                       [by_method[method_b][run] for run in runs], confidence)
            rows.append({"protocol_split": protocol_split, "split": split, "n_labels": n_labels,
                         "method_a": method_a, "method_b": method_b, **result})
    return rows


def ties_with_best(summary, paired):
    """For each count and set of rows, the method with the highest mean and every method tied with it.

    Parameters
    ----------
    summary : list of dict
        Output of :func:`summarize_over_seeds`.
    paired : list of dict
        Output of :func:`paired_rows` on the same records.

    Returns
    -------
    list of dict
        One row per (protocol_split, split, n_labels): ``best`` (highest mean), ``tied`` (methods whose
        paired difference with it is a tie, separated by ``'; '``) and ``best_mean``.
    """
    verdicts = {}
    for row in paired:
        key = (row["protocol_split"], row["split"], row["n_labels"])
        verdicts[key + (row["method_a"], row["method_b"])] = row["verdict"]
        verdicts[key + (row["method_b"], row["method_a"])] = row["verdict"]
    rows = []
    for key, group in _group(summary, ("protocol_split", "split", "n_labels")).items():
        best = max(group, key=lambda row: row["mean"])
        tied = [row["method"] for row in group
                if row is not best and verdicts.get(key + (best["method"], row["method"])) == TIE]
        rows.append({"protocol_split": key[0], "split": key[1], "n_labels": key[2], "best": best["method"],
                     "best_mean": best["mean"], "tied": "; ".join(tied)})
    return rows


def route_counts(records, method):
    """How often each route was picked by the row ``method`` (its ``chosen_route`` column).

    Returns
    -------
    list of dict
        One row per (protocol_split, n_labels, chosen_route): ``times`` picked and ``runs`` in all
        (training seeds x draws), counted on the ``rest`` rows so each run counts once. A draw on which
        the search fell back to soft decoding (``fallback`` True) is counted apart.
    """
    picks = [row for row in records if row["method"] == method and row["split"] == "rest"]
    rows = []
    for (protocol_split, n_labels), group in _group(picks, ("protocol_split", "n_labels")).items():
        named = [{**row, "route": row["chosen_route"] + (" (fallback: too few labels to search)"
                                                         if str(row.get("fallback")) == "True" else "")}
                 for row in group]
        for route, chosen in _group(named, ("route",)).items():
            rows.append({"protocol_split": protocol_split, "n_labels": n_labels, "chosen_route": route[0],
                         "times": len(chosen), "runs": len(group)})
    return rows


def cluster_purity(Q, y):
    """Share of rows whose most probable cluster's majority label (over the rows given) is their own label.

    Parameters
    ----------
    Q : ndarray of shape (n_rows, n_clusters)
        A posterior over clusters (q(c|x), or a UMAPMixture's).
    y : ndarray of shape (n_rows,)
        Every row's true label; used only to score.

    Returns
    -------
    float
    """
    assigned = np.asarray(Q).argmax(axis=1)
    y = np.asarray(y)
    correct = 0
    for cluster in np.unique(assigned):
        _, counts = np.unique(y[assigned == cluster], return_counts=True)
        correct += counts.max()
    return correct / len(y)
