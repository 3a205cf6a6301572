"""Screenshots of ``skgmvae label``'s two views for the docs (docs/_static/labeling_*.png).

Writes scikit-learn's digits as PNG files, fits a small GMVAE on them (the clusters the grid shows), serves
the page on 127.0.0.1 and photographs it in Debian's headless Chromium (``chromium`` and
``chromium-driver``, driven by selenium) after a few labels are typed. Run from the repository root::

    python docs/make_labeling_screenshots.py
"""

import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from skgmvae import GMVAETransformer
from skgmvae._label_server import make_server, session_url
from skgmvae._label_session import LabelSession
from skgmvae.datasets import load_image_folder

STATIC = Path(__file__).parent / "_static"


def main():
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    digits = load_digits()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "scans"
        for index, image in enumerate(digits.images[:600]):
            (folder / f"batch{index % 3}").mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.uint8(255 - image * 255 / 16), mode="L").save(folder / f"batch{index % 3}" /
                                                                              f"scan{index:04d}.png")
        data = load_image_folder(folder, side=8)
        gmvae = GMVAETransformer(k=30, max_epochs=30, random_state=0).fit(data.X)
        session = LabelSession(folder, data.paths, Path(work) / "labels.csv",
                               log_density=gmvae.component_log_density(data.X), grid_size=20)
        server = make_server(session, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--window-size=900,1000"):
            options.add_argument(flag)
        browser = webdriver.Chrome(options=options,
                                   service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
        try:
            browser.get(session_url(server))  # the address holds the key, as `skgmvae label` prints it
            time.sleep(1)
            box = browser.find_element(By.ID, "label")
            for label in ("0", "1", "2"):
                box.send_keys(label, Keys.ENTER)
                time.sleep(0.3)
            browser.save_screenshot(str(STATIC / "labeling_one_image.png"))
            browser.find_element(By.ID, "show-cluster").click()
            time.sleep(1.5)
            cells = browser.find_elements(By.CSS_SELECTOR, "#grid .cell")
            for cell in cells[-2:]:
                cell.click()
            browser.find_element(By.ID, "cluster-label").send_keys("7")
            time.sleep(0.3)
            browser.save_screenshot(str(STATIC / "labeling_cluster.png"))
        finally:
            browser.quit()
            server.shutdown()
    print(f"wrote {STATIC / 'labeling_one_image.png'} and {STATIC / 'labeling_cluster.png'}")


if __name__ == "__main__":
    main()
