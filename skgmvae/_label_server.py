"""``skgmvae label``: a local server that shows the images of a folder and writes each label to disk at once.

The server listens on 127.0.0.1 only. It serves the labeling page
(:mod:`skgmvae._label_page`), the image files of the folder it was started on
and nothing else, and rewrites the labels CSV (:func:`~skgmvae.labeling.write_atomic`)
on every label it receives, so a closed tab or a killed process loses no label
the person has moved on from.

Requests: ``GET /`` the page; ``GET /api/state`` the rows and their labels;
``GET /images/<path>`` an image of the folder; ``GET /api/cluster?position=p``
the grid of the first cluster from position ``p`` on that still has images
to show; ``POST /api/labels`` ``{"labels": [{"path", "label"}]}``;
``POST /api/cluster`` ``{"component", "label", "included", "excluded"}``.
A POST needs the session's token in ``X-Skgmvae-Token`` and a JSON body, and
every request a ``Host`` of 127.0.0.1 or localhost, so that other web pages
open in the browser can neither send labels nor read the images.
"""

import io
import json
import secrets
import threading
import unicodedata
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from ._labels import UNLABELED
from .labeling import (
    cluster_order,
    labels_csv,
    next_cluster,
    page_html,
    read_label_files,
    read_table,
    write_atomic,
)

BROWSER_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                 ".webp": "image/webp", ".bmp": "image/bmp"}
MAX_LABEL_LENGTH = 200
MAX_BODY = 8 * 1024 * 1024


class LabelSession:
    """The rows of a labels file being filled, and the clusters to label from, shared by the request threads.

    Parameters
    ----------
    folder : str or Path
        The image folder; only its images are served.
    paths : list of str
        The images of the folder, relative to it with '/' separators (as
        :func:`~skgmvae.datasets.load_image_folder` lists them).
    csv_path : str or Path
        The labels file. When it exists its rows are shown in its order with
        their labels; otherwise every image is a row, in ``paths`` order, and
        the file is created with the first label.
    log_density : ndarray of shape (len(paths), k), optional
        ``transformer.component_log_density(X)`` of the images: enables the
        cluster view.
    grid_size : int, default=20
        Images per cluster grid.
    """

    def __init__(self, folder, paths, csv_path, *, log_density=None, grid_size=20):
        self.folder = Path(folder).resolve()
        self.paths = list(paths)
        self.index = {path: row for row, path in enumerate(self.paths)}
        self.csv_path = Path(csv_path)
        self.grid_size = grid_size
        self.token = secrets.token_urlsafe(24)
        self.lock = threading.Lock()
        self.log_density = None if log_density is None else np.asarray(log_density)
        if self.log_density is not None and len(self.log_density) != len(self.paths):
            raise ValueError(f"log_density has {len(self.log_density)} rows for {len(self.paths)} images.")
        self.order = None if self.log_density is None else cluster_order(self.log_density)
        self.excluded = set()
        if self.csv_path.exists():
            read_label_files([self.csv_path], self.paths)  # the same checks as predict, before anything is shown
            columns, entries = read_table(self.csv_path)
            self.numbered = "order" in columns
            self.rows, self.labels, self.views = [], {}, {}
            for row, _ in entries:
                path = row["path"].strip()
                if path not in self.labels:
                    self.rows.append(path)
                    self.labels[path] = ""
                    self.views[path] = row.get("view", "").strip()
                self.labels[path] = self.labels[path] or row["label"].strip()
        else:
            self.numbered = False
            self.rows = list(self.paths)
            self.labels = {path: "" for path in self.paths}
            self.views = {path: "" for path in self.paths}

    def state(self):
        """The rows with their labels, for the page."""
        with self.lock:
            return {"items": [{"path": path, "label": self.labels[path]} for path in self.rows],
                    "clusters": self.order is not None, "csv": self.csv_path.name}

    def n_labeled(self):
        return sum(bool(label) for label in self.labels.values())

    def set_labels(self, changes, *, view="image"):
        """Record ``[(path, label), ...]`` and rewrite the labels file before returning.

        Raises
        ------
        ValueError
            For a path that is not an image of the folder or a label that is
            not one short line of text.
        """
        checked = [(_check_path(path, self.index), _check_label(label)) for path, label in changes]
        with self.lock:
            for path, label in checked:
                if path not in self.labels:
                    self.rows.append(path)
                self.labels[path] = label
                self.views[path] = view if label else ""
            text = labels_csv(self.rows, [self.labels[path] for path in self.rows], order=self.numbered,
                              views=[self.views[path] for path in self.rows])
            write_atomic(self.csv_path, text, force=True)
            return self.n_labeled()

    def label_cluster(self, component, label, included, excluded):
        """Give ``label`` to the images ``included`` from a grid; ``excluded`` ones leave this cluster's grids."""
        if self.order is None:
            raise ValueError("the cluster view needs the model: start `skgmvae label` with --model.")
        if not isinstance(component, int) or component not in set(self.order.tolist()):
            raise ValueError(f"component must be one of the clusters shown, got {component!r}.")
        if not _check_label(label):
            raise ValueError("a cluster needs a non-empty label.")
        included = [_check_path(path, self.index) for path in _check_list(included, "included")]
        excluded = [_check_path(path, self.index) for path in _check_list(excluded, "excluded")]
        with self.lock:
            self.excluded.update((component, self.index[path]) for path in excluded)
        return self.set_labels([(path, label) for path in included], view="cluster")

    def cluster(self, position):
        """The grid of the first cluster at ``position`` or after (wrapping round) with images left to show."""
        if self.order is None:
            raise ValueError("the cluster view needs the model: start `skgmvae label` with --model.")
        with self.lock:
            available = np.array([not self.labels.get(path) for path in self.paths])
            found = next_cluster(self.log_density, self.order, position, available, self.excluded,
                                 size=self.grid_size)
            if found is None:
                return {"position": position, "component": None, "count": len(self.order), "available": 0,
                        "members": []}
            at, component, rows = found
            members = self.log_density.argmax(axis=1) == component
            hidden = [row for excluded_component, row in self.excluded if excluded_component == component]
            available[hidden] = False
            return {"position": at, "component": component, "count": len(self.order),
                    "available": int(np.sum(available & members)), "members": [self.paths[row] for row in rows]}

    def image_file(self, relative):
        """The file of the image ``relative``; None unless it is an image of the folder and lies inside it."""
        if relative not in self.index:
            return None
        path = (self.folder / relative).resolve()
        return path if path.is_relative_to(self.folder) and path.is_file() else None


def _check_path(path, index):
    if not isinstance(path, str) or path not in index:
        raise ValueError(f"{path!r} is not an image of the folder.")
    return path


def _check_label(label):
    if not isinstance(label, str):
        raise ValueError(f"a label is text, got {type(label).__name__}.")
    label = label.strip()
    if len(label) > MAX_LABEL_LENGTH or any(unicodedata.category(character) == "Cc" for character in label):
        raise ValueError(f"a label is one line of at most {MAX_LABEL_LENGTH} characters.")
    if label == str(UNLABELED):
        raise ValueError(f"{label!r} marks unlabeled rows in skgmvae; leave the label empty to skip an image.")
    return label


def _check_list(values, name):
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list of paths.")
    return values


class _Handler(BaseHTTPRequestHandler):
    server_version = "skgmvae-label"
    session = None  # set on the subclass make_server builds

    def log_message(self, format, *args):  # noqa: A002 - the signature http.server calls
        pass

    def _host_allowed(self):
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost")

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, value):
        self._send(status, json.dumps(value).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status, message):
        self._json(status, {"error": message})

    def do_GET(self):  # noqa: N802 - the name http.server calls
        if not self._host_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "this server only answers requests to 127.0.0.1 or localhost")
        url = urlsplit(self.path)
        session = self.session
        if url.path in ("/", "/index.html"):
            config = {"mode": "server", "token": session.token}
            page = page_html(config, title=f"Label {session.folder.name or session.folder}")
            return self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")
        if url.path == "/api/state":
            return self._json(HTTPStatus.OK, session.state())
        if url.path == "/api/cluster":
            try:
                position = int(parse_qs(url.query).get("position", ["0"])[0])
                return self._json(HTTPStatus.OK, session.cluster(max(0, position)))
            except ValueError as error:
                return self._error(HTTPStatus.BAD_REQUEST, str(error))
        if url.path.startswith("/images/"):
            try:
                relative = unquote(url.path[len("/images/"):], errors="strict")
            except UnicodeDecodeError:
                return self._error(HTTPStatus.NOT_FOUND, "not an image of the folder")
            return self._image(relative)
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    do_HEAD = do_GET

    def _image(self, relative):
        if relative.startswith("/") or "\\" in relative or ".." in relative.split("/"):
            return self._error(HTTPStatus.FORBIDDEN, "only images inside the folder are served")
        path = self.session.image_file(relative)
        if path is None:
            return self._error(HTTPStatus.NOT_FOUND, "not an image of the folder")
        content_type = BROWSER_TYPES.get(path.suffix.lower())
        if content_type is not None:
            return self._send(HTTPStatus.OK, path.read_bytes(), content_type)
        from PIL import Image  # TIFF and other formats browsers do not show

        with Image.open(path) as image, io.BytesIO() as buffer:
            image.convert("RGB").save(buffer, format="PNG")
            return self._send(HTTPStatus.OK, buffer.getvalue(), "image/png")

    def do_POST(self):  # noqa: N802 - the name http.server calls
        if not self._host_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "this server only answers requests to 127.0.0.1 or localhost")
        session = self.session
        if not secrets.compare_digest(self.headers.get("X-Skgmvae-Token", ""), session.token):
            return self._error(HTTPStatus.FORBIDDEN, "missing or wrong session token: reload the page")
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        length = self.headers.get("Content-Length") or "0"
        length = int(length) if length.isdigit() else 0
        if not 0 < length <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST, "empty or too large body")
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if self.path == "/api/labels":
                changes = [(change.get("path"), change.get("label")) if isinstance(change, dict) else (None, None)
                           for change in _check_list(body.get("labels"), "labels")]
                n_labeled = session.set_labels(changes)
            elif self.path == "/api/cluster":
                n_labeled = session.label_cluster(body.get("component"), body.get("label"),
                                                  body.get("included"), body.get("excluded", []))
            else:
                return self._error(HTTPStatus.NOT_FOUND, "not found")
        except (ValueError, UnicodeDecodeError) as error:
            return self._error(HTTPStatus.BAD_REQUEST, str(error))
        except OSError as error:
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"could not write {session.csv_path}: {error}")
        return self._json(HTTPStatus.OK, {"n_labeled": n_labeled, "csv": session.csv_path.name})


def make_server(session, port=0):
    """A :class:`~http.server.ThreadingHTTPServer` for ``session`` on 127.0.0.1 (port 0: any free port).

    Call ``serve_forever()`` on it (in a thread, say) and ``shutdown()`` to stop;
    ``server.server_address[1]`` is the port.
    """
    handler = type("LabelHandler", (_Handler,), {"session": session})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server
