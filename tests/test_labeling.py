"""The labeling loop as a person runs it: a folder of PNG files, the three commands, the page in a browser."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from skgmvae.datasets import load_image_folder
from skgmvae.labeling import read_label_files, read_labels, suggestions_csv, write_atomic

FAST_FIT = ["--side", "16", "--k", "30", "--max-epochs", "30"]


def write_digit_pngs(folder, n_images=600):
    """Digits as PNG files, dark strokes on a light background, in three subfolders; returns {path: label}."""
    digits = load_digits()
    truth = {}
    for index in range(n_images):
        relative = f"part{index % 3}/digit{index:04d}.png"
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        pixels = (255 - digits.images[index] * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / relative)
        truth[relative] = str(digits.target[index])
    return truth


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    return folder, write_digit_pngs(folder)


def skgmvae(*args, cwd):
    return subprocess.run([sys.executable, "-m", "skgmvae", *map(str, args)], cwd=cwd, capture_output=True, text=True)


# ------------------------------------------------------------------ reading a folder
def test_folder_is_read_in_path_order_inverted_and_resized(digit_folder):
    folder, truth = digit_folder
    data = load_image_folder(folder, side=16)
    assert data.paths == sorted(truth) and data.X.shape == (len(truth), 256)
    assert data.inverted and data.X.dtype == np.float32
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    assert data.X.mean() < 0.5  # background is dark after the inversion, as the likelihood expects


def test_unreadable_files_are_listed_or_skipped(tmp_path):
    write_digit_pngs(tmp_path, n_images=6)
    (tmp_path / "part0" / "broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.png").write_text("nor this")
    with pytest.raises(ValueError, match=r"(?s)2 of 8 files.*notes\.png.*part0/broken\.png.*on_error='skip'"):
        load_image_folder(tmp_path)
    data = load_image_folder(tmp_path, on_error="skip")
    assert len(data.paths) == 6 and sorted(path for path, _ in data.skipped) == ["notes.png", "part0/broken.png"]


def test_folder_into_a_memmap_chunk_by_chunk(digit_folder, tmp_path):
    folder, _ = digit_folder
    in_memory = load_image_folder(folder, side=16)
    mapped = load_image_folder(folder, side=16, memmap_path=tmp_path / "images.u8", chunk_size=64)
    assert isinstance(mapped.X, np.memmap) and mapped.X.dtype == np.uint8
    np.testing.assert_allclose(mapped.X / 255.0, in_memory.X, atol=1e-6)


# ------------------------------------------------------------------ the labels file
def test_partly_filled_labels_file_is_valid_and_spaces_are_stripped(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("order,path,label\n1,a.png, 3 \n2,b.png,\n3,c.png,7\n")
    labels = read_labels(path, ["a.png", "b.png", "c.png", "d.png"])
    assert list(labels) == ["3", -1, "7", -1]


@pytest.mark.parametrize("content, match", [
    ("file,class\na.png,3\n", r"needs the columns \['path', 'label'\].*missing: \['path', 'label'\]"),
    ("path,label\nz.png,3\n", r"not images of the folder, e.g. \['z.png'\]"),
    ("path,label\na.png,a\nb.png,A \n", r"different cases: \[\['A', 'a'\]\].*--ignore-case"),
    ("path,label\na.png,1\na.png,2\n", r"a.png is labeled both '1' and '2'"),
])
def test_bad_labels_files_are_clear_errors(tmp_path, content, match):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_labels(path, ["a.png", "b.png"])


def test_ignore_case_is_a_documented_normalisation(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("path,label\na.png,a\nb.png,A \n")
    assert list(read_labels(path, ["a.png", "b.png"], ignore_case=True)) == ["a", "a"]


def test_outputs_never_overwrite_without_force(tmp_path):
    target = tmp_path / "to_label.csv"
    write_atomic(target, suggestions_csv(["a.png"]))
    with pytest.raises(FileExistsError, match="--force"):
        write_atomic(target, "other")
    write_atomic(target, "replaced", force=True)
    assert target.read_text() == "replaced"
    assert [path.name for path in tmp_path.iterdir()] == ["to_label.csv"]  # no temporary file left behind


def test_an_interrupted_write_leaves_the_old_labels_whole(tmp_path, monkeypatch):
    import os

    target = tmp_path / "labels.csv"
    write_atomic(target, "path,label\na.png,cat\n")
    target.chmod(0o644)

    def interrupted(descriptor):
        raise KeyboardInterrupt  # Ctrl-C between writing the new labels and moving them into place

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "path,label\na.png,dog\nb.png,cow\n", force=True)
    monkeypatch.undo()
    assert target.read_text() == "path,label\na.png,cat\n"
    assert [path.name for path in tmp_path.iterdir()] == ["labels.csv"]
    write_atomic(target, "path,label\n", force=True)
    assert target.stat().st_mode & 0o777 == 0o644  # the new file keeps the old one's permissions


HOSTILE_PATHS = [
    "</script><script>alert(1)</script>.png",  # folders "<" and "script><script>alert(1)<", file "script>.png"
    "a<!--/x.png",
    'quote"double.png',
    "it's.png",
    "a&amp;b & c.png",
    "new\nline.png",
    "comma,and space.png",
    "ünïcødé ✓ 数字.png",
    "sep\u2028arator\u2029.png",
    "%2e%2e.png",
]


def page_config(page):
    """The JSON the page's script starts from, as the browser's JSON parser would read it."""
    start = page.index("const config = ") + len("const config = ")
    return json.loads(page[start:page.index(";\n", start)])


def test_page_keeps_hostile_paths_as_data():
    from skgmvae.labeling import labeling_page

    page = labeling_page(HOSTILE_PATHS, np.zeros((len(HOSTILE_PATHS), 4)), 2, csv_name="a<b>&'\"c.csv",
                         title="<b>title</b>")
    script = page[page.index("<script nonce="):]
    assert script.lower().count("</script") == 1  # only the element's own end tag
    assert "<!--" not in script and "\u2028" not in script and "\u2029" not in script
    assert "<b>title</b>" not in page and "&lt;b&gt;title&lt;/b&gt;" in page
    config = page_config(page)
    assert [item["path"] for item in config["items"]] == HOSTILE_PATHS
    assert config["saveName"] == "a<b>&'\"c-labels.csv"


def test_labels_of_several_rounds_merge_and_conflicts_name_both_files(tmp_path):
    first, second = tmp_path / "round1.csv", tmp_path / "round2.csv"
    first.write_text("order,path,label\n1,a.png,3\n2,b.png,\n")
    second.write_text("path,label,view\na.png,3,\nb.png,5,image\nc.png,7,cluster\n")
    merged = read_label_files([first, second], ["a.png", "b.png", "c.png", "d.png"])
    assert list(merged.labels) == ["3", "5", "7", -1]
    assert list(merged.chosen) == [True, False, True, False]  # from suggest's order column, from the cluster view
    second.write_text("path,label\na.png,4\n")
    with pytest.raises(ValueError, match=r"a.png is labeled '3' in .*round1.csv \(line 2\) but '4' in "
                                         r".*round2.csv \(line 2\)"):
        read_label_files([first, second], ["a.png", "b.png"])


def test_labels_csv_round_trips_awkward_labels_and_paths(tmp_path):
    from skgmvae.labeling import labels_csv

    paths = ['quote"double.png', "comma,and space.png", "new\nline.png"]
    path = tmp_path / "labels.csv"
    path.write_text(labels_csv(paths, ['say "x"', "a,b", ""], order=True, views=["image", "cluster", ""]),
                    encoding="utf-8")
    assert list(read_labels(path, paths)) == ['say "x"', "a,b", -1]


def test_cluster_grid_ranks_a_clusters_members_by_their_density():
    from skgmvae.labeling import cluster_grid, cluster_order

    log_density = np.log(np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.8, 0.2, 0.0], [0.2, 0.8, 0.0],
                                   [0.7, 0.3, 0.0]]) + 1e-9)
    assert list(cluster_order(log_density)) == [0, 1]  # mass order; component 2 holds no image
    assert list(cluster_grid(log_density, 0)) == [0, 2, 4, 1]
    assert list(cluster_grid(log_density, 0, size=2)) == [0, 2]
    available = np.array([True, True, False, True, True])
    assert list(cluster_grid(log_density, 0, available=available)) == [0, 4, 1]
    assert list(cluster_grid(log_density, 1)) == [3]


# ------------------------------------------------------------------ the loop end to end
@pytest.mark.slow
def test_fit_suggest_label_predict_as_subprocesses(digit_folder, tmp_path):
    folder, truth = digit_folder
    fitted = skgmvae("fit", folder, "--out", "model.pt", *FAST_FIT, cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    assert "wrote model.pt" in fitted.stdout and (tmp_path / "model-clusters.png").is_file()

    suggested = skgmvae("suggest", "model.pt", folder, "-n", "30", "--out", "to_label.csv", cwd=tmp_path)
    assert suggested.returncode == 0, suggested.stderr
    assert (tmp_path / "to_label.html").is_file()
    with open(tmp_path / "to_label.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 30 and all(row["label"] == "" for row in rows)
    # A person labels the suggested images (the truth stands in), leaving the last five blank.
    with open(tmp_path / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order", "path", "label"])
        writer.writerows([row["order"], row["path"], truth[row["path"]] if i < 25 else ""]
                         for i, row in enumerate(rows))

    again = skgmvae("suggest", "model.pt", folder, "-n", "30", "--out", "to_label.csv", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr

    predicted = skgmvae("predict", "model.pt", folder, "--labels", "labels.csv", "--out", "predictions.csv",
                        cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "route: " in predicted.stdout
    # 25 suggested labels over 10 classes: a cross-validated estimate, flagged as optimistic since suggest picked
    # the images, or, with fewer than five labels in most classes, soft decoding without an estimate.
    assert ("estimated accuracy" in predicted.stdout and "optimistic" in predicted.stdout
            or "without a cross-validated" in predicted.stdout)
    with open(tmp_path / "predictions.csv", newline="") as handle:
        predictions = list(csv.DictReader(handle))
    assert len(predictions) == len(truth)
    unlabeled = [row for row in predictions if not row["given"]]
    accuracy = np.mean([row["label"] == truth[row["path"]] for row in unlabeled])
    assert accuracy > 0.8, accuracy
    assert sum(row["label_next"] == "yes" for row in predictions) == 30  # 5% of 600

    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nelsewhere.png,3\n")
    failed = skgmvae("predict", "model.pt", folder, "--labels", bad, "--out", "bad-predictions.csv", cwd=tmp_path)
    assert failed.returncode == 2 and "not images of the folder" in failed.stderr
    assert not (tmp_path / "bad-predictions.csv").exists()


def test_help_shows_examples():
    shown = subprocess.run([sys.executable, "-m", "skgmvae", "suggest", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "example:" in shown.stdout and "-n 100" in shown.stdout


# ------------------------------------------------------------------ the page, in a real browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
def test_labeling_page_in_headless_chromium(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install selenium)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from skgmvae.labeling import labeling_page

    paths = ["part0/digit0000.png", "part1/digit0001.png", "part2/digit0002.png"]
    images = load_digits().data[:3] / 16.0
    page = tmp_path / "to_label.html"
    page.write_text(labeling_page(paths, images, 8, csv_name="to_label.csv"))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    from selenium.common.exceptions import WebDriverException

    try:
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    except WebDriverException as error:
        pytest.skip(f"headless Chromium could not start here: {error.msg}")
    try:
        driver.get(page.as_uri())
        box = driver.find_element(By.ID, "label")
        box.send_keys("0", Keys.ENTER)
        box.send_keys(Keys.ENTER)  # the second image is left blank
        box.send_keys(" 2 ", Keys.ENTER)
        assert "3 of 3" in driver.find_element(By.ID, "position").text
        driver.find_element(By.ID, "save").click()
        saved = downloads / "to_label-labels.csv"  # never the blank file `suggest --force` rewrites
        for _ in range(100):
            if saved.is_file() and saved.stat().st_size:
                break
            driver.implicitly_wait(0.1)
            __import__("time").sleep(0.1)
    finally:
        driver.quit()
    labels = read_labels(saved, paths)
    assert list(labels) == ["0", -1, "2"]
    assert Path(saved).read_text().splitlines()[0] == "order,path,label"


def test_files_skipped_at_fit_are_skipped_by_suggest_too(tmp_path):
    folder = tmp_path / "images"
    write_digit_pngs(folder, n_images=40)
    (folder / "broken.png").write_bytes(b"not an image")
    tiny = ["--side", "8", "--k", "4", "--max-epochs", "2"]
    refused = skgmvae("fit", folder, "--out", "model.pt", *tiny, cwd=tmp_path)
    assert refused.returncode == 2 and "broken.png" in refused.stderr and not (tmp_path / "model.pt").exists()
    fitted = skgmvae("fit", folder, "--out", "model.pt", "--skip-unreadable", *tiny, cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    assert "skipped broken.png" in fitted.stderr
    suggested = skgmvae("suggest", "model.pt", folder, "-n", "5", "--out", "to_label.csv", cwd=tmp_path)
    assert suggested.returncode == 0, suggested.stderr
