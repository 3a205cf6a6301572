"""How accurate a model is on the unlabeled images, measured on a few randomly drawn labeled ones.

Images chosen by a rule (``suggest_labels``) are the typical ones, so
cross-validation on them overrates the model. An *audit sample* of images
drawn uniformly at random from the unlabeled ones, labeled with the others
and inside the same budget, is not: :func:`audit_accuracy` scores the model
on it.
"""

from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

from ._labels import labeled_mask, split_labels
from .evaluation import semi_supervised_dtype


@validate_params(
    {
        "y": ["array-like"],
        "n_audit": [Interval(Integral, 0, None, closed="left")],
        "exclude": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def draw_audit_rows(y, n_audit, *, exclude=None, random_state=None):
    """Unlabeled rows drawn uniformly at random, to be labeled as an audit sample.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels in hand, -1 for an unlabeled row; labeled rows are never drawn.
    n_audit : int
        How many rows to draw.
    exclude : array-like of int, default=None
        Rows not to draw either (for example those ``suggest_labels`` chose
        in the same round).
    random_state : int, RandomState instance or None, default=None
        Seeds the draw.

    Returns
    -------
    ndarray of shape (n_audit,)
        Row indices (int), in the order drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmvae import draw_audit_rows
    >>> y = np.array([3, -1, -1, -1, 5, -1])
    >>> draw_audit_rows(y, 2, exclude=[1], random_state=0)
    array([5, 3])
    """
    y = column_or_1d(y)
    free = ~labeled_mask(y)
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=int)
        if exclude.size and (exclude.min() < 0 or exclude.max() >= len(y)):
            raise ValueError(f"exclude holds row indices, each in [0, {len(y)}); got values from {exclude.min()} "
                             f"to {exclude.max()}.")
        free[exclude] = False
    rows = np.flatnonzero(free)
    if n_audit > len(rows):
        raise ValueError(f"n_audit must be at most the number of unlabeled rows left to draw from, {len(rows)}; "
                         f"got {n_audit}.")
    return rows[check_random_state(random_state).permutation(len(rows))[:n_audit]]


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "audit": ["array-like"],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def audit_accuracy(estimator, X, y, audit, *, confidence_level=0.9):
    """Accuracy on the unlabeled rows of ``estimator`` fitted on every label, estimated on the audit rows.

    Each labeled audit row is predicted by a clone of ``estimator`` fitted on
    every other label (leave one out), so the rows the estimate is made on are
    a uniform sample of the unlabeled ones that the model predicting them has
    not seen. With class probabilities (``predict_proba``) the estimate is the
    model's mean confidence on the unlabeled rows, corrected by the audit
    rows' mean of ``correct - confidence``::

        accuracy = mean_unlabeled(max p(l|x)) + mean_audit(1[predicted = label] - max p(l|x))

    The correction removes the confidence's bias whatever it is. The
    interval spans both the normal interval of that estimate (from the
    corrections' spread) and the Wilson interval of the audit rows' own
    accuracy: a few audit rows of an overconfident model are often all
    right, their corrections then agree, and the first alone would be
    falsely narrow. Without probabilities the estimate is the audit rows'
    accuracy with its Wilson interval.

    Audit rows left unlabeled were skipped: the estimate reads the labeled
    ones only, and the interval runs from every skipped row wrong to every
    skipped row right, since a person skips the hard images more often than
    the easy ones.

    Parameters
    ----------
    estimator : estimator instance
        Fitted or not: it is cloned, and each clone fitted with the
        semi-supervised convention, ``y == -1`` marking the unlabeled rows.
    X : array-like of shape (n_samples, n_features)
        Every row: the labeled, the audit and the unlabeled ones.
    y : array-like of shape (n_samples,)
        Labels, -1 for an unlabeled row (a skipped audit row included).
    audit : array-like of bool, shape (n_samples,)
        True for the rows drawn as the audit sample; for the indices
        :func:`draw_audit_rows` returns, ``np.isin(np.arange(n_samples), rows)``.
    confidence_level : float, default=0.9
        Coverage of the interval.

    Returns
    -------
    Bunch
        ``accuracy`` (float, NaN when no audit row is labeled), ``low`` and
        ``high`` (the interval), ``n_audit`` (labeled audit rows used),
        ``n_skipped`` (audit rows left unlabeled), ``n_unlabeled`` (rows the
        accuracy is of) and ``method`` (``'confidence corrected by audit'`` or
        ``'audit accuracy'``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skgmvae import LabeledOnlyClassifier, audit_accuracy
    >>> rng = np.random.RandomState(0)
    >>> X = np.r_[rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))]
    >>> y = np.full(100, -1)
    >>> y[[0, 1, 50, 51]] = [0, 0, 1, 1]
    >>> audit = np.zeros(100, dtype=bool)
    >>> audit[[10, 20, 60, 70]] = True
    >>> y[audit] = [0, 0, 1, 1]
    >>> result = audit_accuracy(LabeledOnlyClassifier(LogisticRegression()), X, y, audit)
    >>> bool(result.low <= result.accuracy <= result.high)
    True
    """
    X = check_array(X, accept_sparse=True, dtype=None, ensure_all_finite=False)
    y = column_or_1d(y)
    audit = column_or_1d(audit)
    if audit.dtype != bool:
        raise TypeError(f"audit must be a boolean mask of shape (n_samples,), got dtype {audit.dtype}; for the "
                        "row indices draw_audit_rows returns, pass np.isin(np.arange(n_samples), rows).")
    check_consistent_length(X, y, audit)
    labeled, _ = split_labels(y, estimator_name="audit_accuracy", allow_unlabeled=True)
    y = y.astype(semi_supervised_dtype(y.dtype))  # a type that holds -1
    audited, skipped = np.flatnonzero(audit & labeled), np.flatnonzero(audit & ~labeled)
    unlabeled = ~labeled
    if not unlabeled.any():
        raise ValueError("every row is labeled: there are no unlabeled rows whose accuracy to estimate.")
    if len(audited) == labeled.sum():
        raise ValueError("every labeled row is an audit row: the model needs labels of its own to be fitted on.")
    model = clone(estimator).fit(X, y)
    has_proba = hasattr(model, "predict_proba")
    confidence_rest = model.predict_proba(X[unlabeled]).max(axis=1) if has_proba else np.zeros(int(unlabeled.sum()))
    # A skipped audit row is unlabeled, so the model fitted on every label did not see it either.
    confidence_skipped = confidence_rest[np.searchsorted(np.flatnonzero(unlabeled), skipped)]

    correct, confidence_audit = np.zeros(len(audited)), np.zeros(len(audited))
    for position, row in enumerate(audited):
        y_without = y.copy()
        y_without[row] = -1
        left_out = clone(estimator).fit(X, y_without)
        if has_proba:
            proba = left_out.predict_proba(X[row:row + 1])[0]
            confidence_audit[position] = proba.max()
            predicted = left_out.classes_[np.argmax(proba)]
        else:
            predicted = left_out.predict(X[row:row + 1])[0]
        correct[position] = predicted == y[row]

    n_audit, n_skipped = len(audited), len(skipped)
    result = Bunch(n_audit=n_audit, n_skipped=n_skipped, n_unlabeled=int(unlabeled.sum()),
                   method="confidence corrected by audit" if has_proba else "audit accuracy")
    if n_audit == 0:
        return Bunch(**result, accuracy=float("nan"), low=0.0, high=1.0)
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    low, high = _wilson(correct.sum(), n_audit, z)
    if has_proba:
        correction = correct - confidence_audit
        accuracy = confidence_rest.mean() + correction.mean()
        half = z * np.std(correction, ddof=1) / np.sqrt(n_audit) if n_audit > 1 else np.inf
        low, high = min(low, accuracy - half), max(high, accuracy + half)
    else:
        accuracy = correct.mean()
    if n_skipped:
        # Worst and best cases for the skipped rows, each weighed as one audit row more.
        share = n_skipped / (n_audit + n_skipped)
        low = (1 - share) * low + share * (confidence_rest.mean() - confidence_skipped.mean() if has_proba else 0.0)
        high = (1 - share) * high + share * (confidence_rest.mean() + (1 - confidence_skipped).mean()
                                             if has_proba else 1.0)
    return Bunch(**result, accuracy=float(np.clip(accuracy, 0, 1)), low=float(np.clip(low, 0, 1)),
                 high=float(np.clip(high, 0, 1)))


def _wilson(successes, n, z):
    """Wilson's score interval of a proportion."""
    share = successes / n
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half
