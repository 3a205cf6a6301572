"""The server of ``skgmvae label`` over HTTP: what it serves, what it refuses, what it writes at once."""

import csv
import http.client
import json
import os
import socket
import threading
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from skgmvae._label_server import MAX_BODY, make_server, session_url
from skgmvae._label_session import LabelSession
from skgmvae.labeling import MAX_LABEL_LENGTH, clean_label, label_key, read_label_files, read_labels

from .test_labeling import HOSTILE_PATHS


def write_images(folder, paths):
    for index, path in enumerate(paths):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 20 * index % 256, dtype=np.uint8)).save(folder / path, format="PNG")


class Running:
    """A label server on 127.0.0.1 (a free port, or the one given), in a thread, with a small HTTP client.

    Requests carry the session's key in the ``X-Skgmvae-Token`` header unless ``key=False``.
    """

    def __init__(self, session, port=0):
        self.session = session
        self.server = make_server(session, port)
        self.port = self.server.server_address[1]
        self.url = session_url(self.server)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def exchange(self, method, target, body=None, headers=None, key=True):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, target, body=body,
                               headers={**({"X-Skgmvae-Token": self.session.token} if key else {}), **(headers or {})})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def request(self, method, target, body=None, headers=None, key=True):
        status, _, body = self.exchange(method, target, body, headers, key)
        return status, body

    def post(self, target, value, token=None):
        return self.request("POST", target, json.dumps(value),
                            {"Content-Type": "application/json", "X-Skgmvae-Token": token or self.session.token})

    def raw(self, data):
        """Send ``data`` as it is; the status of the answer (0 when the connection closed without one)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(data)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0

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
    assert status == 200 and json.loads(body) == {"results": [{"path": paths[1], "saved": True, "label": "7"}],
                                                  "n_labeled": 1, "csv": "labels.csv"}
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
    assert running.request("POST", "/api/labels", json.dumps(change),
                           {"Content-Type": "application/json", "Origin": "http://evil.example"})[0] == 403
    assert running.request("GET", "/api/state", headers={"Host": "evil.example:80"})[0] == 403
    assert running.request("GET", "/images/" + paths[0], headers={"Host": "evil.example"})[0] == 403
    assert not (tmp_path / "labels.csv").exists()


def test_the_key_is_in_the_address_turned_into_a_cookie_and_never_served(running, folder):
    _, paths = folder
    token = running.session.token
    for target in ("/", "/index.html", "/api/state", "/api/cluster?position=0", "/images/" + paths[0]):
        status, body = running.request("GET", target, key=False)  # any local process, without the key
        assert status == 403 and token.encode() not in body and paths[0].encode() not in body, target
    assert b"skgmvae label" in running.request("GET", "/", key=False)[1]  # says which address to open
    assert running.request("GET", "/?token=guessed", key=False)[0] == 403
    status, headers, page = running.exchange("GET", running.url.split(str(running.port), 1)[1], key=False)
    assert status == 200 and token.encode() not in page and b'"mode": "server"' in page
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert token not in cookie  # the cookie is a second secret, not the key
    sent = {"Cookie": cookie.split(";", 1)[0]}
    status, body = running.request("GET", "/api/state", headers=sent, key=False)
    assert status == 200 and json.loads(body)["items"][0]["path"] == paths[0]
    assert running.request("GET", "/images/" + paths[0], headers=sent, key=False)[0] == 200
    assert running.request("GET", "/", headers=sent, key=False)[0] == 200  # a reload
    assert running.request("GET", "/api/state", headers={"Cookie": cookie.split(";", 1)[0] + "x"}, key=False)[0] == 403
    status, body = running.request("POST", "/api/labels", json.dumps({"labels": [{"path": paths[0], "label": "a"}]}),
                                   {**sent, "Content-Type": "application/json"}, key=False)
    assert status == 200 and json.loads(body)["n_labeled"] == 1
    other = Running(LabelSession(running.session.folder, paths, running.session.csv_path))
    try:  # a restarted server has a new key: the old cookie opens nothing, and the page knows why
        status, body = other.request("GET", "/api/state", headers={"Cookie": f"skgmvae-label-{other.port}="
                                                                             + running.session.cookie}, key=False)
        assert status == 403 and json.loads(body)["credential"] is True
    finally:
        other.stop()


def test_every_answer_forbids_framing(running, folder):
    _, paths = folder
    for target in ("/", "/api/state", "/images/" + paths[0], "/missing", running.url.split(str(running.port))[1]):
        _, headers, _ = running.exchange("GET", target)
        assert headers["X-Frame-Options"] == "DENY", target
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], target
    _, headers, page = running.exchange("GET", "/")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'nonce-" in policy and policy.split("'nonce-")[1].split("'")[0].encode() in page


@pytest.mark.parametrize("headers", [
    "X-Skgmvae-Token: \u00e9t\u00e9\r\n".encode("utf-8"),  # not ASCII: raised inside the handler
    b"X-Skgmvae-Token: \xff\xfe\r\n",
    b"Cookie: skgmvae-label-1=\xff; ;; =; a\r\n",
    b"Cookie: \x00\x01\r\n",
    b"Host: \xff\r\n",
])
@pytest.mark.parametrize("method", ["GET /api/state", "POST /api/labels"])
def test_malformed_headers_get_an_answer_not_a_dropped_connection(running, headers, method):
    host = b"" if headers.startswith(b"Host") else b"Host: 127.0.0.1\r\n"
    status = running.raw(f"{method} HTTP/1.1\r\n".encode() + host + headers
                         + b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert 400 <= status < 500


@pytest.mark.parametrize("length", ["abc", "-1", "\u0661\u0662", "1e3", "", "0"])
def test_a_malformed_content_length_is_a_4xx(running, length):
    status = running.raw(f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Skgmvae-Token: {running.session.token}"
                         f"\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close"
                         "\r\n\r\n{}".encode())
    assert 400 <= status < 500


def test_body_size_and_label_length_limits(running, folder, tmp_path):
    _, paths = folder
    status = running.raw(f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Skgmvae-Token: {running.session.token}"
                         f"\r\nContent-Type: application/json\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
    assert status == 413
    longest, longer = "y" * MAX_LABEL_LENGTH, "y" * (MAX_LABEL_LENGTH + 1)
    status, body = running.post("/api/labels", {"labels": [{"path": paths[0], "label": longest},
                                                           {"path": paths[1], "label": longer}]})
    results = json.loads(body)["results"]
    assert status == 200 and results[0]["saved"] and not results[1]["saved"]
    assert f"at most {MAX_LABEL_LENGTH}" in results[1]["error"]
    assert list(read_labels(tmp_path / "labels.csv", paths))[:2] == [longest, -1]
    body = json.dumps({"labels": [{"path": paths[2], "label": "z" * 100}] * 2000})
    assert len(body) < MAX_BODY and running.post("/api/labels", json.loads(body))[0] == 200


@pytest.mark.parametrize("path, label, match", [
    ("elsewhere.png", "1", "not an image of the folder"),
    (None, "1", "not an image of the folder"),
    ("IMAGE", 3, "a label is text"),
    ("IMAGE", "two\nlines", "U+000A, a control character"),
    ("IMAGE", "x" * 201, "at most 200"),
    ("IMAGE", "-1", "marks unlabeled"),
    ("IMAGE", "zero\u200bwidth", "U+200B"),
])
def test_a_batch_is_answered_item_by_item_and_the_good_labels_are_written(running, folder, tmp_path, path, label,
                                                                          match):
    _, paths = folder
    change = {"path": paths[0] if path == "IMAGE" else path, "label": label}
    status, body = running.post("/api/labels", {"labels": [{"path": paths[1], "label": "fine"}, change,
                                                           {"path": paths[2], "label": "also fine"}]})
    answer = json.loads(body)
    assert status == 200 and answer["n_labeled"] == 2
    assert [result["saved"] for result in answer["results"]] == [True, False, True]
    assert match in answer["results"][1]["error"]
    assert list(read_labels(tmp_path / "labels.csv", paths))[:3] == [-1, "fine", "also fine"]


def test_one_spelling_per_label_the_first_kept_and_offered_back(running, folder, tmp_path):
    _, paths = folder
    answer = json.loads(running.post("/api/labels", {"labels": [{"path": paths[0], "label": "cat"},
                                                                {"path": paths[1], "label": "Cat"},
                                                                {"path": paths[2], "label": "CAT "}]})[1])
    assert [result["label"] for result in answer["results"]] == ["cat", "cat", "cat"]
    assert "saved as 'cat', the spelling already in use" in answer["results"][1]["note"]
    assert "note" not in answer["results"][0]
    # Relabeling every 'cat' but one keeps 'cat'; once none is left, a new spelling is a new label.
    running.post("/api/labels", {"labels": [{"path": paths[0], "label": ""}, {"path": paths[1], "label": "dog"}]})
    assert json.loads(running.post("/api/labels", {"labels": [{"path": paths[3], "label": "Cat"}]})[1])[
        "results"][0]["label"] == "cat"
    running.post("/api/labels", {"labels": [{"path": paths[2], "label": ""}, {"path": paths[3], "label": ""}]})
    assert json.loads(running.post("/api/labels", {"labels": [{"path": paths[4], "label": "Cat"}]})[1])[
        "results"][0]["label"] == "Cat"
    # The file reopens in every command: what the "cat" then "Cat" made impossible.
    assert list(read_label_files([tmp_path / "labels.csv"], paths).labels) == [-1, "dog", -1, -1, "Cat", -1]
    assert LabelSession(running.session.folder, paths, tmp_path / "labels.csv").n_labeled() == 2


def test_a_labels_file_changed_on_disk_is_not_overwritten(running, folder, tmp_path):
    _, paths = folder
    running.post("/api/labels", {"labels": [{"path": paths[0], "label": "a"}]})
    edited = (tmp_path / "labels.csv").read_text().replace(",a,", ",edited by hand,")
    (tmp_path / "labels.csv").write_text(edited)
    status, body = running.post("/api/labels", {"labels": [{"path": paths[1], "label": "b"}]})
    assert status == 409 and "changed on disk" in json.loads(body)["error"]
    assert (tmp_path / "labels.csv").read_text() == edited


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
        assert status == 200 and json.loads(body) == {"label": "zero", "n_labeled": 2, "csv": "labels.csv"}
        status, body = server.post("/api/cluster", {"component": 1, "label": "ZERO", "included": [paths[5]]})
        assert json.loads(body)["label"] == "zero"  # the spelling in use
        server.post("/api/labels", {"labels": [{"path": paths[5], "label": ""}]})
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
        status, body = server.post("/api/cluster", {"component": 0, "label": "-1", "included": [paths[1]]})
        assert status == 400 and "marks unlabeled" in json.loads(body)["error"]
    finally:
        server.stop()


# Labels a person might type: awkward ones, any text, CSV's special characters, near the length limit.
AWKWARD_LABELS = ["cat", "Cat", " CAT ", "a,b", 'say "hi"', "it's", "line\nbreak", "tab\there", "-1", " -1 ", "−1",
                  "1", "01", "1.0", "cafe\u0301", "café", "数字", "😀", "\u200bzero", "", "   ", "ß", "SS", "=SUM(A1)",
                  "NaN", "None", "\ufeffbom", "x" * MAX_LABEL_LENGTH, "x" * (MAX_LABEL_LENGTH + 1)]
LABEL_TEXT = st.one_of(st.sampled_from(AWKWARD_LABELS), st.text(st.characters(exclude_categories=("Cn",)), max_size=8),
                       st.text(alphabet=' ,"\'\n\r\t-1aAß\u00a0', max_size=6),
                       st.text(alphabet="ab😀 ", min_size=MAX_LABEL_LENGTH - 3, max_size=MAX_LABEL_LENGTH + 3))
ROUND_TRIP_PATHS = [f"im{index}.png" for index in range(6)]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.lists(LABEL_TEXT, min_size=1, max_size=len(ROUND_TRIP_PATHS)))
def test_any_label_the_server_accepts_reads_back_identically_in_suggest_predict_and_label(tmp_path_factory, typed):
    from skgmvae import ClusterLabelDecoder
    from skgmvae._labels import split_labels
    from skgmvae.cli import predictions_csv

    work = tmp_path_factory.mktemp("round-trip")
    paths = ROUND_TRIP_PATHS
    answer = LabelSession(work, paths, work / "labels.csv").set_labels(list(zip(paths, typed)))
    expected, keys = {}, {}
    for path, text, result in zip(paths, typed, answer["results"]):
        try:
            cleaned = clean_label(text)
        except ValueError as error:
            assert not result["saved"] and result["error"] == str(error)
            continue
        assert result["saved"] and label_key(result["label"]) == label_key(cleaned)
        # The first spelling of each label is kept, the later ones take it.
        assert result["label"] == keys.setdefault(label_key(cleaned), cleaned) if cleaned else result["label"] == ""
        if cleaned:
            expected[path] = result["label"]
    if not any(result["saved"] for result in answer["results"]):
        assert not (work / "labels.csv").exists()
        return
    given = [expected.get(path, -1) for path in paths]
    # suggest and predict read the file with read_label_files; a new `skgmvae label` session with LabelSession.
    assert list(read_label_files([work / "labels.csv"], paths).labels) == given
    items = LabelSession(work, paths, work / "labels.csv").state()["items"]
    assert [item["label"] for item in items] == [expected.get(path, "") for path in paths]
    if not expected:
        return
    # predict: the labels become classes, are predicted back on their own images and written to its CSV.
    y = np.array(given, dtype=object)
    mask, y_labeled = split_labels(y, estimator_name="predict")
    assert list(y_labeled) == [label for label in given if label != -1]
    posterior = np.eye(len(paths))
    decoder = ClusterLabelDecoder().fit(posterior, y)
    text = predictions_csv(paths, y, decoder.predict(posterior), decoder.predict_proba(posterior), decoder.classes_,
                           set())
    (work / "predictions.csv").write_text(text, encoding="utf-8", newline="")
    with open(work / "predictions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["given"] for row in rows] == [expected.get(path, "") for path in paths]
    assert all(row["label"] == expected[row["path"]] for row in rows if row["path"] in expected)


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
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().status == 403
        connection.request("GET", url.split(str(port), 1)[1])
        page = connection.getresponse().read().decode()
        assert "skgmvae-labels" not in page and '"mode": "server"' in page and token not in page
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_label_opens_the_browser_on_a_redirect_file_never_on_the_key(folder, tmp_path, monkeypatch, capsys):
    import time
    import webbrowser
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    from skgmvae import cli
    from skgmvae._label_server import default_port

    images, _ = folder
    opened, served = [], []

    def record(uri):  # the browser's command line: read the file before the command removes it
        opened.append((uri, Path(unquote(urlsplit(uri).path)).read_text()))

    class StopsOnceOpened:
        def __init__(self, server):
            self.server, self.server_address, self.RequestHandlerClass = server, server.server_address, \
                server.RequestHandlerClass

        def serve_forever(self):
            deadline = time.monotonic() + 10
            while not opened and time.monotonic() < deadline:
                time.sleep(0.05)
            raise KeyboardInterrupt  # Ctrl-C

        def server_close(self):
            self.server.server_close()

    real_serve = cli._serve_label_session
    monkeypatch.setattr(webbrowser, "open", record)
    monkeypatch.setattr(cli, "_serve_label_session", lambda *args: served.append(real_serve(*args)) or
                        StopsOnceOpened(served[-1]))
    labels = tmp_path / "labels.csv"
    assert cli.main(["label", str(images), "--labels", str(labels)]) == 0
    printed = capsys.readouterr().out
    token = served[0].RequestHandlerClass.session.token
    (uri, content), = opened
    assert uri.startswith("file://") and token not in uri and f"?token={token}" in content
    assert not Path(unquote(urlsplit(uri).path)).exists()  # removed when the command stops
    assert f"http://127.0.0.1:{served[0].server_address[1]}/?token={token}" in printed
    assert served[0].server_address[1] == default_port(labels)  # the same port on every start for this file
    assert "A tab still open from an earlier `skgmvae label` on this file: open this address in it" in printed
