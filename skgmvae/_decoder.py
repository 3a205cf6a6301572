"""ClusterLabelDecoder: names the GMVAE's components with the labels of a few rows."""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._labeled import LabeledAccuracyMixin
from ._labels import split_labels
from ._validation import check_posterior_rows


class ClusterLabelDecoder(LabeledAccuracyMixin, ClassifierMixin, BaseEstimator):
    """Turns a posterior over clusters, q(c|x), into class predictions.

    Only rows whose label is not -1 (nor ``"-1"``) are used; all other rows are ignored, so
    the decoder can follow a :class:`GMVAETransformer` in a Pipeline fitted on
    partly labeled data.

    With ``m(l)`` the mean of q(c|x) over the labeled rows of class ``l`` (an
    estimate of p(c|l)):

    - ``mode='soft'`` predicts ``argmax_l <q(c|x), m(l)>``. It uses the whole
      posterior, so it copes with uncertain assignments and impure clusters.
    - ``mode='hard'`` gives each component the majority label of the labeled
      rows whose most probable component it is, and predicts the label of
      ``argmax_c q(c|x)``. Ties go to the class with the larger ``m(l)[c]``
      (then to the first in ``classes_``).
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
        Labels seen among the labeled rows, sorted. Integer labels given in
        an object array (a pandas column, say) come back as ``int64``.
    n_features_in_ : int
        Number of components K of the posteriors seen in fit.
    class_profiles_ : ndarray of shape (n_classes, n_components)
        ``m(l)``: mean posterior of the labeled rows of each class.
    component_label_counts_ : ndarray of shape (n_components, n_classes)
        Number of labeled rows of each class whose most probable component is
        each component.
    component_scores_ : ndarray of shape (n_components, n_classes)
        Hard-mode scores of each component: ``n_lc + m(l)[c] / 2``
        normalised per component, with ``n_lc`` the counts above. The
        half-weight profile term only breaks ties and names the components
        that no labeled row falls in.
    component_labels_ : ndarray of shape (n_components,)
        Index into ``classes_`` of the label each component predicts in hard
        mode (the argmax of ``component_scores_``).
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

    def _validate_posterior(self, X, reset):
        X = validate_data(self, X, reset=reset, dtype=np.float64)
        check_posterior_rows(X)
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the class profiles and component labels from the labeled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            q(c|x) of each row, e.g. from :meth:`GMVAETransformer.transform`.
        y : array-like of shape (n_samples,)
            Labels; -1 or ``"-1"`` marks an unlabeled row. Strings and
            numbers cannot be mixed among the labels.

        Returns
        -------
        self : ClusterLabelDecoder
        """
        Q, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False, multi_output=False)
        mask, y_labeled = split_labels(column_or_1d(y, warn=True), estimator_name=type(self).__name__)
        Q_labeled = Q[mask]
        check_posterior_rows(Q)
        self.classes_, y_index = np.unique(y_labeled, return_inverse=True)
        n_classes, n_components = len(self.classes_), Q.shape[1]
        one_hot = np.eye(n_classes)[y_index]  # (n_labeled, n_classes)

        self.class_profiles_ = (one_hot.T @ Q_labeled) / one_hot.sum(axis=0)[:, None]
        counts = np.zeros((n_components, n_classes))
        np.add.at(counts, (Q_labeled.argmax(axis=1), y_index), 1.0)
        self.component_label_counts_ = counts
        # Counts decide; m(l)[c] <= 1 weighs less than one labeled row, so it only breaks ties
        # and names the components without labeled rows.
        tie_broken = counts + 0.5 * self.class_profiles_.T
        totals = tie_broken.sum(axis=1, keepdims=True)
        uniform = np.full_like(tie_broken, 1.0 / n_classes)  # a component no labeled row puts mass on
        self.component_scores_ = np.divide(tie_broken, totals, out=uniform, where=totals > 0)
        self.component_labels_ = self.component_scores_.argmax(axis=1)
        self.n_labeled_ = int(mask.sum())
        return self

    def decision_function(self, X):
        """Score of each class for each row; :meth:`predict` takes its argmax.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            q(c|x) of each row.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Soft mode: ``<q(c|x), m(l)>``. Hard mode: the row of
            ``component_scores_`` of the row's most probable component.
        """
        check_is_fitted(self)
        Q = self._validate_posterior(X, reset=False)
        if self.mode == "soft":
            return Q @ self.class_profiles_.T
        return self.component_scores_[Q.argmax(axis=1)]

    def predict(self, X):
        """Predicted label of each row: the class with the highest :meth:`decision_function` score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            q(c|x) of each row.

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    def predict_proba(self, X):
        """Class scores normalised to sum to one per row.

        These are the decision scores rescaled, not calibrated probabilities;
        their argmax is :meth:`predict`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            q(c|x) of each row.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        totals = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / scores.shape[1])
        return np.divide(scores, totals, out=uniform, where=totals > 0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags
