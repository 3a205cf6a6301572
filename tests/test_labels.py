"""One reading of y for every labeled-data entry point: the -1 marker, the class type, the errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from skgmvae import ClusterLabelDecoder, LabeledOnlyClassifier, labeled_accuracy_score, labeled_accuracy_scorer
from skgmvae._labels import as_class_array, encode_labels, labeled_mask, split_labels

# Three well separated classes as q(c|x) rows; the last row of each class is unlabeled.
Q = np.repeat(np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]), 4, axis=0)
CLASS = np.repeat([0, 1, 2], 4)
UNLABELED_ROWS = np.array([3, 7, 11])


def _with_marker(values, marker):
    values = list(values)
    for row in UNLABELED_ROWS:
        values[row] = marker
    return values


INT_LABELS = [7, 8, 9]
STR_LABELS = ["ant", "bee", "cat"]
# (name, y, labels of the three classes in the type predictions should come back in)
CONTAINERS = [
    ("int array", np.array(_with_marker(np.take(INT_LABELS, CLASS), -1)), INT_LABELS),
    ("object array of ints", np.array(_with_marker(np.take(INT_LABELS, CLASS).tolist(), -1), dtype=object),
     INT_LABELS),
    ("object array of numpy ints", np.array(_with_marker(list(np.take(INT_LABELS, CLASS)), np.int64(-1)),
                                            dtype=object), INT_LABELS),
    ("Series int64", pd.Series(_with_marker(np.take(INT_LABELS, CLASS), -1)), INT_LABELS),
    ("Series object ints", pd.Series(_with_marker(np.take(INT_LABELS, CLASS).tolist(), -1), dtype=object),
     INT_LABELS),
    ("Series categorical ints", pd.Series(_with_marker(np.take(INT_LABELS, CLASS), -1)).astype("category"),
     INT_LABELS),
    ("unicode array", np.array(_with_marker(np.take(STR_LABELS, CLASS), "-1")), STR_LABELS),
    ("object array of str, int marker", np.array(_with_marker(np.take(STR_LABELS, CLASS).tolist(), -1),
                                                 dtype=object), STR_LABELS),
    ("object array of str, str marker", np.array(_with_marker(np.take(STR_LABELS, CLASS).tolist(), "-1"),
                                                 dtype=object), STR_LABELS),
    ("Series string", pd.Series(_with_marker(np.take(STR_LABELS, CLASS), "-1"), dtype="string"), STR_LABELS),
    ("Series categorical str", pd.Series(_with_marker(np.take(STR_LABELS, CLASS), "-1")).astype("category"),
     STR_LABELS),
]
CONTAINER_IDS = [name for name, _, _ in CONTAINERS]


def _expected(labels):
    return np.array([labels[c] for c in CLASS], dtype=object)


def _check_predictions(predicted, labels):
    """Predictions equal the true classes, in the user's label type (ints stay ints, strings strings)."""
    if isinstance(labels[0], int):
        assert predicted.dtype.kind == "i"
    else:
        assert all(isinstance(label, str) for label in predicted)
    np.testing.assert_array_equal(predicted.astype(object), _expected(labels))


@pytest.mark.parametrize("name, y, labels", CONTAINERS, ids=CONTAINER_IDS)
def test_cluster_label_decoder_reads_every_container(name, y, labels):
    decoder = ClusterLabelDecoder().fit(Q, y)
    assert decoder.n_labeled_ == 9
    assert list(decoder.classes_) == labels
    _check_predictions(decoder.predict(Q), labels)
    assert decoder.score(Q, y) == 1.0


@pytest.mark.parametrize("name, y, labels", CONTAINERS, ids=CONTAINER_IDS)
def test_labeled_only_classifier_reads_every_container(name, y, labels):
    # Integer labels in an object array used to be an "Unknown label type" here, unlike in the decoder.
    model = LabeledOnlyClassifier(LogisticRegression(C=100.0)).fit(Q, y)
    assert model.n_labeled_ == 9
    assert list(model.classes_) == labels
    _check_predictions(model.predict(Q), labels)
    assert model.score(Q, y) == 1.0


@pytest.mark.parametrize("name, y, labels", CONTAINERS, ids=CONTAINER_IDS)
def test_accuracy_score_and_scorer_read_every_container(name, y, labels):
    predicted = np.array([labels[c] for c in CLASS])
    assert labeled_accuracy_score(y, predicted) == 1.0
    wrong = predicted.copy()
    wrong[[0, 4]] = wrong[[4, 0]]  # two labeled rows swapped
    wrong[UNLABELED_ROWS] = wrong[0]  # unlabeled rows never count
    assert labeled_accuracy_score(y, wrong) == pytest.approx(7 / 9)
    decoder = ClusterLabelDecoder().fit(Q, y)
    assert labeled_accuracy_scorer(decoder, Q, y) == 1.0
    assert labeled_accuracy_scorer(decoder, pd.DataFrame(Q), y) == 1.0


def test_integer_predictions_scored_against_object_integer_labels():
    y_true = np.array([1, 2, -1, 2], dtype=object)
    assert labeled_accuracy_score(y_true, np.array([1, 2, 5, 1])) == pytest.approx(2 / 3)
    assert labeled_accuracy_score(y_true, np.array([1, 2, 5, 2], dtype=object)) == 1.0


@pytest.mark.parametrize("y", [np.array(["a", "-1", "b"]), np.array(["a", "-1", "b"], dtype=object),
                               np.array(["a", -1, "b"], dtype=object), np.array([b"a", b"-1", b"b"]),
                               np.array([1.0, -1.0, 2.0]), np.array([1, np.int32(-1), 2], dtype=object),
                               np.array([1.0, np.float32(-1.0), 2.0], dtype=object), pd.Series([1, -1, 2])])
def test_minus_one_as_number_or_string_is_unlabeled_in_every_array_type(y):
    np.testing.assert_array_equal(labeled_mask(y), [True, False, True])


def test_values_that_only_look_like_the_marker_are_labels():
    np.testing.assert_array_equal(labeled_mask(np.array(["-1.0", "- 1", "1", True], dtype=object)), True)
    np.testing.assert_array_equal(labeled_mask(np.array([True, False])), True)


@pytest.mark.parametrize(
    "y, dtype",
    [
        (np.array([3, np.int64(4), -1], dtype=object), np.int64),
        (np.array([3, 4.0, -1], dtype=object), np.float64),
        (np.array([True, False, -1], dtype=object), np.bool_),
        (np.array(["x", np.str_("y"), -1], dtype=object), np.object_),
        (np.array(["x", "y", "-1"]), np.dtype("<U2")),
    ],
)
def test_object_labels_become_the_array_numpy_would_make(y, dtype):
    mask, y_labeled = split_labels(y, estimator_name="test")
    np.testing.assert_array_equal(mask, [True, True, False])
    assert y_labeled.dtype == dtype


def test_encode_labels_gives_sorted_classes_and_codes():
    mask, classes, codes = encode_labels(pd.Series(["b", "-1", "a", "b"], dtype="string"), estimator_name="test")
    np.testing.assert_array_equal(mask, [True, False, True, True])
    np.testing.assert_array_equal(classes, ["a", "b"])
    np.testing.assert_array_equal(codes, [1, 0, 1])


ENTRY_POINTS = {
    "ClusterLabelDecoder.fit": lambda y: ClusterLabelDecoder().fit(Q[:len(y)], y),
    "LabeledOnlyClassifier.fit": lambda y: LabeledOnlyClassifier(LogisticRegression()).fit(Q[:len(y)], y),
    "labeled_accuracy_score": lambda y: labeled_accuracy_score(y, np.zeros(len(y), dtype=int)),
    "labeled_accuracy_scorer": lambda y: labeled_accuracy_scorer(ClusterLabelDecoder().fit(Q[:2], [0, 1]),
                                                                 Q[:len(y)], y),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("y", [np.array([-1, -1, -1]), np.array(["-1", "-1", "-1"]),
                               np.array([-1, "-1", -1], dtype=object), pd.Series([-1, -1, -1])])
def test_no_labeled_row_names_the_marker(entry, y):
    with pytest.raises(ValueError, match="at least one labeled row.*-1"):
        ENTRY_POINTS[entry](y)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_strings_mixed_with_numbers_are_a_type_error(entry):
    with pytest.raises(TypeError, match="mixes strings and numbers.*'cat' and 3"):
        ENTRY_POINTS[entry](np.array(["cat", 3, -1], dtype=object))


@pytest.mark.parametrize("entry", ["labeled_accuracy_score", "labeled_accuracy_scorer"])
@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_a_missing_label_says_to_use_the_marker(entry, missing):
    with pytest.raises(ValueError, match="missing label.*row 1.*-1"):
        ENTRY_POINTS[entry](np.array([0, missing, 1], dtype=object))


@pytest.mark.parametrize("entry", ["ClusterLabelDecoder.fit", "LabeledOnlyClassifier.fit"])
def test_estimators_refuse_missing_labels(entry):
    with pytest.raises(ValueError, match="NaN|missing label"):
        ENTRY_POINTS[entry](pd.Series([0.0, np.nan, 1.0]))


def test_predictions_mixing_strings_and_numbers_are_named_as_y_pred():
    with pytest.raises(TypeError, match="y_pred that mixes"):
        as_class_array(np.array(["a", 1], dtype=object), estimator_name="labeled_accuracy_score")
