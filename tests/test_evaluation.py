import numpy as np
import pytest

from skgmvae import ClusterLabelDecoder
from skgmvae.__main__ import main
from skgmvae.evaluation import format_table, label_efficiency, summarize


def test_label_efficiency_protocol_on_perfect_clusters():
    y = np.repeat(np.arange(3), 20)
    Q = np.eye(3)[y]
    methods = {"soft": (ClusterLabelDecoder(), "posterior")}
    records = label_efficiency({"posterior": Q}, y, methods, [3, 30], n_seeds=2,
                               test_features={"posterior": Q[:5]}, y_test=y[:5])
    assert len(records) == 2 * 2 * 2
    rest = [r for r in records if r["split"] == "rest"]
    # With 30 random labels every cluster is labeled: perfect accuracy.
    assert all(r["accuracy"] == 1.0 for r in rest if r["n_labels"] == 30)
    summary = summarize(records)
    row = next(r for r in summary if r["n_labels"] == 30 and r["split"] == "rest")
    assert row["mean"] == 1.0 and row["ci"] == 0.0 and row["n_seeds"] == 2
    table = format_table(summary)
    assert "| soft |" in table and "30 labels" in table


def test_label_counts_must_fit_the_pool():
    with pytest.raises(ValueError, match="pool has only"):
        label_efficiency({"p": np.eye(3)}, np.arange(3), {}, [5])


@pytest.mark.slow
def test_main_job_prints_table_and_saves_figure(tmp_path, capsys):
    figure = tmp_path / "curve.png"
    main(["--k", "10", "--max-epochs", "3", "--labels", "20", "50", "--seeds", "2", "--figure", str(figure)])
    out = capsys.readouterr().out
    assert "| GMVAE soft |" in out and "| XGBoost |" in out and "50 labels" in out
    assert figure.stat().st_size > 1000


def test_coverage_matches_inclusion_exclusion_and_simulation():
    from math import comb

    from skgmvae.evaluation import coverage_probability, labels_for_coverage

    k, n = 10, 40
    exact = sum((-1) ** j * comb(k, j) * (1 - j / k) ** n for j in range(k + 1))
    assert coverage_probability(n, k) == pytest.approx(exact, abs=1e-12)
    rng = np.random.RandomState(0)
    simulated = np.mean([len(set(rng.randint(k, size=n))) == k for _ in range(4000)])
    assert coverage_probability(n, k) == pytest.approx(simulated, abs=0.03)
    needed = labels_for_coverage(100)
    assert coverage_probability(needed, 100) >= 0.95 > coverage_probability(needed - 1, 100)


@pytest.mark.parametrize("labels", [np.arange(3, dtype=np.uint8), np.arange(3, dtype=np.uint64),
                                    np.array([False, True, True])])
def test_label_efficiency_takes_unsigned_and_boolean_labels(labels):
    y = np.repeat(labels, 20)
    Q = np.eye(3)[np.repeat(np.arange(3), 20)]
    records = label_efficiency({"posterior": Q}, y, {"soft": (ClusterLabelDecoder(), "posterior")}, [30], n_seeds=2)
    # Every cluster is labeled with 30 random labels: -1 must not have become 255 or True in the target.
    assert [record["accuracy"] for record in records] == [1.0, 1.0]


def test_help_lists_the_labeling_loop_and_the_main_jobs_options():
    from skgmvae.__main__ import build_parser
    from skgmvae.cli import COMMAND_HELP

    shown = build_parser().format_help()
    assert "--dataset" in shown and "--labels" in shown and "--csv" in shown
    for name, summary in COMMAND_HELP.items():
        assert f"  {name}" in shown and summary in shown
    assert set(COMMAND_HELP) >= {"fit", "suggest", "label", "predict", "labels"}
