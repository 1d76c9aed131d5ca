"""`localsite.server`: the local site served the way the static host serves it.

Content types, 404 pages, folders and redirects, HEAD, keep-alive, file names with a space, nothing
outside the root (dot segments, percent-encoded ones, symlinks), loopback addresses only, and a
`stop()` that returns promptly while a request hangs.
"""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from support.site_requests import SEED_ARTICLE, SHARE, SPACE_CATEGORY, get, raw_get

from localsite.server import MirrorServer, serve

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/emnews/", "text/html; charset=utf-8"),
        (SEED_ARTICLE, "text/html; charset=utf-8"),
        ("/feed.xml", "application/atom+xml; charset=utf-8"),
    ],
)
def test_pages_are_served_with_their_content_type(
    mirror: MirrorServer, site_dir: Path, path: str, content_type: str
) -> None:
    status, headers, body = get(mirror, path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    file = site_dir / (path.lstrip("/") or "index.html")
    if file.is_dir():
        file = file / "index.html"
    assert body == file.read_bytes()


def test_missing_page_is_404_with_the_site_404_page(mirror: MirrorServer, site_dir: Path) -> None:
    not_found = (site_dir / "404.html").read_bytes()
    status, headers, body = get(mirror, "/shanghaifabu/2019/01/01/NW201901010000000000.html")
    assert (status, body) == (404, not_found)
    assert "本站消息时效性为三天".encode() in body
    status, headers, body = get(mirror, "/gone.html", method="HEAD")
    assert (status, body, int(headers["Content-Length"])) == (404, b"", len(not_found))


def test_space_in_a_file_name(mirror: MirrorServer, site_dir: Path) -> None:
    status, _, body = get(mirror, SPACE_CATEGORY)
    assert status == 200
    assert body == (site_dir / "category" / "21shijijingjibaodao 21caijingAPP.html").read_bytes()
    assert mirror.url_for(unquote(SPACE_CATEGORY)) == mirror.url + SPACE_CATEGORY


def test_folders_and_head(mirror: MirrorServer) -> None:
    status, headers, _ = get(mirror, "/emnews")
    assert (status, headers["Location"]) == (301, "/emnews/")
    status, headers, body = get(mirror, "/emnews/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000
    assert get(mirror, "/index.html/")[0] == 404


def test_keep_alive_connection_serves_many_requests(mirror: MirrorServer) -> None:
    connection = http.client.HTTPConnection(mirror.host, mirror.port, timeout=5)
    for _ in range(20):
        connection.request("GET", SEED_ARTICLE)
        response = connection.getresponse()
        assert response.status == 200 and response.read()
    connection.close()


@pytest.fixture
def jail(tmp_path: Path) -> Path:
    """A site root with a secret beside it and symlinks pointing out of it."""
    root = tmp_path / "site"
    (root / "a").mkdir(parents=True)
    (root / "index.html").write_text("<p>home</p>", encoding="utf-8")
    (root / "404.html").write_text("<p>not here</p>", encoding="utf-8")
    (root / ".hidden.html").write_text("hidden", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("TOP-SECRET", encoding="utf-8")
    (root / "escape.html").symlink_to(tmp_path / "secret.txt")
    (root / "outside").symlink_to(tmp_path)
    (root / "inside.html").symlink_to(root / "index.html")
    return root


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/a/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/a/%2F..%2F..%2Fsecret.txt",
        "/%2F..%2Fsecret.txt",
        "/a%2F..%2F..%2Fsecret.txt",
        "/..%5Csecret.txt",
        "/escape.html",
        "/outside/secret.txt",
        "/.hidden.html",
        "/index.html%00.txt",
        "//etc/passwd",
    ],
)
def test_nothing_outside_the_root_is_served(serve_site, jail: Path, target: str) -> None:
    server = serve_site(jail)
    status, body = raw_get(server, target)
    assert status == 404
    assert b"TOP-SECRET" not in body and b"hidden" not in body


def test_symlink_inside_the_root_is_served(serve_site, jail: Path) -> None:
    server = serve_site(jail)
    assert raw_get(server, "/inside.html") == (200, b"<p>home</p>")


def test_robots_txt_when_present(serve_site, jail: Path) -> None:
    server = serve_site(jail)
    assert get(server, "/robots.txt")[0] == 404
    (jail / "robots.txt").write_text("User-agent: *\nDisallow:\n", encoding="utf-8")
    status, headers, body = get(server, "/robots.txt")
    assert (status, headers["Content-Type"]) == (200, "text/plain; charset=utf-8")
    assert body.startswith(b"User-agent")


def test_built_in_404_page_when_the_root_has_none(serve_site, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>home</p>", encoding="utf-8")
    status, headers, body = get(serve_site(tmp_path), "/nope.html")
    assert status == 404 and b"404" in body and int(headers["Content-Length"]) == len(body)


def test_only_loopback_addresses(site_dir: Path) -> None:
    with pytest.raises(ValueError):
        MirrorServer(site_dir, host="0.0.0.0")


def test_stop_is_prompt_while_a_request_hangs(site_dir: Path) -> None:
    server = serve(site_dir, share_mode="hang", hang_seconds=30)
    errors: list[BaseException] = []

    def client() -> None:
        try:
            get(server, SHARE, timeout=10)
        except Exception as error:  # the connection closes without an answer
            errors.append(error)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    thread.join(5)
    assert time.monotonic() - started < 3
    assert not thread.is_alive() and errors
