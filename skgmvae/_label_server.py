"""``skgmvae label``: a local server that shows the images of a folder and writes each label to disk at once.

The server listens on 127.0.0.1 only. It serves the labeling page
(:mod:`skgmvae._label_page`), the image files of the folder it was started on
and nothing else, and rewrites the labels CSV (:func:`~skgmvae.labeling.write_atomic`)
on every label it accepts, so a closed tab or a killed process loses no label
the person has moved on from. Labels go through the one label rule
(:func:`~skgmvae.labeling.clean_label`, one spelling per label).

The credential
--------------
Each server draws a random key. The address it prints holds it
(``http://127.0.0.1:PORT/?token=KEY``, as Jupyter does); loading the page with
it sets a cookie (``HttpOnly``, ``SameSite=Strict``) that the page's own
requests (state, images, labels) carry from then on. Every request needs the
cookie or the key in an ``X-Skgmvae-Token`` header, but for the page loaded
with the key; the page itself never holds the key, so a process that fetches
``/`` learns nothing. A restarted server has a new key: an open tab is told to
open the new address, and the labels it could not send are kept in the
browser and sent then.

Requests: ``GET /?token=KEY`` the page; ``GET /api/state`` the rows and their
labels; ``GET /images/<path>`` an image of the folder; ``GET
/api/cluster?position=p`` the grid of the first cluster from position ``p``
on that still has images to show; ``POST /api/labels`` ``{"labels": [{"path",
"label"}]}``, answered item by item; ``POST /api/cluster`` ``{"component",
"label", "included", "excluded"}``. Every request needs a ``Host`` of
127.0.0.1 or localhost, and a POST a JSON body of at most :data:`MAX_BODY`
bytes and, when the browser names one, the server's own ``Origin``, so that
other web pages open in the browser can neither send labels nor read the
images. Every answer forbids framing (``X-Frame-Options: DENY``,
``frame-ancestors 'none'``); a malformed request is a 4xx answer, never a
dropped connection.
"""

import hashlib
import io
import json
import os
import secrets
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from ._label_page import page_html, page_policy
from .labeling import (
    LabelSpellings,
    clean_label,
    cluster_order,
    labels_csv,
    next_cluster,
    read_label_files,
    read_table,
    rule_config,
    write_atomic,
)

BROWSER_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                 ".webp": "image/webp", ".bmp": "image/bmp"}
#: The largest request body taken, in bytes (a batch of a few thousand labels).
MAX_BODY = 1024 * 1024
TOKEN_HEADER = "X-Skgmvae-Token"


class FileChangedError(OSError):
    """The labels file changed on disk since the server last wrote it: writing would lose that change."""


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
        The labels file. When it exists it is read as every command reads it
        (:func:`~skgmvae.labeling.read_label_files`) and its rows are shown in
        its order; otherwise every image is a row, in ``paths`` order, and
        the file is created with the first label.
    log_density : ndarray of shape (len(paths), k), optional
        ``transformer.component_log_density(X)`` of the images: enables the
        cluster view.
    grid_size : int, default=20
        Images per cluster grid.
    first_images : array-like of int, optional
        Images (rows of ``paths``) in the order ``suggest_labels`` picks
        them: the cluster view visits their clusters first
        (:func:`~skgmvae.labeling.cluster_order`).

    Attributes
    ----------
    token : str
        The key of the address to print; a new one for each session.
    storage_key : str
        Names the labels file in the browser's storage (the same for every
        session on this file), where the page keeps what it could not send.
    """

    def __init__(self, folder, paths, csv_path, *, log_density=None, grid_size=20, first_images=None):
        self.folder = Path(folder).resolve()
        self.paths = list(paths)
        self.index = {path: row for row, path in enumerate(self.paths)}
        self.csv_path = Path(csv_path)
        self.grid_size = grid_size
        self.token = secrets.token_urlsafe(32)
        self.cookie = secrets.token_urlsafe(32)
        self.storage_key = "skgmvae-unsaved:" + hashlib.sha256(
            str(self.csv_path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        self.lock = threading.Lock()
        self.log_density = None if log_density is None else np.asarray(log_density)
        if self.log_density is not None and len(self.log_density) != len(self.paths):
            raise ValueError(f"log_density has {len(self.log_density)} rows for {len(self.paths)} images.")
        self.order = None if self.log_density is None else cluster_order(self.log_density, first_images)
        self.excluded = set()
        if self.csv_path.exists():
            merged = read_label_files([self.csv_path], self.paths)  # the same checks as predict, before anything
            columns, entries = read_table(self.csv_path)
            self.numbered = "order" in columns
            self.audit = {path for path, in_audit in zip(self.paths, merged.audit) if in_audit}
            self.rows, self.views = [], {}
            for row, _ in entries:
                path = row["path"].strip()
                if path not in self.views:
                    self.rows.append(path)
                    self.views[path] = row.get("view", "").strip()
            self.labels = {path: "" if merged.labels[self.index[path]] == -1 else merged.labels[self.index[path]]
                           for path in self.rows}
            self._on_disk = _signature(self.csv_path)
        else:
            self.numbered = False
            self.audit = set()
            self.rows = list(self.paths)
            self.labels = {path: "" for path in self.paths}
            self.views = {path: "" for path in self.paths}
            self._on_disk = None
        self.spellings = LabelSpellings(self.labels.values())

    def state(self):
        """The rows with their labels, for the page."""
        with self.lock:
            return {"items": [{"path": path, "label": self.labels[path]} for path in self.rows],
                    "clusters": self.order is not None, "csv": self.csv_path.name, "storageKey": self.storage_key,
                    "auditPaths": sorted(self.audit)}

    def n_labeled(self):
        return sum(bool(label) for label in self.labels.values())

    def set_labels(self, changes, *, view="image"):
        """Record ``[(path, label), ...]`` item by item and rewrite the labels file before returning.

        Each label goes through :func:`~skgmvae.labeling.clean_label` and
        takes the spelling in use by the other rows
        (:class:`~skgmvae.labeling.LabelSpellings`); an empty label removes
        the image's label.

        Returns
        -------
        dict
            ``results``: one ``{"path", "saved", "label"}`` per change, in
            order: ``saved`` True with the label as written (and a ``note``
            when its spelling was changed to the one in use), or False with
            the ``error``; ``n_labeled``: images labeled in the file after.

        Raises
        ------
        OSError
            When the file could not be written (nothing is recorded then);
            :class:`FileChangedError` when it changed on disk since the
            server last wrote it.
        """
        with self.lock:
            labels, views, rows = dict(self.labels), dict(self.views), list(self.rows)
            spellings = LabelSpellings(labels.values())
            results = []
            for path, label in changes:
                try:
                    path = _check_path(path, self.index)
                    label = clean_label(label)
                except ValueError as error:
                    results.append({"path": path if isinstance(path, str) else None, "saved": False,
                                    "error": str(error)})
                    continue
                spellings.remove(labels.get(path, ""))
                spelled = spellings.spelling(label)
                spellings.add(spelled)
                if path not in labels:
                    rows.append(path)
                labels[path], views[path] = spelled, view if spelled else ""
                result = {"path": path, "saved": True, "label": spelled}
                if spelled != label:
                    result["note"] = (f"saved as {spelled!r}, the spelling already in use (labels that differ only "
                                      "in case are one label)")
                results.append(result)
            if any(result["saved"] for result in results):
                self._write(rows, labels, views)
                self.rows, self.labels, self.views, self.spellings = rows, labels, views, spellings
            return {"results": results, "n_labeled": self.n_labeled()}

    def _write(self, rows, labels, views):
        if _signature(self.csv_path) != self._on_disk:
            raise FileChangedError(f"{self.csv_path} changed on disk since this server last wrote it (another "
                                   "program or a second `skgmvae label` on it?); writing would lose that change. "
                                   "Stop this server and start `skgmvae label` again to go on from the file.")
        text = labels_csv(rows, [labels[path] for path in rows], order=self.numbered,
                          views=[views[path] for path in rows], audit=[path in self.audit for path in rows])
        write_atomic(self.csv_path, text, force=True)
        self._on_disk = _signature(self.csv_path)

    def label_cluster(self, component, label, included, excluded):
        """Give ``label`` to the images ``included`` from a grid; ``excluded`` ones leave this cluster's grids.

        Returns
        -------
        dict
            ``label``: the label as written (the spelling in use),
            ``n_labeled``: images labeled in the file after.
        """
        if self.order is None:
            raise ValueError("the cluster view needs the model: start `skgmvae label` with --model.")
        if not isinstance(component, int) or component not in set(self.order.tolist()):
            raise ValueError(f"component must be one of the clusters shown, got {component!r}.")
        if not clean_label(label):
            raise ValueError("a cluster needs a non-empty label.")
        included = [_check_path(path, self.index) for path in _check_list(included, "included")]
        excluded = [_check_path(path, self.index) for path in _check_list(excluded, "excluded")]
        with self.lock:
            self.excluded.update((component, self.index[path]) for path in excluded)
        answer = self.set_labels([(path, label) for path in included], view="cluster")
        saved = [result["label"] for result in answer["results"]]
        return {"label": saved[0] if saved else clean_label(label), "n_labeled": answer["n_labeled"]}

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


def _signature(path):
    """What tells whether a file changed: None when absent."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def _check_path(path, index):
    if not isinstance(path, str) or path not in index:
        raise ValueError(f"{path!r} is not an image of the folder.")
    return path


def _check_list(values, name):
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list of paths.")
    return values


def _same(given, expected):
    """Constant-time comparison of a header or cookie value (any text, even malformed) with a secret."""
    return secrets.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("ascii"))


def _cookies(header):
    """``name=value`` pairs of a Cookie header; malformed parts are skipped, never an error."""
    pairs = (part.split("=", 1) for part in (header or "").split(";") if "=" in part)
    return {name.strip(): value.strip() for name, value in pairs}


_LOCKED_OUT = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>skgmvae label</title></head>
<body><h1>This page needs its key</h1><p>Open the address that <code>skgmvae label</code> printed (it ends in
<code>?token=...</code>) in this tab. A server started again has a new address; labels this tab could not send
are kept in the browser and sent once the page is open again.</p></body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    server_version = "skgmvae-label"
    session = None  # set on the subclass make_server builds
    cookie_name = None

    def log_message(self, format, *args):  # noqa: A002 - the signature http.server calls
        pass

    def _host_allowed(self):
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost")

    def _origin_allowed(self):
        origin = self.headers.get("Origin")
        port = self.server.server_address[1]
        return origin is None or origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")

    def _authorized(self):
        session = self.session
        token = self.headers.get(TOKEN_HEADER)
        if token is not None:
            return _same(token, session.token)
        cookie = _cookies(self.headers.get("Cookie")).get(self.cookie_name)
        return cookie is not None and _same(cookie, session.cookie)

    def _send(self, status, body, content_type, *, policy="default-src 'none'", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", f"{policy}; frame-ancestors 'none'")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, value):
        self._send(status, json.dumps(value).encode("utf-8"), "application/json; charset=utf-8")

    def _error(self, status, message, **extra):
        self._json(status, {"error": message, **extra})

    def _locked_out(self):
        if self.path.split("?", 1)[0] in ("/", "/index.html"):
            return self._send(HTTPStatus.FORBIDDEN, _LOCKED_OUT.encode("utf-8"), "text/html; charset=utf-8")
        return self._error(HTTPStatus.FORBIDDEN, "this tab does not hold the server's key: open the address "
                           "`skgmvae label` printed (a server started again has a new one)", credential=True)

    def _answer(self, respond):
        """Run ``respond``; an unexpected error is a 500 answer, so the connection never drops unanswered."""
        try:
            respond()
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as error:  # the browser gets an answer, the terminal the traceback
            traceback.print_exc()
            try:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"the server failed: {type(error).__name__}: {error}")
            except OSError:
                pass

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self._answer(self._get)

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802 - the name http.server calls
        self._answer(self._post)

    def _get(self):
        if not self._host_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "this server only answers requests to 127.0.0.1 or localhost")
        url = urlsplit(self.path)
        session = self.session
        if url.path in ("/", "/index.html"):
            token = parse_qs(url.query).get("token", [None])[0]
            if token is not None and _same(token, session.token):
                cookie = (f"{self.cookie_name}={session.cookie}; Path=/; HttpOnly; SameSite=Strict")
                return self._page(headers=[("Set-Cookie", cookie)])
            return self._page() if self._authorized() else self._locked_out()
        if not self._authorized():
            return self._locked_out()
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

    def _page(self, headers=()):
        session = self.session
        nonce = secrets.token_urlsafe(16)
        page = page_html({"mode": "server", "rule": rule_config()},
                         title=f"Label {session.folder.name or session.folder}", nonce=nonce)
        return self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8",
                          policy=page_policy(nonce), headers=headers)

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

    def _post(self):
        if not self._host_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "this server only answers requests to 127.0.0.1 or localhost")
        if not self._origin_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
        if not self._authorized():
            return self._locked_out()
        session = self.session
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        length = self.headers.get("Content-Length") or ""
        if not (length.isascii() and length.isdigit() and int(length) > 0):
            return self._error(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length and a body")
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"the body is {length} bytes; at most {MAX_BODY} are taken: send fewer labels at once")
        try:
            body = json.loads(self.rfile.read(int(length)).decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if self.path == "/api/labels":
                changes = [(change.get("path"), change.get("label")) if isinstance(change, dict) else (None, None)
                           for change in _check_list(body.get("labels"), "labels")]
                answer = session.set_labels(changes)
            elif self.path == "/api/cluster":
                answer = session.label_cluster(body.get("component"), body.get("label"),
                                               body.get("included"), body.get("excluded", []))
            else:
                return self._error(HTTPStatus.NOT_FOUND, "not found")
        except FileChangedError as error:
            return self._error(HTTPStatus.CONFLICT, str(error))
        except (ValueError, UnicodeDecodeError) as error:
            return self._error(HTTPStatus.BAD_REQUEST, str(error))
        except OSError as error:
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"could not write {session.csv_path}: {error}")
        return self._json(HTTPStatus.OK, {**answer, "csv": session.csv_path.name})


def make_server(session, port=0):
    """A :class:`~http.server.ThreadingHTTPServer` for ``session`` on 127.0.0.1 (port 0: any free port).

    Call ``serve_forever()`` on it (in a thread, say) and ``shutdown()`` to stop;
    ``server.server_address[1]`` is the port and :func:`session_url` the
    address to open.
    """
    handler = type("LabelHandler", (_Handler,), {"session": session})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    # Cookies are shared by every port of a host: one name per server keeps two servers' apart.
    handler.cookie_name = f"skgmvae-label-{server.server_address[1]}"
    server.daemon_threads = True
    return server


def session_url(server):
    """The address that opens the page of ``server``'s session: it holds the session's key."""
    return f"http://127.0.0.1:{server.server_address[1]}/?token={server.RequestHandlerClass.session.token}"


def default_port(csv_path):
    """The port ``skgmvae label`` tries first for ``csv_path``: the same on every start for that file.

    A tab of an earlier server on the file then has the same origin, so it
    finds the labels it kept in the browser once pointed at the new address.
    """
    digest = hashlib.sha256(str(Path(csv_path).resolve()).encode("utf-8", "surrogateescape")).digest()
    return 20000 + int.from_bytes(digest[:4], "big") % 10000
