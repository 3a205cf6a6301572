"""Labeling in rounds on the command line: suggest leaves out what is labeled, labels files merge, Ctrl-C in fit."""

import csv

import numpy as np
import pytest

from skgmvae import GMVAETransformer, TrainingInterrupted, cli

from .test_labeling import skgmvae, write_digit_pngs

TINY = ["--side", "8", "--k", "4", "--max-epochs", "2"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A folder of 80 digit PNGs and a tiny model fitted on it; returns (folder, model, {path: label})."""
    root = tmp_path_factory.mktemp("rounds")
    folder = root / "images"
    truth = write_digit_pngs(folder, n_images=80)
    assert cli.main(["fit", str(folder), "--out", str(root / "model.pt"), *TINY]) == 0
    return folder, root / "model.pt", truth


def run(*args, capsys):
    """``skgmvae ARGS`` in this process (a subprocess would import torch again): exit code, stdout, stderr."""
    code = cli.main([str(arg) for arg in args])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_labels(path, labels, *, order=True):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order", "path", "label"] if order else ["path", "label"])
        for index, (image, label) in enumerate(labels.items(), start=1):
            writer.writerow([index, image, label] if order else [image, label])


def test_suggest_leaves_out_the_images_labeled_in_earlier_rounds(fitted, tmp_path, capsys, monkeypatch):
    folder, model, truth = fitted
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run("suggest", model, folder, "-n", "10", "--out", "round1.csv", capsys=capsys)
    assert code == 0, stderr
    round1 = [row["path"] for row in read_rows(tmp_path / "round1.csv")]
    # The person labeled the first six of round 1 and, elsewhere, two more images; two rows stay blank.
    write_labels(tmp_path / "round1.csv", {path: truth[path] if i < 6 else "" for i, path in enumerate(round1)})
    others = [path for path in sorted(truth) if path not in round1][:2]
    write_labels(tmp_path / "extra.csv", {path: truth[path] for path in others}, order=False)

    second = skgmvae("suggest", model, folder, "-n", "70", "--labels", "round1.csv", "--labels", "extra.csv",
                     "--out", "round2.csv", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "8 images are labeled" in second.stdout and "the 72 others" in second.stdout
    round2 = [row["path"] for row in read_rows(tmp_path / "round2.csv")]
    labeled = set(round1[:6]) | set(others)
    assert len(round2) == 70 and not labeled & set(round2) and set(round1[6:]) <= set(round2)
    assert (tmp_path / "round2.html").is_file()

    everything = {path: truth[path] for path in truth}
    write_labels(tmp_path / "all.csv", everything)
    code, _, stderr = run("suggest", model, folder, "--labels", "all.csv", "--out", "round3.csv", capsys=capsys)
    assert code == 2 and "every image is labeled already" in stderr
    code, _, stderr = run("suggest", model, folder, "--labels", "round1.csv", "--out", "round1.csv", "--force",
                          capsys=capsys)
    assert code == 2 and "also a --labels file" in stderr
    assert [row["label"] for row in read_rows(tmp_path / "round1.csv")][:6] == [truth[p] for p in round1[:6]]


def test_one_image_labeled_differently_in_two_files_is_an_error_naming_both(fitted, tmp_path, capsys, monkeypatch):
    folder, model, truth = fitted
    monkeypatch.chdir(tmp_path)
    image = sorted(truth)[0]
    write_labels(tmp_path / "a.csv", {image: "3"})
    write_labels(tmp_path / "b.csv", {image: "3", sorted(truth)[1]: "5"})
    code, _, stderr = run("suggest", model, folder, "-n", "5", "--labels", "a.csv", "--labels", "b.csv",
                          "--out", "next.csv", capsys=capsys)
    assert code == 0, stderr  # the same label in two files is fine
    write_labels(tmp_path / "b.csv", {image: "8"})
    clash = f"{image} is labeled '3' in a.csv (line 2) but '8' in b.csv (line 2)"
    code, _, stderr = run("predict", model, folder, "--labels", "a.csv", "--labels", "b.csv", "--out", "out.csv",
                          capsys=capsys)
    assert code == 2 and clash in stderr
    failed = skgmvae("suggest", model, folder, "-n", "5", "--labels", "a.csv", "--labels", "b.csv", "--out", "out.csv",
                     cwd=tmp_path)
    assert failed.returncode == 2 and clash in failed.stderr
    assert not (tmp_path / "out.csv").exists()


def test_predict_merges_rounds_says_how_it_estimated_and_that_suggested_labels_flatter(fitted, tmp_path, capsys):
    folder, model, truth = fitted
    paths = sorted(truth)
    write_labels(tmp_path / "round1.csv", {path: truth[path] for path in paths[:40]})
    write_labels(tmp_path / "round2.csv", {path: truth[path] for path in paths[40:60]}, order=False)
    code = cli.main(["predict", str(model), str(folder), "--labels", str(tmp_path / "round1.csv"),
                     "--labels", str(tmp_path / "round2.csv"), "--out", str(tmp_path / "predictions.csv")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "60 labeled images" in printed and "route: " in printed
    assert ("-fold cross-validation" in printed and "± " in printed) or "without a cross-validated" in printed
    if "-fold cross-validation" in printed:
        assert "40 of the labeled images were picked by the model" in printed and "optimistic" in printed
    rows = read_rows(tmp_path / "predictions.csv")
    assert len(rows) == 80 and all(row["given"] == truth[row["path"]] for row in rows[:60])


class InterruptedGMVAE(GMVAETransformer):
    """Stops GMVAE training the way Ctrl-C does, after pretraining."""

    def _train(self, *args, **kwargs):
        raise KeyboardInterrupt


@pytest.mark.parametrize("keep_partial", [False, True])
def test_interrupted_fit_saves_nothing_unless_asked(tmp_path, monkeypatch, capsys, keep_partial):
    folder = tmp_path / "images"
    write_digit_pngs(folder, n_images=30)
    monkeypatch.setattr(cli, "GMVAETransformer", InterruptedGMVAE)
    out = tmp_path / "model.pt"
    with pytest.warns(TrainingInterrupted):
        code = cli.main(["fit", str(folder), "--out", str(out), *TINY, *(["--keep-partial"] if keep_partial else [])])
    stderr = capsys.readouterr().err
    if keep_partial:
        assert code == 0 and out.is_file() and "--keep-partial" in stderr
        assert GMVAETransformer.load(out).transform(np.zeros((2, 64))).shape == (2, 4)
    else:
        assert code == cli.INTERRUPTED == 130
        assert "interrupted" in stderr and "nothing written" in stderr and "--keep-partial" in stderr
        assert sorted(path.name for path in tmp_path.iterdir()) == ["images"]


@pytest.mark.parametrize("appears", ["model.pt", "model-clusters.png"])
def test_fit_keeps_a_model_whose_target_appeared_during_training_and_keeps_the_pair(tmp_path, monkeypatch, capsys,
                                                                                   appears):
    folder = tmp_path / "images"
    write_digit_pngs(folder, n_images=30)
    intruder = tmp_path / appears

    class Racing(GMVAETransformer):
        """Another program writes one of the outputs while the GMVAE trains."""

        def _train(self, *args, **kwargs):
            intruder.write_bytes(b"another program's file")
            return super()._train(*args, **kwargs)

    monkeypatch.setattr(cli, "GMVAETransformer", Racing)
    code = cli.main(["fit", str(folder), "--out", str(tmp_path / "model.pt"), *TINY])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert intruder.read_bytes() == b"another program's file"  # untouched
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(["images", appears, "model-1.pt",
                                                                       "model-1-clusters.png"])
    assert f"{appears} appeared while this command ran" in printed.err and "model-1.pt" in printed.out
    assert GMVAETransformer.load(tmp_path / "model-1.pt").transform(np.zeros((2, 64))).shape == (2, 4)


def test_fit_refuses_an_output_it_could_not_write_before_training(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "images"
    write_digit_pngs(folder, n_images=30)
    (tmp_path / "taken").write_text("a file, not a folder")

    class NeverTrained(GMVAETransformer):
        def fit(self, X, y=None):
            raise AssertionError("fit trained before finding that its output cannot be written")

    monkeypatch.setattr(cli, "GMVAETransformer", NeverTrained)
    assert cli.main(["fit", str(folder), "--out", str(tmp_path / "taken" / "model.pt"), *TINY]) == 2
    assert "error:" in capsys.readouterr().err


def test_suggest_and_predict_write_beside_a_file_that_appeared_meanwhile(fitted, tmp_path, monkeypatch, capsys):
    from .test_labeling import page_config

    folder, model, truth = fitted
    real_suggest, real_search = cli.suggest_labels, cli._search_routes

    def racing_suggest(*args, **kwargs):
        (tmp_path / "to_label.html").write_text("another program's page")
        return real_suggest(*args, **kwargs)

    monkeypatch.setattr(cli, "suggest_labels", racing_suggest)
    code, out, err = run("suggest", model, folder, "-n", "5", "--out", tmp_path / "to_label.csv", capsys=capsys)
    assert code == 0, err
    # The CSV and the page that names it moved together.
    assert not (tmp_path / "to_label.csv").exists()
    assert (tmp_path / "to_label.html").read_text() == "another program's page"
    assert len(read_rows(tmp_path / "to_label-1.csv")) == 5
    assert page_config((tmp_path / "to_label-1.html").read_text())["saveName"] == "to_label-1-labels.csv"
    assert "to_label.html appeared" in err and "--labels " + str(tmp_path / "to_label-1.csv") in out

    write_labels(tmp_path / "labels.csv", {path: truth[path] for path in sorted(truth)[:30]})

    def racing_search(*args, **kwargs):
        (tmp_path / "predictions.csv").write_text("another program's table")
        return real_search(*args, **kwargs)

    monkeypatch.setattr(cli, "_search_routes", racing_search)
    code, out, err = run("predict", model, folder, "--labels", tmp_path / "labels.csv", "--out",
                         tmp_path / "predictions.csv", capsys=capsys)
    assert code == 0, err
    assert (tmp_path / "predictions.csv").read_text() == "another program's table"
    assert len(read_rows(tmp_path / "predictions-1.csv")) == 80 and "predictions-1.csv" in out


def test_the_cluster_view_visits_clusters_in_the_order_suggest_would_label_them(fitted, tmp_path):
    from skgmvae import GMVAETransformer, read_model_metadata, suggest_labels
    from skgmvae.cli import _coverage_order, _read_folder
    from skgmvae.labeling import cluster_order

    folder, model, truth = fitted
    gmvae = GMVAETransformer.load(model)
    data = _read_folder(str(folder), read_model_metadata(model))
    log_density = gmvae.component_log_density(data.X)
    first = _coverage_order(gmvae, data.X, data.paths, tmp_path / "none-yet.csv", log_density)
    picked = suggest_labels(gmvae, data.X, len(first))
    np.testing.assert_array_equal(first, picked)
    order = cluster_order(log_density, first)
    assert order[0] == log_density[first[0]].argmax()
    # Labels on file steer it: the first pick labeled, the next order starts elsewhere and skips it.
    write_labels(tmp_path / "labels.csv", {data.paths[first[0]]: truth[data.paths[first[0]]]}, order=False)
    after = _coverage_order(gmvae, data.X, data.paths, tmp_path / "labels.csv", log_density)
    assert first[0] not in after and len(after) == len(first)
