"""The design card: Pipeline, GridSearchCV over k and mode, caching, fair baselines."""

import numpy as np
import pytest
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline

from skgmvae import (
    ClusterLabelDecoder,
    GMVAETransformer,
    LabeledOnlyClassifier,
    labeled_accuracy_score,
    labeled_accuracy_scorer,
)


@pytest.fixture(scope="module")
def semi_supervised_digits(digits):
    X, y = digits
    y_semi = y.copy()
    y_semi[np.random.RandomState(0).rand(len(y)) > 0.2] = -1
    return X, y, y_semi


def test_pipeline_fits_on_partly_labeled_data_and_predicts(semi_supervised_digits, small_gmvae):
    X, y, y_semi = semi_supervised_digits
    pipe = Pipeline([("gmvae", small_gmvae(k=20)), ("decoder", ClusterLabelDecoder(mode="soft"))])
    pipe.fit(X, y_semi)
    assert set(pipe.classes_) == set(range(10))
    predictions = pipe.predict(X)
    assert predictions.shape == (len(X),)
    unlabeled = y_semi == -1
    assert np.mean(predictions[unlabeled] == y[unlabeled]) > 0.6
    proba = pipe.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_gridsearch_over_k_and_mode_refits_gmvae_once_per_k_and_fold(semi_supervised_digits, tmp_path,
                                                                     monkeypatch, small_gmvae):
    X, _, y_semi = semi_supervised_digits
    fits = []
    original_fit = GMVAETransformer.fit

    def counting_fit(self, X, y=None):
        fits.append(self.k)
        return original_fit(self, X, y)

    monkeypatch.setattr(GMVAETransformer, "fit", counting_fit)
    pipe = Pipeline([("gmvae", small_gmvae()), ("decoder", ClusterLabelDecoder())],
                    memory=Memory(tmp_path, verbose=0))
    search = GridSearchCV(pipe, {"gmvae__k": [10, 20], "decoder__mode": ["soft", "hard"]},
                          cv=KFold(2, shuffle=True, random_state=0), scoring=labeled_accuracy_scorer)
    search.fit(X, y_semi)
    # 2 k values x 2 folds, plus the final refit; the mode never triggers a refit.
    assert sorted(fits) == sorted([10, 10, 20, 20, search.best_params_["gmvae__k"]])
    assert search.best_score_ > 0.5
    assert set(search.cv_results_["param_decoder__mode"]) == {"soft", "hard"}


def test_scorer_counts_only_labeled_rows():
    class Constant:
        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    y = np.array([0, 0, -1, -1, 1])
    assert labeled_accuracy_scorer(Constant(), np.zeros((5, 2)), y) == pytest.approx(2 / 3)
    assert labeled_accuracy_score(y, np.zeros(5, dtype=int)) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="at least one labeled row"):
        labeled_accuracy_score([-1, -1], [0, 0])


def test_baseline_and_pipeline_cross_validated_on_same_splits(semi_supervised_digits, small_gmvae):
    X, y, y_semi = semi_supervised_digits
    cv = KFold(3, shuffle=True, random_state=0)
    baseline = LabeledOnlyClassifier(LogisticRegression(max_iter=500))
    pipe = Pipeline([("gmvae", small_gmvae(k=20)), ("decoder", ClusterLabelDecoder())])
    runs = [cross_validate(model, X, y_semi, cv=cv, scoring=labeled_accuracy_scorer, return_indices=True,
                           return_estimator=True) for model in (baseline, pipe)]
    for part in ("train", "test"):
        for baseline_rows, pipe_rows in zip(runs[0]["indices"][part], runs[1]["indices"][part]):
            np.testing.assert_array_equal(baseline_rows, pipe_rows)
    # Each fold's models saw exactly the labeled rows of its training part.
    for fold, train_rows in enumerate(runs[0]["indices"]["train"]):
        assert runs[0]["estimator"][fold].n_labeled_ == (y_semi[train_rows] != -1).sum()
        assert runs[1]["estimator"][fold][-1].n_labeled_ == (y_semi[train_rows] != -1).sum()
    baseline_scores, pipe_scores = runs[0]["test_score"], runs[1]["test_score"]
    # Ten classes: chance is 0.1; both read the digits' classes from a few labels.
    assert (baseline_scores > 0.7).all() and (pipe_scores > 0.7).all()


def test_labeled_only_classifier_uses_labeled_rows_and_any_label_type():
    from xgboost import XGBClassifier

    rng = np.random.RandomState(0)
    X = rng.rand(60, 3)
    y = np.where(X[:, 0] > 0.5, "big", "small").astype(object)
    y[::3] = -1
    model = LabeledOnlyClassifier(XGBClassifier(n_estimators=10, verbosity=0)).fit(X, y)
    assert model.n_labeled_ == 40
    assert list(model.classes_) == ["big", "small"]
    assert set(model.predict(X)) <= {"big", "small"}
    assert model.predict_proba(X).shape == (60, 2)
    assert model.score(X, y) > 0.8
    with pytest.raises(ValueError, match="at least one labeled row"):
        LabeledOnlyClassifier(LogisticRegression()).fit(X, np.full(60, -1))


def test_labeled_only_classifier_delegates_the_scores_its_classifier_has():
    from sklearn.svm import SVC

    rng = np.random.RandomState(0)
    X = rng.rand(90, 3)
    y = np.digitize(X[:, 0], [1 / 3, 2 / 3]).astype(object) * 10  # classes 0, 10, 20
    y[::3] = -1
    model = LabeledOnlyClassifier(SVC(break_ties=True)).fit(X, y)
    assert not hasattr(model, "predict_proba")  # SVC(probability=False) has none to give
    scores = model.decision_function(X)
    assert scores.shape == (90, 3)
    np.testing.assert_array_equal(model.classes_[scores.argmax(axis=1)], model.predict(X))
    from sklearn.neighbors import KNeighborsClassifier

    assert not hasattr(LabeledOnlyClassifier(KNeighborsClassifier()).fit(X, y), "decision_function")
