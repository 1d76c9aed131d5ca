"""A local HTTP server that serves a folder as the finews site, with faults on demand.

Everything the project is tested, demoed and benchmarked against runs through this server: it
serves a folder (the bundled `tests/fixtures/site`, a grown bench mirror, a hostile site) on
127.0.0.1 the way the live static host (GitHub Pages) does:

- percent-decoded paths (file names may hold a space), `/dir/` -> `dir/index.html`, `/dir` -> 301
  to `/dir/`, `/name` -> `name.html`; `404.html` with status 404 for a missing path; GET and HEAD;
  HTTP/1.1 keep-alive;
- `Content-Type: text/html; charset=utf-8` for HTML (plain `text/html` when the file is not
  valid UTF-8, so a page's own `<meta>` decides its encoding), `application/atom+xml` for
  `feed.xml`;
- never anything outside the root: `..` segments (also percent-encoded, `%2F..%2F`), dot files
  and symlinks that leave the root answer 404;
- the share page as `share_mode` says (`localsite.share`), the faults of a `FaultPlan`
  (`localsite.faults`), every request in `.requests` (`localsite.requestlog`).

Everything is bounded in time and `stop()` returns promptly. Use `serve()` in tests (see
`tests/conftest.py`), or the command line (`localsite/__main__.py`)::

    python -m localsite tests/fixtures/site --port 8000 --fail-ratio 0.2 --seed 1
"""

from __future__ import annotations

import codecs
import contextlib
import html
import ipaddress
import logging
import mimetypes
import socket
import socketserver
import struct
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

from finews_crawler.site import SHARE_PATH, normalize_info_code
from localsite.faults import MAX_DELAY_SECONDS, FaultKind, FaultPlan
from localsite.requestlog import RequestLog
from localsite.share import ArticleIndex, ShareMode, share_page

logger = logging.getLogger(__name__)

#: Bodies up to this size are read at once; larger files are streamed.
_STREAM_THRESHOLD = 1 << 20
_CHUNK = 256 * 1024
_FALLBACK_404 = (
    b'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="UTF-8"><title>404</title></head>'
    b"<body><h2>404 \xe6\x89\xbe\xe4\xb8\x8d\xe5\x88\xb0\xe9\xa1\xb5\xe9\x9d\xa2 Page Not Found"
    b"</h2></body></html>\n"
)


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    file: Path | None = None  # streamed instead of `body`
    length: int = -1  # default: len(body)

    def __post_init__(self) -> None:
        if self.length < 0:
            self.length = len(self.body)


class MirrorServer:
    """A running mirror: `.url`, `.requests`, `.stop()`; a context manager. See `serve()`."""

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        share_mode: ShareMode | str = ShareMode.MISSING,
        faults: FaultPlan | None = None,
        hang_seconds: float = 30.0,
        max_log: int | None = None,
    ) -> None:
        self.root = Path(root).resolve(strict=True)
        if not self.root.is_dir():
            raise NotADirectoryError(self.root)
        self.host = _loopback_host(host)
        self.share_mode = ShareMode(share_mode)
        self.faults = faults
        if not 0.0 <= hang_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"hang_seconds must be within [0, {MAX_DELAY_SECONDS}]")
        self.hang_seconds = hang_seconds
        self.requests = RequestLog(maxlen=max_log)
        self._attempts: Counter[str] = Counter()
        self._attempts_lock = threading.Lock()
        self._utf8_cache: dict[tuple[str, int, int], bool] = {}
        self.articles = ArticleIndex(self.root)  # what an "ok" share page tells about
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((self.host, port), self)
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def share_mode(self) -> ShareMode:
        """How the share page answers; may be changed while the server runs."""
        return self._share_mode

    @share_mode.setter
    def share_mode(self, mode: ShareMode | str) -> None:
        self._share_mode = ShareMode(mode)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def crawl_settings(self) -> dict[str, str]:
        """Scrapy settings that crawl this mirror: the site and its share links here, and no
        AutoThrottle (a loopback server needs no politeness delay)."""
        return {
            "FINEWS_BASE_URL": self.url,
            "FINEWS_SHARE_BASE_URL": self.url,
            "AUTOTHROTTLE_ENABLED": "false",
        }

    def url_for(self, path: str) -> str:
        """Absolute URL of a site path, percent-encoding what needs it (spaces)."""
        parts = urlsplit(path)
        quoted = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
        return self.url + quoted + (f"?{parts.query}" if parts.query else "")

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"mirror:{self.port}",
                daemon=True,
            )
            self._thread.start()
            logger.info("Serving %s at %s", self.root, self.url)
        return self

    def stop(self) -> None:
        """Stop serving, wake every sleeping handler and drop open connections."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        self._httpd.close_connections()
        logger.info("Stopped the mirror at %s", self.url)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- faults ---------------------------------------------------------------------------

    def next_fault(self, key: str) -> FaultKind | None:
        plan = self.faults
        if plan is None or not plan.is_faulty(key):
            return None
        with self._attempts_lock:
            self._attempts[key] += 1
            attempt = self._attempts[key]
        return plan.fault_for(key, attempt)

    # --- files ----------------------------------------------------------------------------

    def resolve(self, decoded_path: str) -> tuple[Path | None, bool]:
        """(file to serve or None, whether to redirect to the path plus `/`)."""
        if "\x00" in decoded_path or "\\" in decoded_path or not decoded_path.startswith("/"):
            return None, False
        segments = [s for s in decoded_path.split("/") if s]
        if any(s.startswith(".") for s in segments):  # `..`, `.`, dot files
            return None, False
        try:
            target = self.root.joinpath(*segments).resolve()
        except (OSError, RuntimeError, ValueError):
            return None, False
        if not target.is_relative_to(self.root):
            return None, False
        if target.is_dir():
            if not decoded_path.endswith("/"):
                return None, True
            target = self._inside(target / "index.html")
        elif decoded_path.endswith("/"):
            return None, False  # a file is not a folder
        elif not target.is_file():
            target = self._inside(target.with_name(target.name + ".html"))  # `/name` -> name.html
        if target is not None and target.is_file():
            return target, False
        return None, False

    def _inside(self, path: Path) -> Path | None:
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):
            return None
        return resolved if resolved.is_relative_to(self.root) else None

    def is_utf8(self, path: Path, size: int, mtime_ns: int) -> bool:
        key = (str(path), size, mtime_ns)
        cached = self._utf8_cache.get(key)
        if cached is None:
            decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                with path.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        decoder.decode(chunk)
                    decoder.decode(b"", final=True)
                cached = True
            except UnicodeDecodeError:
                cached = False
            self._utf8_cache[key] = cached
        return cached


def _loopback_host(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the mirror binds to loopback addresses only, not {host!r}") from None
    if not address.is_loopback or address.version != 4:
        raise ValueError(f"the mirror binds to IPv4 loopback addresses only, not {host!r}")
    return host


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], mirror: MirrorServer) -> None:
        self.mirror = mirror
        self._connections: set[socket.socket] = set()
        self._reset: set[int] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn); not needed on loopback.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[override]
        with self._lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)

    def mark_reset(self, request: socket.socket) -> None:
        """Close this connection with a RST instead of a FIN once the handler returns."""
        request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._lock:
            self._reset.add(id(request))

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._lock:
            reset = id(request) in self._reset
            self._reset.discard(id(request))
        if reset:
            self.close_request(request)  # no shutdown(SHUT_WR): SO_LINGER 0 makes close a RST
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        if sys.exc_info()[0] in (ConnectionResetError, BrokenPipeError, TimeoutError):
            return
        logger.exception("Mirror error while serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "finews-mirror/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    _log_entry: tuple[str, str | None] | None = None  # (path, fault) until recorded

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # --- dispatch -------------------------------------------------------------------------

    def _handle(self, *, head: bool) -> None:
        mirror = self.server.mirror
        target = urlsplit(self.path)
        decoded = unquote(target.path)
        key = decoded + (f"?{target.query}" if target.query else "")
        fault = mirror.next_fault(key)
        self._log_entry = (key, fault.value if fault else None)
        if fault is FaultKind.SLOW:
            mirror.stopping.wait(mirror.faults.slow_seconds if mirror.faults else 0)
        if fault is not None and fault is not FaultKind.SLOW:
            self._fault(fault, target.path, target.query, decoded, head=head)
        elif decoded == SHARE_PATH:
            self._share(target.query, head=head)
        else:
            self._send(self._response(target.path, target.query, decoded), head=head)
        self._log(None)  # no answer was sent (reset, refuse, hang)

    def _log(self, status: int | None) -> None:
        """Record the request once, before its answer goes out (tests read the log at once)."""
        if self._log_entry is not None:
            key, fault = self._log_entry
            self._log_entry = None
            self.server.mirror.requests.record(self.command, key, status, fault)

    def _fault(self, fault: FaultKind, raw: str, query: str, decoded: str, *, head: bool) -> None:
        plan = self.server.mirror.faults
        assert plan is not None
        here = raw + (f"?{query}" if query else "")
        if fault in (FaultKind.HTTP_500, FaultKind.HTTP_502, FaultKind.HTTP_503):
            status = int(fault.value)
            self._send(_text_response(status, f"{status} injected fault\n"), head=head)
            return
        if fault is FaultKind.HTTP_429:
            response = _text_response(429, "429 Too Many Requests\n")
            response.headers.append(("Retry-After", str(plan.retry_after)))
            self._send(response, head=head)
            return
        if fault is FaultKind.REDIRECT_LOOP:
            origin = self.server.mirror.url
            if self.headers.get("Host"):
                origin = "http://" + self.headers["Host"]
            self._send(_redirect(302, origin + here), head=head)
            return
        if fault is FaultKind.REDIRECT_OFFSITE:
            self._send(_redirect(302, plan.offsite_origin.rstrip("/") + here), head=head)
            return
        if fault is FaultKind.RESET:
            self._log(None)
            self.server.mark_reset(self.connection)
            self.close_connection = True
            return
        # TRUNCATE: the headers promise the whole page, half of it arrives, then the close.
        self._send(self._response(raw, query, decoded), head=head, truncate=True)

    # --- answers --------------------------------------------------------------------------

    def _response(self, raw: str, query: str, decoded: str) -> _Response:
        mirror = self.server.mirror
        path, redirect = mirror.resolve(decoded)
        if redirect:
            return _redirect(301, raw + "/" + (f"?{query}" if query else ""))
        if path is None:
            return self._not_found()
        return self._file_response(200, path)

    def _file_response(self, status: int, path: Path) -> _Response:
        stat = path.stat()
        content_type = _content_type(path)
        if _is_textual(content_type) and self.server.mirror.is_utf8(
            path, stat.st_size, stat.st_mtime_ns
        ):
            content_type += "; charset=utf-8"
        response = _Response(status, [("Content-Type", content_type)], length=stat.st_size)
        if stat.st_size <= _STREAM_THRESHOLD:
            response.body = path.read_bytes()
            response.length = len(response.body)
        else:
            response.file = path
        response.headers.append(("Last-Modified", self.date_time_string(int(stat.st_mtime))))
        return response

    def _not_found(self) -> _Response:
        page = self.server.mirror._inside(self.server.mirror.root / "404.html")
        if page is not None and page.is_file():
            return self._file_response(404, page)
        return _Response(404, [("Content-Type", "text/html; charset=utf-8")], _FALLBACK_404)

    def _share(self, query: str, *, head: bool) -> None:
        mirror = self.server.mirror
        mode = mirror.share_mode
        if mode in (ShareMode.REFUSE, ShareMode.HANG):
            self._log(None)
            if mode is ShareMode.HANG:
                mirror.stopping.wait(mirror.hang_seconds)
            self.close_connection = True
            return
        if mode is ShareMode.MISSING:
            response = self._not_found()
        else:
            codes = parse_qs(query).get("infoCode") or [""]
            info_code = normalize_info_code(codes[0])
            page = mirror.articles.find(info_code) if info_code else None
            document = share_page(page, info_code)
            response = _Response(200, [("Content-Type", "text/html; charset=utf-8")], document)
        self._send(response, head=head)

    def _send(self, response: _Response, *, head: bool, truncate: bool = False) -> None:
        self._log(response.status)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(response.length))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self._headers_buffer.append(b"\r\n")  # end_headers() without the flush
        try:
            if head:
                self.flush_headers()
                return
            send = response.length // 2 if truncate else response.length
            if response.file is None:
                self._headers_buffer.append(response.body[:send])
                self.flush_headers()
                return
            self.flush_headers()
            with response.file.open("rb") as handle:
                while send > 0 and (chunk := handle.read(min(_CHUNK, send))):
                    self.wfile.write(chunk)
                    send -= len(chunk)
        except OSError:  # the client went away (or the server is stopping)
            self.close_connection = True


def _text_response(status: int, text: str) -> _Response:
    body = text.encode("utf-8")
    return _Response(status, [("Content-Type", "text/plain; charset=utf-8")], body, None, len(body))


def _redirect(status: int, location: str) -> _Response:
    body = f'<a href="{html.escape(location)}">{html.escape(location)}</a>\n'.encode()
    headers = [("Location", location), ("Content-Type", "text/html; charset=utf-8")]
    return _Response(status, headers, body, None, len(body))


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return "text/html"
    if path.name in ("feed.xml", "atom.xml"):
        return "application/atom+xml"
    if suffix == ".xml":
        return "application/xml"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _is_textual(content_type: str) -> bool:
    return (
        content_type.startswith("text/")
        or content_type.endswith("xml")
        or content_type
        in (
            "application/json",
            "application/javascript",
        )
    )


def setting_args(settings: Mapping[str, object]) -> list[str]:
    """`-s NAME=value` for each setting, as `scrapy crawl` and `finews crawl` take them."""
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def serve(
    root: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    share_mode: ShareMode | str = ShareMode.MISSING,
    faults: FaultPlan | None = None,
    hang_seconds: float = 30.0,
    max_log: int | None = None,
) -> MirrorServer:
    """Serve `root` on a loopback address in a background thread; returns the running server.

    `port=0` picks a free port (read `.url`). Use it as a context manager, or call `.stop()`.
    """
    server = MirrorServer(
        root,
        host,
        port,
        share_mode=share_mode,
        faults=faults,
        hang_seconds=hang_seconds,
        max_log=max_log,
    )
    return server.start()
