"""Fair comparison on partly labeled data: accuracy on labeled rows, and a
meta-estimator that fits any stock classifier on the labeled rows only."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._labels import as_class_array, split_labels


def labeled_accuracy_score(y_true, y_pred, *, sample_weight=None):
    """Accuracy over the rows whose true label is not -1.

    Labels are read as every estimator of this package reads them (integers
    in an object array are integers; -1 and ``"-1"`` mark unlabeled rows).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; -1 or ``"-1"`` marks rows to skip.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    float
        Accuracy on the labeled rows.

    Raises
    ------
    ValueError
        If no row is labeled, or the lengths differ.
    TypeError
        If the labels mix strings and numbers.
    """
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}; they must match.")
    mask, y_labeled = split_labels(y_true, estimator_name="labeled_accuracy_score")
    y_pred = as_class_array(y_pred[mask], estimator_name="labeled_accuracy_score")
    weights = None if sample_weight is None else np.asarray(sample_weight)[mask]
    return float(accuracy_score(y_labeled, y_pred, sample_weight=weights))


def labeled_accuracy_scorer(estimator, X, y):
    """Scorer for ``cross_val_score`` / ``GridSearchCV(scoring=...)``: accuracy on labeled rows.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        -1 or ``"-1"`` marks rows that are not scored.

    Returns
    -------
    float
    """
    mask, y_labeled = split_labels(y, estimator_name="labeled_accuracy_scorer")
    return labeled_accuracy_score(y_labeled, estimator.predict(_safe_indexing(X, np.flatnonzero(mask))))


class LabeledAccuracyMixin:
    """``score`` as accuracy on the labeled rows only, for classifiers that take y == -1."""

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labeled rows only (rows whose y is -1 are skipped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return labeled_accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class LabeledOnlyClassifier(LabeledAccuracyMixin, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fits any classifier on the rows whose label is not -1 (nor ``"-1"``), ignoring the rest.

    Stock classifiers cannot take the -1 marker of unlabeled rows; wrapped in
    this, they can be cross-validated on the same X, y and splits as a
    semi-supervised Pipeline. Labels are encoded to 0..n_classes-1 before the
    inner fit, so classifiers that need that (XGBoost) accept any labels.

    Parameters
    ----------
    estimator : classifier
        Cloned and fitted on the labeled rows.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray of shape (n_classes,)
        Labels of the labeled rows, sorted. Integer labels given in an
        object array (a pandas column, say) come back as ``int64``.
    n_features_in_ : int
        Number of features seen in fit.
    n_labeled_ : int
        Number of labeled rows used in fit.
    label_encoder_ : sklearn.preprocessing.LabelEncoder
        Maps the labels to 0..n_classes-1 for the inner classifier and back.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skgmvae import LabeledOnlyClassifier
    >>> X = np.array([[0.0], [0.1], [0.9], [1.0]])
    >>> y = np.array([0, -1, 1, -1])
    >>> LabeledOnlyClassifier(LogisticRegression()).fit(X, y).n_labeled_
    2
    """

    _parameter_constraints: dict = {"estimator": [HasMethods(["fit", "predict"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on the labeled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            -1 or ``"-1"`` marks unlabeled rows.
        **fit_params : dict
            Passed to the inner ``fit``.

        Returns
        -------
        self : LabeledOnlyClassifier
        """
        X, y = validate_data(self, X, y, dtype=None, accept_sparse=["csr", "csc"], ensure_all_finite=False,
                             multi_output=False)
        mask, y_labeled = split_labels(column_or_1d(y, warn=True), estimator_name=type(self).__name__)
        self.label_encoder_ = LabelEncoder().fit(y_labeled)
        self.classes_ = self.label_encoder_.classes_
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit(X[mask], self.label_encoder_.transform(y_labeled), **fit_params)
        self.n_labeled_ = int(mask.sum())
        return self

    def predict(self, X):
        """Predicted labels, in the original label type.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        codes = np.asarray(self._delegate("predict", X)).astype(int)  # checks fitted before label_encoder_ is read
        return self.label_encoder_.inverse_transform(codes)

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the inner classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._delegate("predict_proba", X)

    @available_if(lambda self: hasattr(self.estimator, "decision_function"))
    def decision_function(self, X):
        """Class scores from the inner classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            Columns in the order of ``classes_``; with two classes, the
            score of ``classes_[1]``, as scikit-learn's classifiers give it.
        """
        return self._delegate("decision_function", X)

    def _delegate(self, method, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=None, accept_sparse=["csr", "csc"], ensure_all_finite=False)
        return getattr(self.estimator_, method)(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = clone(self.estimator).__sklearn_tags__()
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags
