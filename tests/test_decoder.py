import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from skgmvae import ClusterLabelDecoder

# Three components; rows are q(c|x).
Q = np.array([
    [0.8, 0.2, 0.0],
    [0.6, 0.4, 0.0],
    [0.1, 0.9, 0.0],
    [0.0, 0.3, 0.7],
])
y = np.array([0, 0, 1, 1])


def test_soft_profiles_and_scores_match_hand_computation():
    decoder = ClusterLabelDecoder(mode="soft").fit(Q, y)
    np.testing.assert_allclose(decoder.class_profiles_, [[0.7, 0.3, 0.0], [0.05, 0.6, 0.35]])
    q_new = np.array([[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(decoder.decision_function(q_new), [[0.5, 0.325]])
    assert decoder.predict(q_new)[0] == 0
    np.testing.assert_allclose(decoder.predict_proba(q_new), [[0.5 / 0.825, 0.325 / 0.825]])


def test_hard_majority_labels():
    Q_hard = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.2, 0.8]])
    decoder = ClusterLabelDecoder(mode="hard").fit(Q_hard, ["a", "a", "b", "b"])
    np.testing.assert_array_equal(decoder.component_label_counts_, [[2, 1], [0, 1]])
    np.testing.assert_array_equal(decoder.classes_[decoder.component_labels_], ["a", "b"])
    np.testing.assert_array_equal(decoder.predict([[0.6, 0.4], [0.1, 0.9]]), ["a", "b"])
    # counts (2, 1) plus half the class profiles m(a)[0] = 0.85, m(b)[0] = 0.45, normalised
    np.testing.assert_allclose(decoder.predict_proba([[0.6, 0.4]]), [[2.425 / 3.65, 1.225 / 3.65]])


def test_hard_component_without_labels_takes_class_with_most_mass_not_the_first():
    # Component 2 is nobody's argmax, but class "z" puts 0.45 of its mass there, class "a" none.
    Q_train = np.array([[0.9, 0.1, 0.0], [0.05, 0.5, 0.45]])
    decoder = ClusterLabelDecoder(mode="hard").fit(Q_train, ["a", "z"])
    assert decoder.component_label_counts_[2].sum() == 0
    assert decoder.predict([[0.0, 0.1, 0.9]])[0] == "z"


def test_soft_is_right_where_hard_is_wrong_on_impure_clusters():
    # Component 0 is shared: mostly class A, but class B also puts mass on it.
    # Class B's signature is its weight on component 1.
    Q_train = np.array([
        [0.9, 0.1, 0.0], [0.9, 0.0, 0.1], [0.9, 0.05, 0.05],   # class A
        [0.55, 0.45, 0.0], [0.6, 0.4, 0.0],                    # class B, argmax 0 too
        [0.1, 0.0, 0.9],                                       # class C
    ])
    y_train = np.array(["A", "A", "A", "B", "B", "C"])
    x_b = np.array([[0.52, 0.48, 0.0]])  # a B-like point
    hard = ClusterLabelDecoder(mode="hard").fit(Q_train, y_train)
    soft = ClusterLabelDecoder(mode="soft").fit(Q_train, y_train)
    assert hard.predict(x_b)[0] == "A"
    assert soft.predict(x_b)[0] == "B"


def test_unlabeled_rows_are_ignored_and_string_classes_work():
    y_semi = np.array(["cat", -1, "dog", -1], dtype=object)
    decoder = ClusterLabelDecoder().fit(Q, y_semi)
    assert list(decoder.classes_) == ["cat", "dog"]
    assert decoder.n_labeled_ == 2
    np.testing.assert_allclose(decoder.class_profiles_, [Q[0], Q[2]])
    # Unlabeled rows do not count in score.
    assert decoder.score(Q, np.array(["cat", -1, "dog", -1], dtype=object)) == 1.0


@pytest.mark.filterwarnings("error")
def test_one_label_per_class_fits_without_a_regression_hint():
    """sklearn hints at regression when most labels are distinct; one label per class is normal here."""
    Q_26 = np.random.RandomState(0).dirichlet(np.ones(5), size=26)  # sklearn hints from 21 rows on
    decoder = ClusterLabelDecoder().fit(Q_26, np.arange(26))
    np.testing.assert_array_equal(decoder.classes_, np.arange(26))
    np.testing.assert_allclose(decoder.class_profiles_, Q_26)
    with pytest.raises(ValueError, match="continuous"):
        ClusterLabelDecoder().fit(Q_26, np.linspace(0.5, 3.7, 26))


def test_one_labeled_class_predicts_it():
    decoder = ClusterLabelDecoder().fit(Q, [5, 5, -1, -1])
    np.testing.assert_array_equal(decoder.predict(Q), [5, 5, 5, 5])
    np.testing.assert_allclose(decoder.predict_proba(Q), 1.0)


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_predict_proba_rows_sum_to_one_in_classes_order(mode):
    decoder = ClusterLabelDecoder(mode=mode).fit(Q, y)
    proba = decoder.predict_proba(Q)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(decoder.classes_[proba.argmax(axis=1)], decoder.predict(Q))


@pytest.mark.parametrize(
    "Q_bad, y_bad, match",
    [
        (Q, [-1, -1, -1, -1], "at least one labeled row"),
        (Q, [0, 1], "inconsistent numbers of samples"),
        (Q * 2, y, "expects q\\(c\\|x\\)"),
        (Q - 0.5, y, "expects q\\(c\\|x\\)"),
        (np.where(Q == 0.8, np.nan, Q), y, "NaN"),
        (Q[0], y[:1], "Expected 2D array"),
        (Q, [0.5, 1.5, 2.5, 0.1], "Unknown label type"),
    ],
)
def test_bad_fit_input_raises_clear_error(Q_bad, y_bad, match):
    with pytest.raises(ValueError, match=match):
        ClusterLabelDecoder().fit(Q_bad, y_bad)


def test_unknown_mode_and_wrong_width_and_unfitted():
    with pytest.raises(ValueError, match="mode"):
        ClusterLabelDecoder(mode="fuzzy").fit(Q, y)
    with pytest.raises(NotFittedError):
        ClusterLabelDecoder().predict(Q)
    decoder = ClusterLabelDecoder().fit(Q, y)
    with pytest.raises(ValueError, match="3 features"):
        decoder.predict(np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="expects q\\(c\\|x\\)"):
        decoder.predict(np.full((2, 3), 0.5))


def test_hard_tie_is_broken_the_same_way_by_predict_and_predict_proba():
    # One labeled row of each class in component 0: "b" puts more mass on it (0.9 against 0.6).
    decoder = ClusterLabelDecoder(mode="hard").fit(np.array([[0.9, 0.1], [0.6, 0.4]]), ["b", "a"])
    Q_new = np.array([[0.7, 0.3]])
    assert decoder.predict(Q_new)[0] == "b"
    assert decoder.classes_[decoder.predict_proba(Q_new).argmax(axis=1)][0] == "b"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10_000), n_rows=st.integers(1, 12), k=st.integers(1, 6), n_classes=st.integers(1, 4),
       peaked=st.booleans(), mode=st.sampled_from(["soft", "hard"]))
def test_predict_is_the_argmax_of_predict_proba_and_decision_function(seed, n_rows, k, n_classes, peaked, mode):
    rng = np.random.RandomState(seed)
    # Peaked rows are one-hot, which makes many exact ties between classes and components.
    Q = np.eye(k)[rng.randint(k, size=n_rows)] if peaked else rng.dirichlet(np.ones(k), size=n_rows)
    labels = rng.randint(n_classes, size=n_rows)
    decoder = ClusterLabelDecoder(mode=mode).fit(Q, labels)
    Q_new = np.vstack([rng.dirichlet(np.ones(k), size=5), np.eye(k)])
    predicted = decoder.predict(Q_new)
    np.testing.assert_array_equal(predicted, decoder.classes_[decoder.predict_proba(Q_new).argmax(axis=1)])
    np.testing.assert_array_equal(predicted, decoder.classes_[decoder.decision_function(Q_new).argmax(axis=1)])


def _synthetic_posteriors(rng, shared, n_per_class=100, n_labels=5):
    """q(c|x) of ten classes over 30 components, with ``n_labels`` labeled rows per class.

    Separated: each class owns three components. Shared (impure clusters): sibling classes 2j and 2j+1
    put most of their mass on the same component j, their argmax, and a smaller share on a signature
    component of their own.
    """
    Q, y = [], []
    for label in range(10):
        mean = np.full(30, 0.3 / 30)
        if shared:
            mean[label // 2] += 0.45
            mean[10 + label] += 0.25
        else:
            mean[3 * label:3 * label + 3] += 0.7 / 3
        Q.append(rng.dirichlet(20 * mean, size=n_per_class))
        y += [label] * n_per_class
    Q, y = np.vstack(Q), np.array(y)
    y_semi = np.full_like(y, -1)
    for label in range(10):
        rows = rng.choice(np.flatnonzero(y == label), n_labels, replace=False)
        y_semi[rows] = label
    return Q, y, y_semi


def test_soft_decoding_recovers_a_well_separated_mixture_from_five_labels_per_class():
    Q_mix, y_true, y_semi = _synthetic_posteriors(np.random.RandomState(0), shared=False)
    assert (ClusterLabelDecoder(mode="soft").fit(Q_mix, y_semi).predict(Q_mix) == y_true).mean() > 0.9


def test_on_shared_clusters_hard_decoding_loses_one_sibling_and_soft_does_not():
    Q_mix, y_true, y_semi = _synthetic_posteriors(np.random.RandomState(0), shared=True)
    soft = (ClusterLabelDecoder(mode="soft").fit(Q_mix, y_semi).predict(Q_mix) == y_true).mean()
    hard = (ClusterLabelDecoder(mode="hard").fit(Q_mix, y_semi).predict(Q_mix) == y_true).mean()
    # Hard names each shared component once, so at most about one sibling of each pair is right.
    assert hard < 0.7
    assert soft > 0.9
