"""Input checks shared by the estimators: pixel range, posterior rows (the -1 convention is in ``_labels``)."""

import numpy as np
from sklearn.utils.validation import validate_data

from ._io import read_rows
from ._labels import UNLABELED, check_has_labels, labeled_mask  # noqa: F401  (the label rule lives in _labels)

# Rows checked at a time when an image array is validated in place (a memmap is never read whole).
CHECK_CHUNK_ROWS = 65_536
_IMAGE_DTYPES = (np.uint8, np.float32, np.float64)


def validate_images(estimator, X, *, reset):
    """Validate images for a GMVAE: floats in [0, 1] or uint8 in 0-255, finite, 2-D.

    A 2-D NumPy array (a memmap included) of float32, float64 or uint8 is
    checked chunk by chunk and returned as it is, so no copy is made; any
    other input goes through :func:`sklearn.utils.validation.validate_data`
    and becomes floats.

    Parameters
    ----------
    estimator : estimator
        Receives ``n_features_in_`` (and ``feature_names_in_``) when ``reset``.
    X : array-like of shape (n_samples, n_features)
    reset : bool
        As in ``validate_data``.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype in _IMAGE_DTYPES):
        X = validate_data(estimator, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1)
        check_unit_interval(X, type(estimator).__name__)
        return X
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    if X.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
    if X.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
    if X.dtype != np.uint8:
        for start in range(0, X.shape[0], CHECK_CHUNK_ROWS):
            chunk = read_rows(X, slice(start, start + CHECK_CHUNK_ROWS))
            rows = f"rows {start} to {start + len(chunk) - 1}"
            if not np.isfinite(chunk).all():
                raise ValueError(f"Input X contains NaN or infinity in {rows}; remove or impute those values.")
            check_unit_interval(chunk, type(estimator).__name__, where=f" in {rows}")
    return X


def check_unit_interval(X, estimator_name, where=""):
    """Raise a ValueError unless every value of ``X`` lies in [0, 1].

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Already validated as finite.
    estimator_name : str
        Named in the message.
    where : str, default=""
        Appended to the range in the message (e.g. " in rows 0 to 99").
    """
    if X.size and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(
            f"{estimator_name} models pixels with a Bernoulli likelihood, which needs every value "
            f"in [0, 1]; got values from {X.min():.4g} to {X.max():.4g}{where}. Scale the data first, "
            "e.g. X / 255 for 8-bit images (or pass them as uint8, which is read as X / 255), or "
            "sklearn.preprocessing.MinMaxScaler() in a Pipeline."
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
