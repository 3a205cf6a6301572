"""The benchmark suite: one entry point, each benchmark's smallest configuration, one results schema, the
two-checkout timings, the protocol (disjoint development and report rows), paired ties, the route search on
features; and the README's table and the docs' wording."""

import ast
import csv
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import normalize
from sklearn.semi_supervised import LabelSpreading

from benchmarks import __main__ as suite
from benchmarks import _timing
from benchmarks._protocol import (
    REPORT_DRAW_SEED,
    SCHEMA,
    UNKNOWN,
    VALIDATION_SIZE,
    protocol_split,
    provenance,
    read_csv,
    write_csv,
)
from benchmarks._stats import paired_difference, paired_rows, summarize_over_seeds, ties_with_best
from benchmarks.cluster_anchor import cluster_accuracy
from benchmarks.compare_runs import compare
from benchmarks.labeling_loop import predict_choice
from skgmvae import GMVAETransformer, RouteSearchCV

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _data(n_pool, n_candidates, with_test, n_classes=10, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n_pool) % n_classes
    rng.shuffle(y)
    return {"X_pool": rng.rand(n_pool, 4), "y_pool": y, "label_candidates": np.arange(n_candidates),
            "X_test": rng.rand(50, 4) if with_test else None,
            "y_test": np.arange(50) % n_classes if with_test else None}


def test_halves_are_disjoint_stratified_and_fixed():
    data = _data(1200, 1000, with_test=False)
    development, report = protocol_split(data, "development"), protocol_split(data, "report")
    assert not set(development.candidates) & set(report.candidates)
    assert sorted(np.concatenate([development.candidates, report.candidates])) == list(range(1000))
    y = data["y_pool"]
    assert np.abs(np.bincount(y[development.candidates]) - np.bincount(y[report.candidates])).max() <= 1
    np.testing.assert_array_equal(development.candidates, protocol_split(data, "development").candidates)
    assert development.X_test is None and report.held_out is None
    assert (development.draw_seed, report.draw_seed) == (0, REPORT_DRAW_SEED)


def test_validation_rows_are_never_label_candidates_and_test_is_report_only():
    data = _data(VALIDATION_SIZE + 2000, VALIDATION_SIZE + 2000, with_test=True)
    development, report = protocol_split(data, "development"), protocol_split(data, "report")
    assert development.held_out == "validation" and report.held_out == "test"
    assert len(development.y_test) == VALIDATION_SIZE
    validation = np.setdiff1d(np.arange(VALIDATION_SIZE + 2000), development.candidates)
    np.testing.assert_array_equal(development.X_test, data["X_pool"][validation])
    np.testing.assert_array_equal(report.candidates, development.candidates)  # the validation rows stay out
    assert report.X_test is data["X_test"]


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        protocol_split(_data(100, 100, False), "test")


def test_paired_difference_calls_a_difference_inside_the_spread_a_tie():
    ahead = paired_difference([0.80, 0.82, 0.81], [0.70, 0.71, 0.72])
    assert ahead["verdict"] == "a ahead" and ahead["difference"] == pytest.approx(0.1)
    assert ahead["low"] > 0
    # The same means, but the pairs disagree in sign: inside the interval.
    assert paired_difference([0.80, 0.70, 0.75], [0.75, 0.75, 0.74])["verdict"] == "tie"
    assert paired_difference([0.5], [0.9])["verdict"] == "tie"  # one pair says nothing
    with pytest.raises(ValueError, match="paired"):
        paired_difference([0.1, 0.2], [0.1])


def _records():
    rows = []
    for train_seed in (0, 1):
        for seed in range(4):
            for method, accuracy in (("A", 0.80 + 0.01 * seed + 0.02 * train_seed),
                                     ("B", 0.60 + 0.01 * seed),
                                     ("C", 0.80 + 0.01 * seed + (0.02 if seed % 2 else -0.02))):
                rows.append({"protocol_split": "report", "split": "rest", "method": method, "n_labels": 10,
                             "train_seed": train_seed, "seed": seed, "accuracy": accuracy})
    return rows


def test_summary_separates_the_spread_over_draws_from_the_spread_over_training_seeds():
    summary = {row["method"]: row for row in summarize_over_seeds(_records())}
    assert summary["A"]["n_train_seeds"] == 2 and summary["A"]["n_draws"] == 4
    assert summary["A"]["seed_sd"] == pytest.approx(np.std([0.815, 0.835], ddof=1))
    assert summary["B"]["seed_sd"] == 0.0
    assert summary["B"]["draw_sd"] == pytest.approx(np.std([0.60, 0.61, 0.62, 0.63], ddof=1))


def test_ties_with_best_lists_the_methods_within_the_paired_interval():
    records = _records()
    summary, paired = summarize_over_seeds(records), paired_rows(records)
    (row,) = ties_with_best(summary, paired)
    assert row["best"] == "A"
    # C trails A by 0.01 on average, but the pairs swing with the training seed: a tie. B is far behind.
    assert row["tied"] == "C"


def test_compare_runs_pairs_the_same_draws_and_reads_the_direction_of_b_minus_a():
    keys = [(100, "0", str(draw), "test") for draw in range(5)]
    a = {key: 0.70 + 0.01 * index for index, key in enumerate(keys)}
    b = {key: value + 0.05 for key, value in a.items()}
    b[(300, "0", "0", "test")] = 0.9  # only in b: not paired
    (row,) = compare(a, b)
    assert row["n_labels"] == 100 and row["n_pairs"] == 5
    assert row["difference_b_minus_a"] == pytest.approx(0.05) and row["verdict"] == "b ahead"
    assert compare(b, a)[0]["verdict"] == "a ahead"


def test_predict_choice_reads_the_route_and_estimate_that_skgmvae_predict_prints():
    searched = ("route: umap-soft, chosen by 5-fold cross-validation on the 100 labeled images (the first route, "
                "in the order of preference, whose mean accuracy is within one standard error of the best)\n"
                "estimated accuracy 85.5% ± 5.9 (mean ± standard deviation over the 5 folds; ...)\n")
    assert predict_choice(searched) == {"route": "umap-soft", "cv_estimate": pytest.approx(0.855)}
    fallback = ("route: taken without a cross-validated choice or accuracy estimate: RouteSearchCV needs at least "
                "two classes with 5 labeled rows each (one per fold) to compare routes, but 10 classes are labeled "
                "and 1 of them have that many (the most frequent has 5). Predicting with soft decoding of the GMVAE "
                "clusters ('soft'), without a search. Label more rows, or lower cv.\n")
    assert predict_choice(fallback) == {"route": "soft (fallback, no search)", "cv_estimate": None}


def test_cluster_accuracy_matches_clusters_to_classes_one_to_one():
    y = np.array([0, 0, 0, 1, 1, 2])
    assert cluster_accuracy(y, np.array([7, 7, 7, 4, 4, 9])) == 1.0
    # Two clusters of one class: only one of them can be matched to it.
    assert cluster_accuracy(y, np.array([1, 1, 2, 3, 3, 4])) == pytest.approx(5 / 6)


def test_label_spreading_with_a_cached_graph_gives_label_spreadings_result():
    from benchmarks._knn_graphs import GraphCachedLabelSpreading, KnnGraph

    rng = np.random.RandomState(0)
    X = rng.rand(200, 5)
    y = np.full(200, -1)
    y[:20] = np.arange(20) % 3
    for labels in (y, np.roll(y, 7)):
        cached = GraphCachedLabelSpreading(kernel=KnnGraph(7)).fit(X, labels)
        reference = LabelSpreading(kernel="knn", n_neighbors=7).fit(X, labels)
        np.testing.assert_allclose(cached.label_distributions_, reference.label_distributions_)
        for rows in (X, X[:30] + 0.01):  # the fitted array itself, and other rows
            np.testing.assert_allclose(cached.predict_proba(rows), reference.predict_proba(rows))


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning", "ignore::UserWarning")
def test_the_cross_validated_route_is_what_route_search_cv_picks_on_the_images(digits):
    from sklearn.frozen import FrozenEstimator

    from benchmarks.label_efficiency import CV_ROUTE, cross_validated_route_records
    from skgmvae.evaluation import draw_labeled_rows

    X, y = digits
    gmvae = GMVAETransformer(k=10, max_epochs=2, pretrain_epochs=1, random_state=0).fit(X)
    both = gmvae.set_params(output="posterior_and_latent").transform(X)
    features = {"posterior": both[:, :10], "latent": normalize(both[:, 10:]),
                "umap-posterior": np.full((len(X), 2), 0.5)}  # not read: the routes below leave 'umap-soft' out
    routes = ["soft", "hard", "label-spreading", "svc"]
    (record,) = cross_validated_route_records(features, y, [150], 1, random_state=3, cv=3, routes=routes)
    labeled = draw_labeled_rows(len(y), 150, 3)
    y_semi = np.full(len(y), -1)
    y_semi[labeled] = y[labeled]
    search = RouteSearchCV(FrozenEstimator(gmvae), routes, cv=3, random_state=3).fit(X, y_semi)
    rest = np.setdiff1d(np.arange(len(y)), labeled)
    assert record["method"] == CV_ROUTE and not record["fallback"]
    assert record["chosen_route"] == search.best_route_
    assert record["cv_score"] == pytest.approx(search.best_score_)
    assert record["accuracy"] == pytest.approx(np.mean(search.predict(X[rest]) == y[rest]))


# --------------------------------------------------------------------------------------------- the suite

def _benchmark_modules():
    """Modules of benchmarks/ that are benchmarks: a main(argv), not a private helper."""
    return sorted(path.stem for path in BENCHMARKS.glob("*.py")
                  if not path.stem.startswith("_") and "def main(" in path.read_text())


def test_the_entry_point_lists_every_benchmark_module_and_nothing_else():
    listed = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    names = re.findall(r"^  (\w+) ", listed, re.MULTILINE)
    assert names == suite.available()
    assert sorted(names) == _benchmark_modules()
    for name in names:  # each with the first line of its docstring
        assert f"  {name:<18} {suite.summary(name)}" in listed and suite.summary(name)
    unknown = subprocess.run([sys.executable, "-m", "benchmarks", "no_such_benchmark"], cwd=ROOT,
                             capture_output=True, text=True)
    assert unknown.returncode == 2 and "no benchmark named 'no_such_benchmark'" in unknown.stderr


def _private_uses(path):
    """Private names of skgmvae a file imports or reads, and private scikit-learn methods it overrides."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "skgmvae":
            parts = node.module.split(".") + [alias.name for alias in node.names]
            found += [f"from {node.module} import {alias.name}" for alias in node.names
                      if any(part.startswith("_") for part in parts)]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names
                      if alias.name.startswith("skgmvae.") and any(p.startswith("_") for p in alias.name.split("."))]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__"):
            found.append(f"attribute {node.attr}")
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("_build_graph"):
            found.append(f"override of {node.name}")
    return found


def test_no_benchmark_uses_a_private_name_of_the_package():
    uses = {path.name: _private_uses(path) for path in sorted(BENCHMARKS.glob("*.py"))}
    assert {name: found for name, found in uses.items() if found} == {}


def test_the_private_name_check_catches_what_it_is_for(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("from skgmvae._selection import _auto_routes\nfrom skgmvae.nn.training import _batches\n"
                      "import skgmvae._transformer\nfrom skgmvae import GMVAETransformer\n"
                      "GMVAETransformer()._validate_X(None, reset=True)\n"
                      "class Spreading:\n    def _build_graph(self):\n        pass\n")
    assert len(_private_uses(source)) == 5


@pytest.fixture
def model_cache(tmp_path_factory, monkeypatch):
    """One model cache for every smallest configuration (they share their small models), out of the repo."""
    monkeypatch.setenv("SKGMVAE_BENCHMARK_CACHE", str(tmp_path_factory.getbasetemp() / "benchmark-cache"))


@pytest.mark.filterwarnings("ignore::skgmvae.ComponentCollapseWarning", "ignore::UserWarning",
                            "ignore::RuntimeWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("name", suite.available())
def test_each_benchmark_runs_its_smallest_configuration(name, tmp_path, model_cache, monkeypatch):
    module = importlib.import_module(f"benchmarks.{name}")
    assert hasattr(module, "smallest"), f"benchmarks/{name}.py needs smallest(out): the arguments of its smallest run"
    out = tmp_path / "out"
    argv = module.smallest(out)
    inputs = {path for path in out.rglob("*") if path.is_file()}  # what the configuration wrote for itself
    monkeypatch.chdir(tmp_path)  # nothing written beside the code
    assert module.main(argv) == 0
    written = [path for path in out.rglob("*") if path.is_file() and path not in inputs]
    assert written, f"{name} wrote nothing into {out}"
    for path in written:
        if path.suffix != ".csv":
            continue
        rows = read_csv(path)
        assert rows and set(SCHEMA) <= set(rows[0]), f"{path.name} lacks schema columns"
        assert all(row["command"] == suite_command(name, argv) for row in rows)
        assert all(row["commit"] not in ("", UNKNOWN) and row["machine"] and row["date"] for row in rows)
    assert not (tmp_path / "benchmarks").exists()


def suite_command(name, argv):
    import shlex

    return f"python -m benchmarks {name} {shlex.join(argv)}"


def test_label_selection_summary_of_merged_runs_names_every_command(tmp_path):
    from benchmarks.label_selection import write_summary_from_csv

    rows = read_csv(BENCHMARKS / "results" / "digits" / "label-selection.csv")
    by_seed = [[{**row, "command": f"{row['command']} --train-seeds {seed}"} for row in rows
                if row["train_seed"] == seed] for seed in ("0", "1")]
    merged = tmp_path / "label-selection.csv"
    with merged.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(by_seed[0] + by_seed[1])
    write_summary_from_csv(merged)
    summary = merged.with_suffix(".md").read_text()
    assert "Commands (one per run" in summary
    assert all(f"--train-seeds {seed}`" in summary for seed in ("0", "1"))
    paired = [line for line in summary.splitlines() if line.startswith("| 10 (1) | TypiClust | ")]
    assert paired and all(line.endswith("| 2 |") for line in paired)  # paired over the two merged models
    mixed = merged.with_name("mixed.csv")
    with mixed.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(by_seed[0] + [{**row, "protocol_split": "development"} for row in by_seed[1]])
    with pytest.raises(ValueError, match="one data set and split"):
        write_summary_from_csv(mixed)


def test_write_csv_adds_the_schema_and_marks_what_old_rows_never_recorded(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text("method,accuracy\nsoft,0.5\n")  # written before the schema
    run = provenance("python -m benchmarks x --y 1", protocol_split="development", seeds="0 1")
    write_csv(path, [{"method": "hard", "accuracy": 0.4}, {"method": "svc", "accuracy": 0.6,
                                                            "protocol_split": "report"}], run, append=True)
    old, new, own = read_csv(path)
    assert {name: old[name] for name in SCHEMA} == dict.fromkeys(SCHEMA, UNKNOWN)
    assert old["accuracy"] == "0.5"  # the figure kept
    assert new["protocol_split"] == "development" and new["seeds"] == "0 1"
    assert new["command"] == "python -m benchmarks x --y 1" and new["commit"] != UNKNOWN
    assert own["protocol_split"] == "report"  # a row's own value wins
    write_csv(path, [{"method": "soft", "accuracy": 0.7}], run)  # without append: replaced
    assert [row["method"] for row in read_csv(path)] == ["soft"]
    with pytest.raises(ValueError, match="schema fields"):
        write_csv(path, [{"a": 1}], {"command": "x"})
    with pytest.raises(ValueError, match="no rows"):
        write_csv(path, [], run)


def test_every_checked_in_result_csv_carries_the_schema():
    # The main job's CSV is written by `python -m skgmvae --csv`, the package's demo, not by the suite.
    paths = [path for path in (BENCHMARKS / "results").rglob("*.csv") if path.name != "main-job.csv"]
    assert len(paths) > 50
    lacking = {path.relative_to(BENCHMARKS).as_posix() for path in paths
               if not set(SCHEMA) <= set(next(csv.reader(open(path, newline=""))))}
    assert lacking == set()


def _fake_checkout(folder, version):
    (folder / "skgmvae").mkdir(parents=True)
    (folder / "skgmvae" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    return folder


def test_timings_import_the_package_from_each_checkout_and_alternate_which_goes_first(tmp_path):
    folders = [("this checkout", _fake_checkout(tmp_path / "a", "a")),
               ("baseline", _fake_checkout(tmp_path / "b", "b"))]
    rows = _timing.interleave(folders, {"only": {}}, 2, "benchmarks._timing", "identify", lambda settings: {},
                              verbose=False)
    assert [(row["round"], row["checkout"]) for row in rows] == [
        (0, "this checkout"), (0, "baseline"), (1, "baseline"), (1, "this checkout")]
    for row in rows:
        expected = dict(folders)[row["checkout"]]
        assert Path(row["skgmvae_file"]).resolve().parent.parent == expected.resolve()
        assert row["skgmvae_version"] == expected.name
    with pytest.raises(RuntimeError, match="not from the checkout"):
        _timing.run_worker(tmp_path, "benchmarks._timing", "identify", {})  # no skgmvae there: found elsewhere
    with pytest.raises(ValueError, match="holds no skgmvae package"):
        _timing.checkouts(tmp_path)


def test_timing_medians_compare_this_checkout_with_the_baseline():
    rows = [{"configuration": "default", "checkout": checkout, "checkout_commit": "c", "ms": ms}
            for checkout, ms in (("this checkout", 10), ("baseline", 20), ("this checkout", 12), ("baseline", 18),
                                 ("this checkout", 30))]
    summary = {row["checkout"]: row for row in _timing.medians(rows, "ms")}
    assert summary["this checkout"]["median_ms"] == 12 and summary["this checkout"]["n_runs"] == 3
    assert summary["this checkout"]["ratio_to_baseline"] == pytest.approx(12 / 19)
    assert summary["baseline"]["ratio_to_baseline"] == 1.0


# --------------------------------------------------------------------------------------- README and docs

def test_the_readme_table_is_the_checked_in_csv():
    from benchmarks.readme_table import ARTICLE, SUMMARY, markdown, table_rows

    rows = table_rows(read_csv(SUMMARY))
    assert markdown(rows) in (ROOT / "README.md").read_text()
    checked_in = read_csv(SUMMARY.parent / "readme-table.csv")
    assert [(row["row"], int(row["n_labels"]), float(row["accuracy"])) for row in checked_in] == [
        (row["row"], row["n_labels"], row["accuracy"]) for row in rows]
    assert ARTICLE == {291: 0.80}


def test_the_readme_is_short_and_its_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    ci = (ROOT / ".ci" / "run").read_text()
    assert '.venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest' in ci
    assert '.venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest' in readme


def test_docs_speak_of_the_software_not_of_sessions():
    diary = re.compile(r"(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|[0-9]+th) session"
                       r"|this session's|earlier sessions", re.IGNORECASE)
    tracked = subprocess.run(["git", "ls-files", "README.md", "docs", "skgmvae", "benchmarks"], cwd=ROOT,
                             capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    found = []
    for name in tracked.stdout.split():
        path = ROOT / name
        if path.suffix in (".png", ".pt", ".inv", ".ico", ".jpg") or not path.is_file():
            continue
        found += [f"{name}: {match.group(0)}" for match in diary.finditer(path.read_text(errors="ignore"))]
        found += [f"{name} (its path)"] if diary.search(name.replace("-", " ")) else []
    assert found == []


def test_the_recorded_commit_is_dirty_for_code_changes_not_for_rewritten_results(tmp_path):
    import subprocess

    from benchmarks._protocol import git_commit

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "table.csv").write_text("a\n1\n")
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "x", "--allow-empty")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")
    assert not git_commit(tmp_path).endswith("-dirty")
    (tmp_path / "benchmarks" / "results" / "table.csv").write_text("a\n2\n")  # a re-run of the table
    assert not git_commit(tmp_path).endswith("-dirty")
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path).endswith("-dirty")
