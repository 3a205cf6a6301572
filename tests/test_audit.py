"""The audit sample: drawn at random among the unlabeled rows, marked in the labels file, and the estimate from it."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skgmvae import LabeledOnlyClassifier, audit_accuracy, cli, draw_audit_rows
from skgmvae._label_session import LabelSession
from skgmvae.labeling import labeling_page, read_label_files, suggestions_csv

from .test_label_rounds import fitted, read_rows, run  # noqa: F401 (fitted is a fixture)


def blobs(n_per_class=150, seed=0):
    """Three overlapping Gaussian classes in 2-D: a classifier fitted on a few labels is right about 80% of the time."""
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.8]])
    X = np.vstack([rng.normal(centre, 0.9, (n_per_class, 2)) for centre in centres])
    return X, np.repeat(np.arange(3), n_per_class)


def test_audit_rows_are_unlabeled_distinct_outside_exclude_and_seeded():
    y = np.full(50, -1)
    y[:10] = 1
    rows = draw_audit_rows(y, 15, exclude=[10, 11], random_state=3)
    assert len(set(rows)) == 15 and np.all(rows >= 12)
    np.testing.assert_array_equal(rows, draw_audit_rows(y, 15, exclude=[10, 11], random_state=3))
    assert not np.array_equal(rows, draw_audit_rows(y, 15, exclude=[10, 11], random_state=4))
    # Every unlabeled row can be drawn: over many draws each is, about equally often.
    counts = np.bincount(np.concatenate([draw_audit_rows(y, 4, random_state=seed) for seed in range(2000)]),
                         minlength=50)
    assert counts[:10].sum() == 0 and counts[10:].min() > 0.7 * counts[10:].mean()
    with pytest.raises(ValueError, match="at most the number of unlabeled rows"):
        draw_audit_rows(y, 41)


def test_the_estimate_is_unbiased_and_its_interval_covers_the_truth():
    X, y = blobs()
    model = LabeledOnlyClassifier(LogisticRegression())
    errors, covered = [], []
    for seed in range(40):
        rng = np.random.RandomState(seed)
        # Labels chosen by a rule (the easiest: nearest to each centre) and a random audit sample.
        typical = np.concatenate([np.argsort(np.linalg.norm(X - X[y == c].mean(axis=0), axis=1))[:2]
                                  for c in range(3)])
        y_semi = np.full(len(y), -1)
        y_semi[typical] = y[typical]
        audit = np.zeros(len(y), dtype=bool)
        audit[draw_audit_rows(y_semi, 12, random_state=rng)] = True
        y_semi[audit] = y[audit]
        estimate = audit_accuracy(model, X, y_semi, audit)
        rest = y_semi == -1
        truth = np.mean(model.fit(X, y_semi).predict(X[rest]) == y[rest])
        errors.append(estimate.accuracy - truth)
        covered.append(estimate.low <= truth <= estimate.high)
        assert estimate.n_audit == 12 and estimate.n_skipped == 0 and estimate.n_unlabeled == rest.sum()
    # No bias beyond the noise of 40 draws (three standard errors of the mean).
    assert abs(np.mean(errors)) < 3 * np.std(errors) / np.sqrt(len(errors))
    assert np.mean(covered) >= 0.8


def test_skipped_audit_rows_widen_the_interval_and_none_labeled_gives_no_estimate():
    X, y = blobs()
    y_semi = np.full(len(y), -1)
    y_semi[[0, 1, 150, 151, 300, 301]] = y[[0, 1, 150, 151, 300, 301]]
    audit = np.zeros(len(y), dtype=bool)
    rows = draw_audit_rows(y_semi, 10, random_state=0)
    audit[rows] = True
    labeled_audit = y_semi.copy()
    labeled_audit[rows] = y[rows]
    model = LabeledOnlyClassifier(LogisticRegression())
    whole = audit_accuracy(model, X, labeled_audit, audit)
    some_skipped = labeled_audit.copy()
    some_skipped[rows[:4]] = -1
    partial = audit_accuracy(model, X, some_skipped, audit)
    assert partial.n_skipped == 4 and partial.n_audit == 6
    assert partial.high - partial.low > whole.high - whole.low
    none = audit_accuracy(model, X, y_semi, audit)
    assert np.isnan(none.accuracy) and (none.low, none.high) == (0.0, 1.0) and none.n_skipped == 10


def test_an_estimator_without_probabilities_gets_the_audit_accuracy_and_a_wilson_interval():
    from sklearn.svm import LinearSVC

    X, y = blobs()
    y_semi = np.full(len(y), -1)
    y_semi[[0, 150, 300]] = y[[0, 150, 300]]
    audit = np.zeros(len(y), dtype=bool)
    audit[draw_audit_rows(y_semi, 20, random_state=1)] = True
    y_semi[audit] = y[audit]
    estimate = audit_accuracy(LabeledOnlyClassifier(LinearSVC()), X, y_semi, audit)
    assert estimate.method == "audit accuracy"
    assert 0 < estimate.low < estimate.accuracy < estimate.high < 1
    assert estimate.accuracy * 20 == pytest.approx(round(estimate.accuracy * 20))


class Overconfident:
    """A classifier that is right about 80% of the time and always 99% sure (nearest of three fixed centres)."""

    def __init__(self):
        pass

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y):
        self.classes_ = np.arange(3)
        return self

    def predict_proba(self, X):
        centres = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.8]])
        nearest = np.argmin(((X[:, None, :] - centres) ** 2).sum(axis=2), axis=1)
        proba = np.full((len(X), 3), 0.005)
        proba[np.arange(len(X)), nearest] = 0.99
        return proba

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


@pytest.mark.parametrize("n_audit", [4, 8])
def test_a_few_audit_rows_of_an_overconfident_model_do_not_give_a_falsely_narrow_interval(n_audit):
    X, y = blobs()
    truth = np.mean(Overconfident().fit(X, y).predict(X) == y)
    assert 0.7 < truth < 0.9
    covered = []
    for seed in range(200):
        y_semi = np.full(len(y), -1)
        y_semi[[0, 150, 300]] = y[[0, 150, 300]]
        audit = np.zeros(len(y), dtype=bool)
        audit[draw_audit_rows(y_semi, n_audit, random_state=seed)] = True
        y_semi[audit] = y[audit]
        estimate = audit_accuracy(Overconfident(), X, y_semi, audit)
        rest = y_semi == -1
        covered.append(estimate.low <= np.mean(Overconfident().predict(X[rest]) == y[rest]) <= estimate.high)
    assert np.mean(covered) >= 0.85


def test_audit_accuracy_refuses_what_it_cannot_estimate():
    X, y = blobs(n_per_class=5)
    audit = np.zeros(len(y), dtype=bool)
    audit[:3] = True
    model = LabeledOnlyClassifier(LogisticRegression())
    with pytest.raises(ValueError, match="no unlabeled rows"):
        audit_accuracy(model, X, y, audit)
    only_audit = np.where(audit, y, -1)
    with pytest.raises(ValueError, match="every labeled row is an audit row"):
        audit_accuracy(model, X, only_audit, audit)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        audit_accuracy(model, X, y[:-1], audit[:-1])
    with pytest.raises(TypeError, match="audit must be a boolean mask.*np.isin"):
        audit_accuracy(model, X, only_audit, np.flatnonzero(audit))
    with pytest.raises(ValueError, match=r"exclude holds row indices, each in \[0, 15\)"):
        draw_audit_rows(np.full(15, -1), 2, exclude=[-1])


def test_the_labels_file_marks_the_audit_rows_and_every_reader_keeps_them(tmp_path):
    paths = ["a.png", "b.png", "c.png", "d.png"]
    csv_path = tmp_path / "round.csv"
    csv_path.write_text(suggestions_csv(paths, [False, True, False, True]), encoding="utf-8")
    assert [row["audit"] for row in read_rows(csv_path)] == ["", "1", "", "1"]
    merged = read_label_files([csv_path], paths)
    assert list(merged.audit) == [False, True, False, True]

    # The labeling server rewrites the file on each label and keeps the column.
    session = LabelSession(tmp_path, paths, csv_path)
    assert session.state()["auditPaths"] == ["b.png", "d.png"]
    session.set_labels([("b.png", "cat"), ("a.png", "dog")])
    merged = read_label_files([csv_path], paths)
    assert list(merged.audit) == [False, True, False, True] and list(merged.labels) == ["dog", "cat", -1, -1]
    # An audit image is not one the model picked, though it came from suggest.
    assert list(merged.chosen) == [True, False, False, False]

    # The offline page knows which images are the audit sample (it saves them with audit = 1).
    page = labeling_page(paths, np.zeros((4, 64)), 8, audit=[False, True, False, True])
    assert '"auditPaths": ["b.png", "d.png"]' in page

    csv_path.write_text("path,label,audit\na.png,dog,maybe\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: the audit column holds 'maybe'"):
        read_label_files([csv_path], paths)


def test_suggest_mixes_an_audit_sample_in_and_predict_estimates_from_it(fitted, tmp_path, capsys, monkeypatch):  # noqa: F811
    folder, model, truth = fitted
    monkeypatch.chdir(tmp_path)
    code, out, err = run("suggest", model, folder, "-n", "20", "--audit", "5", "--out", "round.csv", capsys=capsys)
    assert code == 0, err
    assert "5 of them are drawn at random" in out
    rows = read_rows(tmp_path / "round.csv")
    flags = [row["audit"] == "1" for row in rows]
    assert len(rows) == 20 and sum(flags) == 5
    assert not all(flags[-5:]) and not all(flags[:5])  # spread among the suggestions, not at one end

    # Everything labeled but two audit images, which the person skipped.
    skipped = [row["path"] for row, flag in zip(rows, flags) if flag][:2]
    with open(tmp_path / "round.csv", "w", encoding="utf-8") as handle:
        handle.write("order,path,label,audit\n")
        for row in rows:
            label = "" if row["path"] in skipped else truth[row["path"]]
            handle.write(f"{row['order']},{row['path']},{label},{row['audit']}\n")
    code, out, err = run("predict", model, folder, "--labels", "round.csv", "--out", "predictions.csv",
                         capsys=capsys)
    assert code == 0, err
    assert "estimated on the 3 labeled audit images" in out
    assert "2 audit images are not labeled" in out

    code, out, err = run("suggest", model, folder, "-n", "3", "--audit", "4", "--out", "bad.csv", capsys=capsys)
    assert code != 0 and "--audit must be between 0 and the number of images suggested, 3; got 4" in err


@pytest.mark.parametrize("n, expected", [(1, 0), (10, 0), (19, 0), (20, 2), (26, 3), (100, 10)])
def test_the_default_audit_sample_is_one_in_ten_from_twenty(n, expected):
    assert cli.default_audit_size(n) == expected


def test_labels_fix_keeps_the_audit_column(tmp_path):
    from skgmvae.labeling import fix_label_files

    csv_path = tmp_path / "round.csv"
    csv_path.write_text("order,path,label,audit\n1,a.png,Cat,\n2,b.png,cat,1\n3,c.png,,1\n", encoding="utf-8")
    fix_label_files([csv_path])
    rows = read_rows(csv_path)
    assert [(row["label"], row["audit"]) for row in rows] == [("Cat", ""), ("Cat", "1"), ("", "1")]
    assert list(read_label_files([csv_path], ["a.png", "b.png", "c.png"]).audit) == [False, True, True]
