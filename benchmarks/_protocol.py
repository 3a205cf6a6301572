"""The label draw shared by the benchmark scripts.

Draw ``seed`` of ``n_labels`` rows is the one :func:`skgmvae.evaluation.label_efficiency`
makes with ``random_state=0``, so every script scores the same labeled rows.
"""

import numpy as np

from skgmvae import ClusterLabelDecoder


def random_labeled_rows(n_rows, n_labels, seed):
    """Indices of ``n_labels`` distinct rows out of ``n_rows``, drawn with ``RandomState(seed)``."""
    return np.random.RandomState(seed).choice(n_rows, n_labels, replace=False)


def evaluation_rows(Q, y, labeled, Q_test=None, y_test=None):
    """What a decoder fitted on ``labeled`` is scored on: the test set when given, else the other rows."""
    if Q_test is not None:
        return Q_test, y_test
    rest = np.setdiff1d(np.arange(len(y)), labeled)
    return Q[rest], y[rest]


def decoder_accuracy(Q, y, labeled, mode="soft", Q_test=None, y_test=None):
    """Accuracy of a :class:`~skgmvae.ClusterLabelDecoder` fitted on the rows ``labeled`` of ``(Q, y)``.

    Parameters
    ----------
    Q : ndarray of shape (n_rows, k)
        q(c|x) of the label candidates.
    y : ndarray of shape (n_rows,)
    labeled : ndarray of int
        Rows whose labels the decoder sees.
    mode : {'soft', 'hard'}
    Q_test, y_test : ndarrays, optional
        A held-out test set; when omitted, the decoder is scored on the rows not labeled.

    Returns
    -------
    float
    """
    decoder = ClusterLabelDecoder(mode=mode).fit(Q[labeled], y[labeled])
    return decoder.score(*evaluation_rows(Q, y, labeled, Q_test, y_test))
