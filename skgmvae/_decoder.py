"""ClusterLabelDecoder: names the GMVAE's components with the labels of a few rows."""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._labeled import labeled_accuracy_score
from ._validation import check_has_labels, check_posterior_rows, labeled_mask


class ClusterLabelDecoder(ClassifierMixin, BaseEstimator):
    """Turns a posterior over clusters, q(c|x), into class predictions.

    Only rows whose label is not -1 are used; all other rows are ignored, so
    the decoder can follow a :class:`GMVAETransformer` in a Pipeline fitted on
    partly labeled data.

    With ``m(l)`` the mean of q(c|x) over the labeled rows of class ``l`` (an
    estimate of p(c|l)):

    - ``mode='soft'`` predicts ``argmax_l <q(c|x), m(l)>``. It uses the whole
      posterior, so it copes with uncertain assignments and impure clusters.
    - ``mode='hard'`` gives each component the majority label of the labeled
      rows whose most probable component it is, and predicts the label of
      ``argmax_c q(c|x)``. Ties go to the class with the larger ``m(l)[c]``.
      **A component that no labeled row falls in** takes the class whose labeled rows put the most posterior mass on it,
      ``argmax_l m(l)[c]``: the closest evidence there is, rather than an
      arbitrary class.

    Parameters
    ----------
    mode : {'soft', 'hard'}, default='soft'
        Decoding rule.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen among the labeled rows, sorted.
    n_features_in_ : int
        Number of components K of the posteriors seen in fit.
    class_profiles_ : ndarray of shape (n_classes, n_components)
        ``m(l)``: mean posterior of the labeled rows of each class.
    component_label_counts_ : ndarray of shape (n_components, n_classes)
        Number of labeled rows of each class whose most probable component is
        each component.
    component_labels_ : ndarray of shape (n_components,)
        Index into ``classes_`` of the label each component predicts in hard
        mode.
    n_labeled_ : int
        Number of labeled rows used in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmvae import ClusterLabelDecoder
    >>> Q = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    >>> y = np.array(["cat", "dog", -1], dtype=object)
    >>> ClusterLabelDecoder(mode="soft").fit(Q, y).predict([[0.7, 0.3]])
    array(['cat'], dtype=object)
    """

    _parameter_constraints: dict = {"mode": [StrOptions({"soft", "hard"})]}

    def __init__(self, mode="soft"):
        self.mode = mode

    def _validate_Q(self, Q, reset):
        Q = validate_data(self, Q, reset=reset, dtype=np.float64)
        check_posterior_rows(Q)
        return Q

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, Q, y):
        """Learn the class profiles and component labels from the labeled rows.

        Parameters
        ----------
        Q : array-like of shape (n_samples, n_components)
            q(c|x) of each row, e.g. from :meth:`GMVAETransformer.transform`.
        y : array-like of shape (n_samples,)
            Labels; -1 marks an unlabeled row.

        Returns
        -------
        self : ClusterLabelDecoder
        """
        Q, y = validate_data(self, Q, y, dtype=np.float64, y_numeric=False, multi_output=False)
        y = column_or_1d(y, warn=True)
        mask = labeled_mask(y)
        check_has_labels(mask, type(self).__name__)
        Q_labeled, y_labeled = Q[mask], y[mask]
        with warnings.catch_warnings():
            # Few labels per class is what this decoder is for; sklearn's hint that such
            # targets "could represent a regression problem" would only mislead here.
            warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
            check_classification_targets(y_labeled)
        check_posterior_rows(Q)
        self.classes_, y_index = np.unique(y_labeled, return_inverse=True)
        n_classes, n_components = len(self.classes_), Q.shape[1]
        one_hot = np.eye(n_classes)[y_index]  # (n_labeled, n_classes)

        self.class_profiles_ = (one_hot.T @ Q_labeled) / one_hot.sum(axis=0)[:, None]
        counts = np.zeros((n_components, n_classes))
        np.add.at(counts, (Q_labeled.argmax(axis=1), y_index), 1.0)
        self.component_label_counts_ = counts
        # Majority label; ties and empty components go to the largest m(l)[c] (each <= 1).
        self.component_labels_ = np.argmax(2.0 * counts + self.class_profiles_.T, axis=1)
        self.n_labeled_ = int(mask.sum())
        return self

    def decision_function(self, Q):
        """Score of each class for each row.

        Parameters
        ----------
        Q : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Soft mode: ``<q(c|x), m(l)>``. Hard mode: the share of each class
            among the labeled rows of the row's most probable component (for
            a component without labeled rows, a one-hot of its label).
        """
        check_is_fitted(self)
        Q = self._validate_Q(Q, reset=False)
        if self.mode == "soft":
            return Q @ self.class_profiles_.T
        counts = self.component_label_counts_.copy()
        empty = counts.sum(axis=1) == 0
        counts[empty, self.component_labels_[empty]] = 1.0
        shares = counts / counts.sum(axis=1, keepdims=True)
        return shares[Q.argmax(axis=1)]

    def predict(self, Q):
        """Predicted label of each row.

        Parameters
        ----------
        Q : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_``.
        """
        if self.mode == "hard":
            check_is_fitted(self)
            Q = self._validate_Q(Q, reset=False)
            return self.classes_[self.component_labels_[Q.argmax(axis=1)]]
        best = self.decision_function(Q).argmax(axis=1)
        return self.classes_[best]

    def predict_proba(self, Q):
        """Class scores normalised to sum to one per row.

        These are the decision scores rescaled, not calibrated probabilities.

        Parameters
        ----------
        Q : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scores = self.decision_function(Q)
        totals = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / scores.shape[1])
        return np.divide(scores, totals, out=uniform, where=totals > 0)

    def score(self, Q, y, sample_weight=None):
        """Accuracy on the labeled rows only (rows whose y is -1 are skipped).

        Parameters
        ----------
        Q : array-like of shape (n_samples, n_components)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return labeled_accuracy_score(y, self.predict(Q), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags
