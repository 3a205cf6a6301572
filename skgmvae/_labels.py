"""Which rows are labeled, and what their classes are: the one reading of ``y`` every estimator shares.

The rule
--------
- **Unlabeled rows.** A row is unlabeled when its label is -1: the integer
  or float -1 (Python or NumPy scalar) or the string ``"-1"``, in any array
  type. The string counts because NumPy turns a -1 listed beside strings
  into ``"-1"`` (``np.asarray(["cat", -1])``), and a CSV column read as text
  holds it that way.
- **Classes in an object array** (what a pandas column often is) are read as
  NumPy would read the same values in a list: integers (Python or NumPy
  ints, not bools) become an ``int64`` array, integers mixed with floats a
  ``float64`` array (classes then need integral values, as for any float
  target), bools a ``bool`` array, and strings stay strings in the object
  array. Predictions come back in that type.
- **Mixed strings and numbers** among the labeled rows raise a TypeError:
  ``"3"`` and ``3`` would silently be two classes.
- A missing value (None, NaN, ``pd.NA``) raises a ValueError: mark an
  unlabeled row with -1 instead.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

UNLABELED = -1


def labeled_mask(y):
    """Boolean mask of the labeled rows: those whose label is not -1 (nor ``"-1"``).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any type; -1 (or the string ``"-1"``) marks an unlabeled
        row, the convention of :mod:`sklearn.semi_supervised`.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
    """
    y = np.asarray(y)
    if y.dtype.kind == "U":
        return y != str(UNLABELED)
    if y.dtype.kind == "S":
        return y != str(UNLABELED).encode()
    if y.dtype.kind == "O":
        return np.fromiter((not _is_unlabeled(value) for value in y.ravel()), dtype=bool, count=y.size)
    if y.dtype.kind in "iuf":
        return y != UNLABELED
    return np.ones(y.shape, dtype=bool)


def split_labels(y, *, estimator_name, allow_unlabeled=False):
    """The mask of labeled rows and their labels as a clean class array.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels; -1 or ``"-1"`` marks an unlabeled row (see the module
        docstring for the full rule).
    estimator_name : str
        Named in error messages.
    allow_unlabeled : bool, default=False
        Accept a ``y`` whose every row is unlabeled (the labels returned are
        then empty) instead of raising.

    Returns
    -------
    mask : ndarray of bool, shape (n_samples,)
        True for the labeled rows.
    y_labeled : ndarray of shape (n_labeled,)
        Their labels: ``int64`` for integer classes (also when they came in
        an object array), strings as they came, and so on.

    Raises
    ------
    ValueError
        If no row is labeled (unless ``allow_unlabeled``), a label is
        missing, or the labels are continuous.
    TypeError
        If the labeled rows mix strings and numbers.
    """
    y = column_or_1d(y)
    _check_missing(y, estimator_name, "y")
    mask = labeled_mask(y)
    if not allow_unlabeled:
        check_has_labels(mask, estimator_name)
    y_labeled = _as_class_array(y[mask], estimator_name, "y")
    if y_labeled.size:
        with warnings.catch_warnings():
            # A few labels per class is what this package is for; sklearn's hint that such
            # targets "could represent a regression problem" would only mislead.
            warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
            check_classification_targets(y_labeled)
    return mask, y_labeled


def encode_labels(y, *, estimator_name):
    """The labeled rows, the sorted classes and each labeled row's class index.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels; -1 or ``"-1"`` marks an unlabeled row.
    estimator_name : str
        Named in error messages.

    Returns
    -------
    mask : ndarray of bool, shape (n_samples,)
        True for the labeled rows.
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted, in the type :func:`split_labels` gives.
    codes : ndarray of int, shape (n_labeled,)
        Index into ``classes`` of each labeled row's label.
    """
    mask, y_labeled = split_labels(y, estimator_name=estimator_name)
    classes, codes = np.unique(y_labeled, return_inverse=True)
    return mask, classes, codes.astype(np.intp)


def as_class_array(values, *, estimator_name, array_name="y_pred"):
    """Labels without the unlabeled marker (e.g. predictions) in the type :func:`split_labels` gives.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
    estimator_name : str
        Named in error messages.
    array_name : str, default="y_pred"
        Named in error messages.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    values = column_or_1d(values)
    _check_missing(values, estimator_name, array_name)
    return _as_class_array(values, estimator_name, array_name)


def check_has_labels(mask, estimator_name):
    """Raise a ValueError when no row is labeled."""
    if not mask.any():
        raise ValueError(
            f"{estimator_name} needs at least one labeled row, but every label in y is -1 "
            "(the marker of unlabeled rows). Label some rows, or use GMVAETransformer alone "
            "for unsupervised clustering."
        )


def _is_unlabeled(value):
    if isinstance(value, str):
        return value == str(UNLABELED)
    if isinstance(value, bytes):
        return value == str(UNLABELED).encode()
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_)) and value == UNLABELED


def _is_missing(value):
    return value is None or type(value).__name__ in ("NAType", "NaTType") or (
        isinstance(value, Real) and value != value)


def _check_missing(y, estimator_name, array_name):
    if y.dtype.kind == "f":
        missing = np.isnan(y)
    elif y.dtype.kind == "O":
        missing = np.fromiter((_is_missing(value) for value in y), dtype=bool, count=y.size)
    else:
        return
    if missing.any():
        raise ValueError(
            f"{estimator_name} got a missing label (None or NaN) in row {int(np.flatnonzero(missing)[0])} of "
            f"{array_name}; mark unlabeled rows with -1 instead (e.g. y.fillna(-1) for a pandas Series)."
        )


def _as_class_array(values, estimator_name, array_name):
    if values.dtype.kind != "O" or values.size == 0:
        return values
    kinds = {_kind(value) for value in values}
    if "str" in kinds and kinds & {"int", "float", "bool"}:
        examples = {_kind(value): value for value in values}
        number = next(examples[kind] for kind in ("int", "float", "bool") if kind in examples)
        raise TypeError(
            f"{estimator_name} got a {array_name} that mixes strings and numbers among its labeled rows (e.g. "
            f"{examples['str']!r} and {number!r}), which would make '3' and 3 two classes. "
            "Use one type for the class labels (e.g. y.astype(str)); "
            "-1 and '-1' both mark unlabeled rows."
        )
    if kinds == {"int"}:
        return values.astype(np.int64)
    if kinds <= {"int", "float"}:
        return values.astype(np.float64)
    if kinds == {"bool"}:
        return values.astype(bool)
    return values


def _kind(value):
    if isinstance(value, (str, bytes)):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, Integral):
        return "int"
    if isinstance(value, Real):
        return "float"
    return "other"

