"""The server of ``skgmvae label`` over HTTP: what it serves, what it refuses, what it writes at once."""

import csv
import http.client
import json
import os
import threading
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from skgmvae._label_server import LabelSession, make_server
from skgmvae.labeling import read_labels

from .test_labeling import HOSTILE_PATHS


def write_images(folder, paths):
    for index, path in enumerate(paths):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 20 * index % 256, dtype=np.uint8)).save(folder / path, format="PNG")


class Running:
    """A label server on a free port of 127.0.0.1, in a thread, with a small HTTP client."""

    def __init__(self, session):
        self.session = session
        self.server = make_server(session, 0)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def request(self, method, target, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def post(self, target, value, token=None):
        return self.request("POST", target, json.dumps(value),
                            {"Content-Type": "application/json", "X-Skgmvae-Token": token or self.session.token})

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "images"
    paths = [f"part{index % 2}/im{index}.png" for index in range(6)]
    write_images(images, paths)
    return images, sorted(paths)


@pytest.fixture
def running(folder, tmp_path):
    images, paths = folder
    server = Running(LabelSession(images, paths, tmp_path / "labels.csv"))
    yield server
    server.stop()


def test_each_label_is_on_disk_when_the_request_returns(running, folder, tmp_path):
    _, paths = folder
    assert not (tmp_path / "labels.csv").exists()
    status, body = running.post("/api/labels", {"labels": [{"path": paths[1], "label": " 7 "}]})
    assert status == 200 and json.loads(body) == {"n_labeled": 1, "csv": "labels.csv"}
    assert list(read_labels(tmp_path / "labels.csv", paths)) == [-1, "7", -1, -1, -1, -1]
    running.post("/api/labels", {"labels": [{"path": paths[1], "label": ""}, {"path": paths[0], "label": "2"}]})
    assert list(read_labels(tmp_path / "labels.csv", paths)) == ["2", -1, -1, -1, -1, -1]
    assert sorted(os.listdir(tmp_path)) == ["images", "labels.csv"]  # no temporary file left


def test_state_lists_every_image_or_the_rows_of_an_existing_file(folder, tmp_path):
    images, paths = folder
    state = LabelSession(images, paths, tmp_path / "new.csv").state()
    assert [item["path"] for item in state["items"]] == paths and not state["clusters"]
    existing = tmp_path / "to_label.csv"
    existing.write_text(f"order,path,label\n1,{paths[4]},x\n2,{paths[2]},\n3,{paths[0]},y\n")
    session = LabelSession(images, paths, existing)
    assert session.state()["items"] == [{"path": paths[4], "label": "x"}, {"path": paths[2], "label": ""},
                                        {"path": paths[0], "label": "y"}]
    session.set_labels([(paths[2], "z")])
    with open(existing, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["order"], row["path"], row["label"], row["view"]) for row in rows] == [
        ("1", paths[4], "x", ""), ("2", paths[2], "z", "image"), ("3", paths[0], "y", "")]


def test_a_bad_labels_file_stops_the_session_before_it_starts(folder, tmp_path):
    images, paths = folder
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nelsewhere.png,3\n")
    with pytest.raises(ValueError, match="not images of the folder"):
        LabelSession(images, paths, bad)


@pytest.mark.parametrize("target", [
    "/images/../labels.csv", "/images/%2e%2e/labels.csv", "/images/%2E%2E%2Flabels.csv", "/images/part0/../../x.png",
    "/images//etc/passwd", "/images/%2Fetc%2Fpasswd", "/images/..%5Clabels.csv", "/images/missing.png",
    "/images/%ff.png", "/labels.csv", "/images/",
])
def test_only_images_of_the_folder_are_served(running, tmp_path, target):
    (tmp_path / "labels.csv").write_text("path,label\n")
    status, body = running.request("GET", target)
    assert status in (403, 404) and b"path,label" not in body


def test_a_symlink_leading_out_of_the_folder_is_not_followed(folder, tmp_path):
    images, paths = folder
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG outside")
    (images / "link.png").symlink_to(secret)
    server = Running(LabelSession(images, [*paths, "link.png"], tmp_path / "labels.csv"))
    try:
        assert server.request("GET", "/images/link.png")[0] == 404
        status, body = server.request("GET", "/images/" + paths[0])
        assert status == 200 and body == (images / paths[0]).read_bytes()
    finally:
        server.stop()


def test_requests_from_other_sites_are_refused(running, folder, tmp_path):
    _, paths = folder
    change = {"labels": [{"path": paths[0], "label": "1"}]}
    assert running.post("/api/labels", change, token="guessed")[0] == 403
    assert running.request("POST", "/api/labels", json.dumps(change),
                           {"Content-Type": "text/plain", "X-Skgmvae-Token": running.session.token})[0] == 415
    assert running.request("GET", "/api/state", headers={"Host": "evil.example:80"})[0] == 403
    assert running.request("GET", "/images/" + paths[0], headers={"Host": "evil.example"})[0] == 403
    assert not (tmp_path / "labels.csv").exists()


@pytest.mark.parametrize("path, label, match", [
    ("elsewhere.png", "1", "not an image of the folder"),
    (None, "1", "not an image of the folder"),
    ("IMAGE", 3, "a label is text"),
    ("IMAGE", "two\nlines", "one line"),
    ("IMAGE", "x" * 201, "one line"),
])
def test_bad_labels_are_refused_and_nothing_is_written(running, folder, tmp_path, path, label, match):
    _, paths = folder
    change = {"path": paths[0] if path == "IMAGE" else path, "label": label}
    status, body = running.post("/api/labels", {"labels": [{"path": paths[1], "label": "fine"}, change]})
    assert status == 400 and match in json.loads(body)["error"]
    assert not (tmp_path / "labels.csv").exists()


def test_hostile_file_names_are_served_and_written_as_data(tmp_path):
    images = tmp_path / "images"
    write_images(images, HOSTILE_PATHS)
    paths = sorted(HOSTILE_PATHS)
    server = Running(LabelSession(images, paths, tmp_path / "labels.csv"))
    try:
        state = json.loads(server.request("GET", "/api/state")[1])
        assert [item["path"] for item in state["items"]] == paths
        for path in paths:
            quoted = "/".join(quote(part, safe="") for part in path.split("/"))
            assert server.request("GET", "/images/" + quoted)[0] == 200, path
        labels = [f"<b>{index}</b>\"',&" for index in range(len(paths))]
        status, _ = server.post("/api/labels", {"labels": [{"path": p, "label": v} for p, v in zip(paths, labels)]})
        assert status == 200
        assert list(read_labels(tmp_path / "labels.csv", paths)) == labels
        page = server.request("GET", "/")[1].decode()
        assert "<b>" not in page
    finally:
        server.stop()


def test_cluster_grids_skip_labeled_and_excluded_images(folder, tmp_path):
    images, paths = folder
    # Component 0 holds images 0-3 (most typical first: 2, 0, 3, 1), component 1 images 4-5.
    log_density = np.array([[-1.0, -9], [-4, -9], [-0.5, -9], [-2, -9], [-9, -1], [-9, -2]])
    server = Running(LabelSession(images, paths, tmp_path / "labels.csv", log_density=log_density, grid_size=3))
    try:
        grid = json.loads(server.request("GET", "/api/cluster?position=0")[1])
        assert grid["component"] == 0 and grid["members"] == [paths[2], paths[0], paths[3]]
        assert grid["available"] == 4 and grid["count"] == 2
        status, body = server.post("/api/cluster", {"component": 0, "label": "zero", "included": [paths[2], paths[3]],
                                                    "excluded": [paths[0]]})
        assert status == 200 and json.loads(body)["n_labeled"] == 2
        with open(tmp_path / "labels.csv", newline="") as handle:
            rows = {row["path"]: (row["label"], row["view"]) for row in csv.DictReader(handle)}
        assert rows[paths[2]] == ("zero", "cluster") and rows[paths[0]] == ("", "")
        again = json.loads(server.request("GET", "/api/cluster?position=0")[1])
        assert again["members"] == [paths[1]]  # labeled ones gone, the excluded one not shown for this cluster
        after = json.loads(server.request("GET", "/api/cluster?position=1")[1])
        assert after["component"] == 1 and after["members"] == [paths[4], paths[5]]
        wrapped = json.loads(server.request("GET", "/api/cluster?position=2")[1])
        assert wrapped["position"] == 0
        assert server.post("/api/cluster", {"component": 0, "label": "", "included": [paths[1]]})[0] == 400
        assert server.post("/api/cluster", {"component": 7, "label": "x", "included": [paths[1]]})[0] == 400
    finally:
        server.stop()


@pytest.mark.slow
def test_label_command_serves_the_page_on_loopback(folder, tmp_path):
    import subprocess
    import sys

    images, paths = folder
    process = subprocess.Popen([sys.executable, "-m", "skgmvae", "label", str(images), "--labels",
                                str(tmp_path / "labels.csv"), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert "6 images" in lines[0] and "labels.csv is new" in lines[0]
        url = lines[1].split()[1]
        assert url.startswith("http://127.0.0.1:")
        connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/")), timeout=10)
        connection.request("GET", "/")
        page = connection.getresponse().read().decode()
        assert "skgmvae-labels" not in page and '"mode": "server"' in page
    finally:
        process.terminate()
        process.wait(timeout=10)
