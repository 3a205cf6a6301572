"""Cross-validation folds over the labeled rows of partly labeled data.

A semi-supervised estimator learns from the unlabeled rows too, and only a
labeled row can be scored; :class:`PartiallyLabeledKFold` therefore makes
its test folds from the labeled rows alone and trains on every other row.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator, StratifiedGroupKFold, StratifiedKFold
from sklearn.utils import indexable

from ._labels import encode_labels


class PartiallyLabeledKFold(BaseCrossValidator):
    """K-fold cross-validation over the labeled rows; unlabeled rows always train.

    The rows whose label is not -1 (nor ``"-1"``) are split into
    ``n_splits`` folds stratified by class, as
    :class:`~sklearn.model_selection.StratifiedKFold` would split them. Every
    unlabeled row is in every training fold and in no test fold, so a
    semi-supervised estimator sees all the unlabeled data in each fit and is
    scored on labeled rows only.

    Given ``groups``, the labeled rows are split as
    :class:`~sklearn.model_selection.StratifiedGroupKFold` splits them (a
    group's labeled rows are all in one test fold), and no row of a group
    in the test fold trains, labeled or not: an unlabeled row of that group
    sits that fold out.

    Rows of a class with fewer than ``n_splits`` labeled rows cannot be
    spread over the test folds: they are in every training fold (that their
    group allows) and in no test fold (a warning names those classes), so
    such a class is learned in every fold but never scored.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; at least 2.
    shuffle : bool, default=True
        Shuffle each class's labeled rows (with ``groups``, the groups)
        before splitting them into folds.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle; only used with ``shuffle=True``.

    See Also
    --------
    RouteSearchCV : Uses this splitter to choose a route from the GMVAE to labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skgmvae import PartiallyLabeledKFold
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> for train, test in PartiallyLabeledKFold(n_splits=2, random_state=0).split(np.zeros((6, 1)), y):
    ...     print(train, test)
    [0 3 4 5] [1 2]
    [1 2 4 5] [0 3]
    """

    # Groups are used when given, as by StratifiedGroupKFold; metadata routing passes them by default.
    __metadata_request__split = {"groups": True}

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        if not isinstance(n_splits, Integral) or isinstance(n_splits, bool) or n_splits < 2:
            raise ValueError(f"PartiallyLabeledKFold needs an int n_splits of at least 2, got {n_splits!r}.")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y, groups=None):
        """Indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Only its number of rows is used.
        y : array-like of shape (n_samples,)
            Labels; -1 or ``"-1"`` marks an unlabeled row.
        groups : array-like of shape (n_samples,), default=None
            Group of each row; a group is never in a training and a test
            fold at once.

        Yields
        ------
        train : ndarray of int
            The rows outside the test fold (with ``groups``: outside its
            groups), unlabeled ones included.
        test : ndarray of int
            The fold's labeled rows, sorted.
        """
        if y is None:
            raise ValueError("PartiallyLabeledKFold.split needs y, with -1 marking the unlabeled rows.")
        X, y, groups = indexable(X, y, groups)
        n_samples = len(y)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.ndim != 1:
                raise ValueError(f"groups must be one value per row, got an array of shape {groups.shape}.")
        for test in self._test_folds(y, groups):
            sits_out = np.zeros(n_samples, dtype=bool)
            sits_out[test] = True
            if groups is not None:
                sits_out |= np.isin(groups, groups[test])
            yield np.flatnonzero(~sits_out), test

    def _test_folds(self, y, groups):
        """Each fold's test rows: the labeled rows of classes with at least ``n_splits`` of them, stratified."""
        mask, classes, codes = encode_labels(y, estimator_name=type(self).__name__)
        counts = np.bincount(codes, minlength=len(classes))
        testable = counts[codes] >= self.n_splits
        if not testable.any():
            raise ValueError(
                f"PartiallyLabeledKFold(n_splits={self.n_splits}) needs a class with at least {self.n_splits} "
                f"labeled rows to make its test folds, but the most frequent class has {counts.max()}. "
                "Label more rows or lower n_splits."
            )
        rare = classes[counts < self.n_splits]
        if rare.size:
            warnings.warn(
                f"{rare.size} classes have fewer than n_splits={self.n_splits} labeled rows and are never scored "
                f"(their rows are in every training fold): {', '.join(map(str, rare[:10]))}"
                f"{', ...' if rare.size > 10 else ''}.",
                UserWarning,
                stacklevel=3,
            )
        rows = np.flatnonzero(mask)[testable]
        random_state = self.random_state if self.shuffle else None
        if groups is None:
            folds = StratifiedKFold(self.n_splits, shuffle=self.shuffle, random_state=random_state).split(
                np.zeros((len(rows), 1)), codes[testable])
        else:
            n_groups = len(np.unique(groups[rows]))
            if n_groups < self.n_splits:
                raise ValueError(
                    f"PartiallyLabeledKFold(n_splits={self.n_splits}) with groups needs the labeled rows it can "
                    f"test to span at least {self.n_splits} groups; they span {n_groups}. Label rows of more "
                    "groups or lower n_splits."
                )
            folds = StratifiedGroupKFold(self.n_splits, shuffle=self.shuffle, random_state=random_state).split(
                np.zeros((len(rows), 1)), codes[testable], groups[rows])
        for _, test in folds:
            yield np.sort(rows[test])

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        int
        """
        return self.n_splits
