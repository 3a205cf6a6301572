"""Input checks shared by the estimators: pixel range, posterior rows, the -1 convention."""

import numpy as np

UNLABELED = -1


def check_unit_interval(X, estimator_name):
    """Raise a ValueError unless every value of ``X`` lies in [0, 1].

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Already validated as finite.
    estimator_name : str
        Named in the message.
    """
    if X.size and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(
            f"{estimator_name} models pixels with a Bernoulli likelihood, which needs every value "
            f"in [0, 1]; got values from {X.min():.4g} to {X.max():.4g}. Scale the data first, "
            "e.g. X / 255 for 8-bit images or sklearn.preprocessing.MinMaxScaler() in a Pipeline."
        )


def check_posterior_rows(Q, atol=1e-3):
    """Raise a ValueError unless each row of ``Q`` is a probability vector.

    Parameters
    ----------
    Q : ndarray of shape (n_samples, n_components)
        Already validated as finite.
    atol : float
        Tolerance on the row sums.
    """
    if Q.size == 0:
        return
    row_sums = Q.sum(axis=1)
    if Q.min() < -atol or not np.allclose(row_sums, 1.0, atol=atol):
        worst = int(np.argmax(np.abs(row_sums - 1.0)))
        raise ValueError(
            "ClusterLabelDecoder expects q(c|x): non-negative rows that sum to 1, such as the "
            f"output of GMVAETransformer.transform; got row {worst} summing to "
            f"{row_sums[worst]:.4g} and a minimum value of {Q.min():.4g}. If these are raw "
            "pixels, put a GMVAETransformer before the decoder in a Pipeline."
        )


def labeled_mask(y):
    """Boolean mask of the labeled rows: those whose label is not -1.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any type; -1 marks an unlabeled row (the convention of
        :mod:`sklearn.semi_supervised`). In a string array, "-1" counts as -1,
        since NumPy turns a -1 mixed with strings into "-1".

    Returns
    -------
    ndarray of bool, shape (n_samples,)
    """
    y = np.asarray(y)
    if y.dtype.kind in "US":
        return y != str(UNLABELED)
    if y.dtype.kind == "O":
        return np.array([not _is_unlabeled(value) for value in y], dtype=bool)
    return y != UNLABELED


def _is_unlabeled(value):
    if isinstance(value, (str, bytes)):
        return False
    try:
        return bool(value == UNLABELED)
    except (TypeError, ValueError):
        return False


def check_has_labels(mask, estimator_name):
    """Raise a ValueError when no row is labeled."""
    if not mask.any():
        raise ValueError(
            f"{estimator_name} needs at least one labeled row, but every label in y is -1 "
            "(the marker of unlabeled rows). Label some rows, or use GMVAETransformer alone "
            "for unsupervised clustering."
        )
