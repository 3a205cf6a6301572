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
import secrets
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ._label_page import page_html, page_policy
from ._label_session import FileChangedError, check_list
from .labeling import rule_config

BROWSER_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                 ".webp": "image/webp", ".bmp": "image/bmp"}
#: The largest request body taken, in bytes (a batch of a few thousand labels).
MAX_BODY = 1024 * 1024
TOKEN_HEADER = "X-Skgmvae-Token"


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
                           for change in check_list(body.get("labels"), "labels")]
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
