"""The labeling pages in headless Chromium, used as a person would: typing, reloading, closing, a cluster at a time."""

import csv
import json
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from skgmvae._label_session import LabelSession
from skgmvae.labeling import labeling_page, read_labels

from .test_label_server import Running, write_images
from .test_labeling import HOSTILE_PATHS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install selenium)")
    from selenium.common.exceptions import WebDriverException

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--window-size=1000,1400"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    try:
        browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    except WebDriverException as error:
        pytest.skip(f"headless Chromium could not start here: {error.msg}")
    yield browser
    browser.quit()


def wait_for(check, timeout=10.0):
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (OSError, ValueError, StaleElementReferenceException):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        time.sleep(0.05)


def by_id(driver, name):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, name)


def labels_on_disk(path, paths):
    return list(read_labels(path, paths))


def type_labels(driver, labels):
    from selenium.webdriver.common.keys import Keys

    for label in labels:
        by_id(driver, "label").send_keys(label, Keys.ENTER)


def assert_no_alert(driver):
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is what raises


@pytest.fixture
def digit_images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    paths = [f"d{index}.png" for index in range(8)]
    for path, image in zip(paths, load_digits().images[:8]):
        Image.fromarray((255 - image * 255 / 16).astype(np.uint8)).resize((32, 32)).save(folder / path)
    return folder, paths


@pytest.mark.slow
def test_served_page_writes_each_label_and_survives_reload_and_reopening(driver, digit_images, tmp_path):
    folder, paths = digit_images
    labels_csv = tmp_path / "labels.csv"
    server = Running(LabelSession(folder, paths, labels_csv))
    url = server.url
    try:
        driver.get(url)
        wait_for(lambda: "image 1 of 8" in by_id(driver, "position").text)
        type_labels(driver, ["0", "1", "", "3"])  # the third image is left blank
        wait_for(lambda: labels_on_disk(labels_csv, paths)[:4] == ["0", "1", -1, "3"])
        by_id(driver, "label").send_keys("4")  # typed, not yet confirmed: a reload keeps it too (pagehide)
        driver.refresh()
        wait_for(lambda: "image 3 of 8, 4 labeled" in by_id(driver, "position").text)  # goes on at the first blank
        assert labels_on_disk(labels_csv, paths)[:5] == ["0", "1", -1, "3", "4"]
        assert by_id(driver, "path").text == paths[2]

        driver.switch_to.new_window("tab")  # close the tab, open the page again
        original = driver.window_handles[0]
        driver.switch_to.window(original)
        driver.close()
        driver.switch_to.window(driver.window_handles[0])
        driver.get(url)
        wait_for(lambda: "image 3 of 8, 4 labeled" in by_id(driver, "position").text)
        type_labels(driver, ["2"])
        wait_for(lambda: labels_on_disk(labels_csv, paths)[2] == "2")
    finally:
        server.stop()
    # A new server on the same file (the process was stopped) shows the labels and goes on from the first blank.
    server = Running(LabelSession(folder, paths, labels_csv))
    try:
        driver.get(server.url)
        wait_for(lambda: "image 6 of 8, 5 labeled" in by_id(driver, "position").text)
        from selenium.webdriver.common.keys import Keys

        by_id(driver, "label").send_keys(Keys.SHIFT, Keys.ENTER)
        assert by_id(driver, "label").get_attribute("value") == "4"
    finally:
        server.stop()


@pytest.mark.slow
def test_offline_page_keeps_labels_across_reloads_opens_a_file_and_saves_another_name(driver, downloads, tmp_path):
    paths = ["part0/digit0000.png", "part1/digit0001.png", "part2/digit0002.png", "part0/digit0003.png"]
    page = tmp_path / "to_label.html"
    page.write_text(labeling_page(paths, load_digits().data[:4] / 16.0, 8, csv_name="to_label.csv"))
    driver.get(page.as_uri())
    type_labels(driver, ["0", "", " 2 "])
    driver.refresh()
    wait_for(lambda: "image 2 of 4, 2 labeled" in by_id(driver, "position").text)
    driver.get("about:blank")  # leave the page and open it again
    driver.get(page.as_uri())
    wait_for(lambda: "image 2 of 4, 2 labeled" in by_id(driver, "position").text)

    earlier = tmp_path / "earlier.csv"
    earlier.write_text(f'path,label\n{paths[1]},1\n"{paths[3]}",3\nnot/here.png,9\n')
    by_id(driver, "open").send_keys(str(earlier))
    wait_for(lambda: "4 labeled" in by_id(driver, "position").text)
    assert "not on this page" in by_id(driver, "status").text

    by_id(driver, "save").click()
    saved = downloads / "to_label-labels.csv"
    wait_for(lambda: saved.is_file() and saved.stat().st_size)
    assert labels_on_disk(saved, paths) == ["0", "1", "2", "3"]
    assert not (downloads / "to_label.csv").exists()


@pytest.mark.slow
def test_a_cluster_at_a_time_with_two_images_clicked_away(driver, digit_images, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    folder, paths = digit_images
    # Two clusters: images 0-5 (most typical first: 5, 4, ..., 0) and images 6-7.
    log_density = np.array([[-10 + index, -50] if index < 6 else [-50, -index] for index in range(8)], dtype=float)
    labels_csv = tmp_path / "labels.csv"
    server = Running(LabelSession(folder, paths, labels_csv, log_density=log_density))
    try:
        driver.get(server.url + "#clusters")
        cells = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#grid .cell"))
        assert [cell.get_attribute("title") for cell in cells] == [paths[i] for i in (5, 4, 3, 2, 1, 0)]
        cells[1].click()
        cells[4].click()
        by_id(driver, "cluster-label").send_keys("seven", Keys.ENTER)
        wait_for(lambda: [c.get_attribute("title") for c in driver.find_elements(By.CSS_SELECTOR, "#grid .cell")]
                 == [paths[6], paths[7]])
        assert labels_on_disk(labels_csv, paths) == ["seven", -1, "seven", "seven", -1, "seven", -1, -1]
        with open(labels_csv, newline="") as handle:
            assert {row["view"] for row in csv.DictReader(handle) if row["label"]} == {"cluster"}

        by_id(driver, "show-image").click()  # the one-image view shows the cluster's labels
        wait_for(lambda: "4 labeled" in by_id(driver, "position").text)
        assert by_id(driver, "path").text == paths[1]
    finally:
        server.stop()


@pytest.mark.slow
def test_keyboard_only(driver, digit_images, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    folder, paths = digit_images
    log_density = np.array([[-10 + index, -50] for index in range(8)], dtype=float)
    labels_csv = tmp_path / "labels.csv"
    server = Running(LabelSession(folder, paths, labels_csv, log_density=log_density))
    try:
        driver.get(server.url)
        wait_for(lambda: "image 1 of 8" in by_id(driver, "position").text)
        ActionChains(driver).send_keys("a", Keys.ENTER, "b", Keys.ENTER).key_down(Keys.SHIFT).send_keys(Keys.ENTER) \
            .key_up(Keys.SHIFT).send_keys(Keys.ENTER).perform()
        wait_for(lambda: labels_on_disk(labels_csv, paths)[:2] == ["a", "b"])
        # The view buttons come just before the box in the tab order: Shift+Tab, Enter.
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        assert driver.switch_to.active_element.get_attribute("id") == "show-cluster"
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        wait_for(lambda: driver.switch_to.active_element.get_attribute("id") == "cluster-label")
        # The six images not labeled yet come before the box: Shift+Tab six times reaches the first.
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB * 6).key_up(Keys.SHIFT).perform()
        assert driver.switch_to.active_element.get_attribute("title") == paths[7]
        # Space leaves the focused image out; arrows move; then back to the label box.
        ActionChains(driver).send_keys(Keys.SPACE, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.SPACE).perform()
        ActionChains(driver).send_keys(Keys.TAB * 4).perform()
        assert driver.switch_to.active_element.get_attribute("id") == "cluster-label"
        ActionChains(driver).send_keys("c", Keys.ENTER).perform()
        wait_for(lambda: labels_on_disk(labels_csv, paths) == ["a", "b", "c", "c", "c", -1, "c", -1])
    finally:
        server.stop()


@pytest.mark.slow
def test_hostile_file_names_stay_text_in_both_pages(driver, tmp_path):
    folder = tmp_path / "images"
    write_images(folder, HOSTILE_PATHS)
    paths = sorted(HOSTILE_PATHS)
    labels_csv = tmp_path / "labels.csv"
    server = Running(LabelSession(folder, paths, labels_csv))
    try:
        driver.get(server.url)
        shown = []
        for index in range(len(paths)):
            wait_for(lambda i=index: f"image {i + 1} of" in by_id(driver, "position").text)
            shown.append(by_id(driver, "path").get_attribute("textContent"))
            wait_for(lambda: by_id(driver, "image").get_attribute("naturalWidth") not in (None, "0"))
            type_labels(driver, [f"</script><b>{index}</b>&\"'"])
        assert_no_alert(driver)
        assert shown == paths
        wait_for(lambda: labels_on_disk(labels_csv, paths)[-1] != -1)
        assert labels_on_disk(labels_csv, paths) == [f"</script><b>{index}</b>&\"'" for index in range(len(paths))]
    finally:
        server.stop()
    page = tmp_path / "to_label.html"
    page.write_text(labeling_page(paths, np.zeros((len(paths), 4)), 2, csv_name="to_label.csv"))
    driver.get(page.as_uri())
    assert_no_alert(driver)
    assert by_id(driver, "path").get_attribute("textContent") == paths[0]
    assert driver.execute_script("return document.scripts.length") == 1


def test_the_pages_label_rule_reads_every_case_as_python_does_in_chromium(driver):
    from skgmvae._label_page import RULE
    from skgmvae.labeling import rule_config

    from .test_labeling import _python_rule, rule_cases

    cases = rule_cases()
    driver.get("about:blank")
    answer = driver.execute_script(RULE + """
const input = JSON.parse(arguments[0]);
const rule = makeLabelRule(input.rule);
return JSON.stringify(input.cases.map((text) => {
  const checked = rule.clean(text);
  return checked.error ? [null, checked.error, null] : [checked.label, null, rule.key(checked.label)];
}));""", json.dumps({"rule": rule_config(), "cases": cases}))
    disagree = [(text, ours, theirs) for text, ours, theirs in zip(cases, map(_python_rule, cases), json.loads(answer))
                if ours != theirs]
    assert not disagree, disagree[:5]


@pytest.mark.slow
def test_a_refused_and_a_good_label_in_one_batch_a_restart_and_a_reload_keep_every_accepted_label(
        driver, digit_images, tmp_path):
    folder, paths = digit_images
    labels_csv = tmp_path / "labels.csv"
    first = Running(LabelSession(folder, paths, labels_csv))
    port = first.port
    try:
        driver.get(first.url)
        wait_for(lambda: "image 1 of 8" in by_id(driver, "position").text)
        assert "token" not in driver.current_url  # the key left the address bar once it became a cookie
        type_labels(driver, ["cat"])
        wait_for(lambda: labels_on_disk(labels_csv, paths)[0] == "cat")
    finally:
        first.stop()
    # The server is gone: what is typed now waits in the tab (one batch: a refused -1, two spellings of cat).
    type_labels(driver, ["-1", "Cat", "dog"])
    wait_for(lambda: "NOT saved yet" in by_id(driver, "status").text)
    second = Running(LabelSession(folder, paths, labels_csv), port=port)  # restarted: same file, same port, new key
    try:
        wait_for(lambda: "open the address" in by_id(driver, "status").text)  # the tab is told how to go on
        assert labels_on_disk(labels_csv, paths)[:4] == ["cat", -1, -1, -1]
        driver.get(second.url)
        wait_for(lambda: labels_on_disk(labels_csv, paths)[:4] == ["cat", -1, "cat", "dog"])
        wait_for(lambda: "3 labeled, 1 not saved" in by_id(driver, "position").text)
        assert by_id(driver, "path").text == paths[1]  # the first image without a label: the refused -1
        assert by_id(driver, "label").get_attribute("value") == "-1"
        assert "not saved: '-1' marks unlabeled images" in by_id(driver, "problem").text
        driver.refresh()  # a reload keeps the refusal in view, and the labels on disk
        wait_for(lambda: "3 labeled, 1 not saved" in by_id(driver, "position").text)
        assert by_id(driver, "label").get_attribute("value") == "-1"
        by_id(driver, "label").clear()
        type_labels(driver, ["mouse"])
        wait_for(lambda: labels_on_disk(labels_csv, paths)[:4] == ["cat", "mouse", "cat", "dog"])
        wait_for(lambda: "4 labeled" in by_id(driver, "position").text and "not saved" not in
                 by_id(driver, "position").text)
    finally:
        second.stop()


@pytest.mark.slow
def test_the_browser_opened_on_the_redirect_file_gets_the_cookie(driver, digit_images, tmp_path):
    from skgmvae.cli import _redirect_file

    folder, paths = digit_images
    server = Running(LabelSession(folder, paths, tmp_path / "labels.csv"))
    try:
        redirect = _redirect_file(tmp_path, server.url)
        assert server.session.token not in redirect.as_uri() and redirect.stat().st_mode & 0o777 == 0o600
        driver.get(redirect.as_uri())
        wait_for(lambda: "image 1 of 8" in by_id(driver, "position").text)  # state fetched with the cookie
        wait_for(lambda: by_id(driver, "image").get_attribute("naturalWidth") not in (None, "0"))
        type_labels(driver, ["zero"])
        wait_for(lambda: labels_on_disk(tmp_path / "labels.csv", paths)[0] == "zero")
    finally:
        server.stop()


@pytest.mark.slow
def test_offline_page_keeps_only_what_predict_reads_and_label_opens_its_file(driver, downloads, tmp_path):
    paths = ["a/one.png", "a/two.png", "b/three.png", "b/four.png"]
    page = tmp_path / "round.html"
    page.write_text(labeling_page(paths, load_digits().data[:4] / 16.0, 8, csv_name="round.csv"))
    driver.get(page.as_uri())
    type_labels(driver, ["cat", "-1", "Cat ", "a,\"b\""])
    wait_for(lambda: "3 labeled, 1 not saved" in by_id(driver, "position").text)
    by_id(driver, "save").click()
    saved = downloads / "round-labels.csv"
    wait_for(lambda: saved.is_file() and saved.stat().st_size)
    assert "refused ones are not in it" in by_id(driver, "status").text
    assert labels_on_disk(saved, paths) == ["cat", -1, "cat", 'a,"b"']
    session = LabelSession(tmp_path, paths, saved)  # `skgmvae label --labels round-labels.csv` opens it
    assert [item["label"] for item in session.state()["items"]] == ["cat", "", "cat", 'a,"b"']
    driver.refresh()  # the refused one stays in view, not kept
    wait_for(lambda: "3 labeled, 1 not saved" in by_id(driver, "position").text)
    assert by_id(driver, "label").get_attribute("value") == "-1"
