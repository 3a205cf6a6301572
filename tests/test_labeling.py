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
from skgmvae.labeling import (
    MAX_LABEL_LENGTH,
    clean_label,
    fix_label_files,
    label_key,
    read_label_files,
    read_labels,
    suggestions_csv,
    write_atomic,
)

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
    ("path,label\na.png,a\nb.png,A \n", r"spelled in two cases: 'a' \(.*labels.csv, line 2\) and 'A' \(.*line 3\)"
                                        r".*skgmvae labels --fix .*labels.csv"),
    ("path,label\na.png,1\na.png,2\n", r"a.png is labeled both '1' and '2'"),
    ("path,label\na.png,-1\n", r"line 2\): '-1' marks unlabeled images.*skgmvae labels --fix .*labels.csv"),
    ('path,label\na.png,"a\tb"\n', r"line 2\): the label holds U\+0009, a control character"),
    ("path,label\na.png,a\u200bb\n", r"U\+200B, an invisible format character"),
])
def test_bad_labels_files_are_clear_errors(tmp_path, content, match):
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        read_labels(path, ["a.png", "b.png"])


def test_labels_fix_rewrites_one_spelling_per_label_across_files_and_blanks_minus_one(tmp_path):
    first, second = tmp_path / "round1.csv", tmp_path / "round2.csv"
    first.write_text("order,path,label,view\n1,a.png,Cat,image\n2,b.png, cat ,\n3,c.png,-1,\n", encoding="utf-8")
    second.write_text("path,label\nd.png,CAT\ne.png,dog\n", encoding="utf-8")
    paths = ["a.png", "b.png", "c.png", "d.png", "e.png"]
    with pytest.raises(ValueError, match="labels --fix"):
        read_label_files([first, second], paths)
    before = first.read_text(encoding="utf-8")
    changes = fix_label_files([first, second], write=False)
    assert first.read_text(encoding="utf-8") == before  # only listed
    assert [(Path(file).name, line, old, new) for file, line, old, new in changes] == [
        ("round1.csv", 3, " cat ", "Cat"), ("round1.csv", 4, "-1", ""), ("round2.csv", 2, "CAT", "Cat")]
    fix_label_files([first, second])
    assert list(read_label_files([first, second], paths).labels) == ["Cat", "Cat", -1, "Cat", "dog"]
    with open(first, newline="", encoding="utf-8") as handle:  # other columns and the row order are kept
        assert [list(row.values()) for row in csv.DictReader(handle)] == [
            ["1", "a.png", "Cat", "image"], ["2", "b.png", "Cat", ""], ["3", "c.png", "", ""]]
    assert fix_label_files([first, second]) == []
    unfixable = tmp_path / "hand.csv"
    unfixable.write_text('path,label\na.png,"two\nlines"\nb.png,x\nc.png,X\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"by hand \(nothing was rewritten\).*line 2.*a control character"):
        fix_label_files([unfixable])
    assert "X" in unfixable.read_text(encoding="utf-8")


def test_labels_command_lists_then_fixes_and_every_reader_opens_the_file_after(tmp_path, capsys):
    from skgmvae import cli
    from skgmvae._label_session import LabelSession

    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\na.png,cat\nb.png,Cat\n")
    with pytest.raises(ValueError, match=r"skgmvae labels --fix"):  # what `skgmvae label` said, with no way out
        LabelSession(tmp_path, ["a.png", "b.png"], labels)
    assert cli.main(["labels", str(labels)]) == 1
    assert "'Cat' -> 'cat'" in capsys.readouterr().out and "Cat" in labels.read_text()
    assert cli.main(["labels", str(labels), "--fix"]) == 0
    assert "rewrote 1 file(s)" in capsys.readouterr().out
    assert LabelSession(tmp_path, ["a.png", "b.png"], labels).state()["items"] == [
        {"path": "a.png", "label": "cat"}, {"path": "b.png", "label": "cat"}]
    assert cli.main(["predict", "model.pt", str(tmp_path), "--labels", str(labels), "--out", "p.csv",
                     "--ignore-case"]) == 2
    assert "skgmvae labels --fix" in capsys.readouterr().err


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


# ------------------------------------------------------------------ what a label is
@pytest.mark.parametrize("typed, label", [
    ("cat", "cat"), ("  cat\t", "cat"), ("\u3000cat\u00a0\u2028", "cat"), ("", ""), (" \n ", ""),
    ("cafe\u0301", "caf\u00e9"), ("a,b", "a,b"), ('say "hi"', 'say "hi"'), ("数字 ✓", "数字 ✓"),
    ("inner  space", "inner  space"), ("\u2000x", "x"), ("x" * MAX_LABEL_LENGTH, "x" * MAX_LABEL_LENGTH),
    ("\U0001f600" * MAX_LABEL_LENGTH, "\U0001f600" * MAX_LABEL_LENGTH), ("−1", "−1"), ("-1.0", "-1.0"),
])
def test_clean_label_normalises(typed, label):
    assert clean_label(typed) == label


@pytest.mark.parametrize("typed, match", [
    ("two\nlines", r"U\+000A, a control character"), ("a\x00", r"U\+0000"), ("zero\u200bwidth", r"U\+200B"),
    ("\ufeffbom", r"U\+FEFF, an invisible format character"), ("\u202eevil", r"U\+202E"),
    ("a\u2028b", r"line separator"),
    ("a\u2029b", "paragraph separator"), ("\ud800", "lone surrogate"), ("-1", "marks unlabeled"),
    (" -1 ", "marks unlabeled"), ("x" * (MAX_LABEL_LENGTH + 1), f"201 characters long; .* at most {MAX_LABEL_LENGTH}"),
    (3, "a label is text"), (None, "a label is text"),
])
def test_clean_label_refuses_with_the_reason(typed, match):
    with pytest.raises(ValueError, match=match):
        clean_label(typed)


def test_spellings_that_differ_only_in_case_share_a_key():
    assert label_key("Cat") == label_key("CAT") == label_key("cat")
    assert label_key("Straße") == label_key("STRASSE") and label_key("ǅ") == label_key("ǆ")
    assert label_key("cat") != label_key("cot")


def _python_rule(text):
    try:
        label = clean_label(text)
    except ValueError as error:
        return [None, str(error), None]
    return [label, None, label_key(label)]


def rule_cases():
    """Strings the page's script and the Python rule must read alike: awkward ones, then random ones.

    Random characters are those this Python's Unicode tables assign (a newer browser may know more).
    """
    import random
    import unicodedata

    from skgmvae.labeling import TRIMMED

    awkward = ["cat", "Cat", " cat ", "", "   ", "-1", " -1\t", "−1", "a,b", 'q"uote', "it's", "new\nline", "a\rb",
               "cafe\u0301", "\u0301", "ß", "SS", "İstanbul", "ı", "ΣΑΣ", "ς", "ﬁ", "ǅ", "ŉ", "ƛ", "👨\u200d👩",
               "\ud800x", "x\udfff", "\ufeff", "\u00ad", "\u061c", "\u2060", "\x85x\x85", "\u1680a", "a\u180eb",
               "x" * 200, "x" * 201, "😀" * 200, "😀" * 201, "\u2000" * 3 + "a", "=SUM(A1)", "NaN"]
    generator = random.Random(0)
    pools = [TRIMMED, "aAbBzZ09 ,\"'-_.", "\x00\t\n\x1f\x7f\u200b\u200c\u200d\u202e\u2028\u2029\ufeff\ud800\udc00",
             "\u0301\u0308\u0327ßİıΣςﬁǅŉµſǰ"]
    assigned = [chr(code) for code in range(0x30000) if unicodedata.category(chr(code)) not in ("Cn", "Cs")]
    cases = list(awkward)
    for _ in range(1500):
        cases.append("".join(generator.choice(generator.choice(pools)) if generator.random() < 0.5 else
                             generator.choice(assigned) for _ in range(generator.randrange(0, 10))))
    return cases


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="needs node to run the page's label rule outside a browser")
def test_the_pages_label_rule_reads_every_case_as_python_does():
    from skgmvae._label_page import RULE
    from skgmvae.labeling import rule_config

    script = RULE + """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const rule = makeLabelRule(input.rule);
process.stdout.write(JSON.stringify(input.cases.map((text) => {
  const checked = rule.clean(text);
  return checked.error ? [null, checked.error, null] : [checked.label, null, rule.key(checked.label)];
})));
"""
    cases = rule_cases()
    run = subprocess.run([NODE, "-e", script], input=json.dumps({"rule": rule_config(), "cases": cases}),
                         capture_output=True, text=True, check=True)
    javascript = json.loads(run.stdout)
    disagree = [(text, ours, theirs) for text, ours, theirs in zip(cases, map(_python_rule, cases), javascript)
                if ours != theirs]
    assert not disagree, disagree[:5]


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
    # The clusters of the images a selection rule picks come first, in its order, then the others by mass.
    assert list(cluster_order(log_density, first_images=[3])) == [1, 0]
    assert list(cluster_order(log_density, first_images=[3, 0, 1])) == [1, 0]
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
