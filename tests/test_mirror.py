"""The local servers everything runs against: the mirror, its faults, hostile and grown sites.

Covers `localsite.mirror` (serving like the static host, share modes, fault injection),
`localsite.layout` (the site's layouts reproduce the bundled pages byte for byte),
`localsite.hostile` and `bench/grow_mirror.py`.
"""

from __future__ import annotations

import html
import http.client
import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote

import pytest

from finews_crawler.site import INFO_CODE_RE
from localsite import layout
from localsite.hostile import (
    BIG_PAGE_BYTES,
    CATEGORY_PATH,
    HOSTILE_LINKS,
    HOSTILE_PAGES,
    LOOP_PATH,
    LOOP_SELF_LINKS,
)
from localsite.mirror import (
    ALL_FAULTS,
    FaultKind,
    FaultPlan,
    MirrorServer,
    ShareMode,
    parse_kinds,
    serve,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SPACE_CATEGORY = "/category/21shijijingjibaodao%2021caijingAPP.html"
SEED_ARTICLE = "/shanghaifabu/2022/03/30/NW202203302328599218.html"

pytestmark = pytest.mark.timeout(60)


def get(
    server: MirrorServer, path: str, method: str = "GET", timeout: float = 5.0
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def raw_get(server: MirrorServer, target: str) -> tuple[int, bytes]:
    """A request line sent exactly as written (no client-side normalization)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


# --- serving like the static host -----------------------------------------------------------


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


def test_request_log_counts_what_was_fetched(serve_site) -> None:
    server = serve_site()
    get(server, SEED_ARTICLE)
    get(server, SEED_ARTICLE)
    get(server, SPACE_CATEGORY, method="HEAD")
    assert server.requests.count(SEED_ARTICLE) == 2
    assert server.requests.count(SPACE_CATEGORY, method="HEAD") == 1
    assert server.requests.counter()[("GET", SEED_ARTICLE)] == 2
    assert ("HEAD", unquote(SPACE_CATEGORY)) in server.requests.counter()
    assert len(server.requests) == 3
    server.requests.clear()
    assert len(server.requests) == 0


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


# --- the share page ---------------------------------------------------------------------------

SHARE = "/html_News/NewsShare.html?infoCode=NW202112082206736549"


def test_share_page_missing_by_default(mirror: MirrorServer) -> None:
    assert get(mirror, SHARE)[0] == 404


def test_share_page_ok_serves_the_article(serve_site) -> None:
    server = serve_site(share_mode="ok")
    status, headers, body = get(server, SHARE)
    text = body.decode("utf-8")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    title = "新希望前11个月生猪销量已超2020全年 预计全年出栏量1000万头以内"
    assert f"<title>{title}</title>" in text
    assert "正式披露2021年11月生猪销售情况简报" in text
    assert "返回首页" not in text and "NewsShare" not in text
    status, _, body = get(server, "/html_News/NewsShare.html?infoCode=NW209901010000000000")
    assert status == 200 and b"<title>" in body


def test_share_page_refused_and_hung(serve_site) -> None:
    server = serve_site(share_mode="refuse", hang_seconds=1.0)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(server, SHARE)
    server.share_mode = "hang"  # switched while it runs; strings are accepted
    assert server.share_mode is ShareMode.HANG
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        get(server, SHARE, timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert server.requests.records()[-1].status is None


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


# --- faults -----------------------------------------------------------------------------------


def _one_fault(serve_site, kind: FaultKind) -> MirrorServer:
    plan = FaultPlan(ratio=1.0, seed=1, kinds=(kind,), slow_seconds=0.4)
    return serve_site(faults=plan)


@pytest.mark.parametrize("kind", [FaultKind.HTTP_500, FaultKind.HTTP_502, FaultKind.HTTP_503])
def test_server_errors(serve_site, kind: FaultKind) -> None:
    server = _one_fault(serve_site, kind)
    assert get(server, SEED_ARTICLE)[0] == int(kind.value)
    assert get(server, SEED_ARTICLE)[0] == 200  # the next attempt gets the page


def test_429_with_retry_after(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.HTTP_429)
    status, headers, _ = get(server, SEED_ARTICLE)
    assert (status, headers["Retry-After"]) == (429, "1")
    assert get(server, SEED_ARTICLE)[0] == 200


def test_connection_reset(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.RESET)
    with pytest.raises(ConnectionResetError):
        get(server, SEED_ARTICLE)
    assert get(server, SEED_ARTICLE)[0] == 200
    assert server.requests.records()[0].fault == "reset"


def test_body_cut_short(serve_site, site_dir: Path) -> None:
    server = _one_fault(serve_site, FaultKind.TRUNCATE)
    with pytest.raises(http.client.IncompleteRead) as caught:
        get(server, SEED_ARTICLE)
    assert 0 < len(caught.value.partial) < (site_dir / SEED_ARTICLE.lstrip("/")).stat().st_size
    assert get(server, SEED_ARTICLE)[0] == 200


def test_slow_answer(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.SLOW)
    with pytest.raises(TimeoutError):
        get(server, SEED_ARTICLE, timeout=0.1)
    started = time.monotonic()
    assert get(server, "/index.html")[0] == 200  # another path: slow too, but it answers
    assert time.monotonic() - started >= 0.35


def test_redirect_loop_and_offsite_redirect(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.REDIRECT_LOOP)
    status, headers, _ = get(server, SPACE_CATEGORY)
    assert (status, headers["Location"]) == (
        302,
        f"http://{server.host}:{server.port}{SPACE_CATEGORY}",
    )
    assert get(server, SPACE_CATEGORY)[0] == 200

    server = _one_fault(serve_site, FaultKind.REDIRECT_OFFSITE)
    status, headers, _ = get(server, SEED_ARTICLE)
    assert (status, headers["Location"]) == (302, "http://example.invalid" + SEED_ARTICLE)


def test_a_long_redirect_loop(serve_site) -> None:
    plan = FaultPlan(ratio=1.0, kinds=("redirect_loop",), max_failures_per_path=25)
    server = serve_site(faults=plan)
    statuses = [get(server, SEED_ARTICLE)[0] for _ in range(26)]
    assert statuses == [302] * 25 + [200]


def _site_paths(site_dir: Path) -> list[str]:
    return sorted("/" + str(p.relative_to(site_dir)) for p in site_dir.rglob("*") if p.is_file())


def test_fault_plan_is_deterministic_for_a_seed(site_dir: Path) -> None:
    paths = _site_paths(site_dir)
    chosen = {p for p in paths if FaultPlan(ratio=0.2, seed=1).is_faulty(p)}
    assert chosen == {p for p in paths if FaultPlan(ratio=0.2, seed=1).is_faulty(p)}
    assert chosen != {p for p in paths if FaultPlan(ratio=0.2, seed=2).is_faulty(p)}
    assert 0.08 * len(paths) < len(chosen) < 0.35 * len(paths)
    plan = FaultPlan(ratio=0.2, seed=1, max_failures_per_path=2)
    kinds = [plan.fault_for(p, attempt) for p in sorted(chosen) for attempt in (1, 2)]
    assert all(kinds) and len(set(kinds)) > 3
    assert all(plan.fault_for(p, 3) is None for p in paths)
    assert FaultPlan(ratio=0.0).fault_for(paths[0], 1) is None
    assert (
        FaultPlan(ratio=1.0, exempt=frozenset({"/robots.txt"})).fault_for("/robots.txt", 1) is None
    )


def test_faults_end_after_the_failure_budget(serve_site, site_dir: Path) -> None:
    """A client that retries gets every page: what two crawl runs need."""
    kinds = tuple(k for k in ALL_FAULTS if k is not FaultKind.SLOW)
    plan = FaultPlan(ratio=0.5, seed=7, kinds=kinds, max_failures_per_path=2)
    server = serve_site(faults=plan)
    paths = [p for p in _site_paths(site_dir) if p.endswith(".html")][:40]
    failures = 0
    for path in paths:
        expected = (site_dir / unquote(path).lstrip("/")).read_bytes()
        for _attempt in range(3):
            try:
                status, _, body = get(server, path.replace(" ", "%20"))
            except (ConnectionError, http.client.HTTPException):
                failures += 1
                continue
            if status == 200 and body == expected:
                break
            failures += 1
        else:
            pytest.fail(f"{path} never came after 3 attempts")
    faulty = [p for p in paths if plan.is_faulty(p)]
    assert failures == 2 * len(faulty) > 0
    assert len(server.requests.faults()) == failures


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError):
        FaultPlan(ratio=1.5)
    with pytest.raises(ValueError):
        FaultPlan(kinds=("teapot",))
    with pytest.raises(ValueError):
        FaultPlan(slow_seconds=3600)
    assert parse_kinds("all") == ALL_FAULTS
    assert parse_kinds("500, reset") == (FaultKind.HTTP_500, FaultKind.RESET)


def test_command_line_prints_the_url_and_serves(site_dir: Path) -> None:
    command = [sys.executable, "-m", "localsite.mirror", str(site_dir), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", SPACE_CATEGORY)
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()


# --- the site's layouts -----------------------------------------------------------------------


def _bundled_posts(site_dir: Path, truth_rows: list[dict]) -> list[layout.Post]:
    posts = []
    for row in truth_rows:
        page = (site_dir / row["url"].lstrip("/")).read_text(encoding="utf-8")
        section = page[page.index("<section>") :]
        title = re.search(r"<h1>(.*?)</h1>", section, re.S).group(1)
        content = re.search(r"</h1>\n\n(.*?)\n\n\n\n  <small>tags:", section, re.S).group(1)
        posts.append(
            layout.Post(
                name=row["name"],
                url=row["url"],
                title=title,
                date=datetime.fromisoformat(row["published_at"]),
                categories=tuple(row["categories"]),
                tags=tuple(row["tags"]),
                content=content,
            )
        )
    return layout.sort_posts(posts)


def test_layout_renders_every_bundled_article_byte_for_byte(
    site_dir: Path, truth_rows: list[dict]
) -> None:
    posts = _bundled_posts(site_dir, truth_rows)
    assert len(posts) == len(truth_rows) > 100
    for post in posts:
        assert layout.render_post(post) == (site_dir / post.url.lstrip("/")).read_text(
            encoding="utf-8"
        ), post.url


def test_layout_renders_the_bundled_listings_byte_for_byte(
    site_dir: Path, truth_rows: list[dict]
) -> None:
    posts = _bundled_posts(site_dir, truth_rows)
    for page in sorted((site_dir / "category").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        title = re.search(r"<title>(.*) \| 金融消息</title>", text).group(1)
        spaced = " " in page.stem
        listed = [] if spaced else [p for p in posts if page.stem in p.categories]
        assert layout.render_category(page.stem, title, listed, heading=not spaced) == text
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    tags = re.findall(r'<h2 id="([^"]*)">', index[index.index("<section>") :])
    sections = [(tag, [p for p in posts if tag in p.tags]) for tag in tags]
    assert layout.render_index(sections) == index
    emnews = [p for p in posts if layout.EMNEWS_TAG in p.tags]
    expected = (site_dir / "emnews" / "index.html").read_text(encoding="utf-8")
    assert layout.render_emnews_index(emnews) == expected
    feed = (site_dir / "feed.xml").read_text(encoding="utf-8")
    updated = re.search(r"<updated>(.*?)</updated>", feed).group(1)
    assert layout.render_feed(map(layout.render_feed_entry, posts[:10]), updated) == feed


# --- the hostile site -------------------------------------------------------------------------


def _hostile(hostile_dir: Path, key: str) -> bytes:
    page = next(p for p in HOSTILE_PAGES if p.key == key)
    return (hostile_dir / page.url.lstrip("/")).read_bytes()


def test_hostile_pages_exist_with_distinct_valid_info_codes(hostile_dir: Path) -> None:
    codes = [page.info_code for page in HOSTILE_PAGES]
    assert len(set(codes)) == len(codes)
    for page in HOSTILE_PAGES:
        assert INFO_CODE_RE.fullmatch(page.info_code)
        assert page.url == f"/hostile/2022/04/01/{page.info_code}.html"
        assert page.info_code[2:10] == "20220401"
        assert (hostile_dir / page.url.lstrip("/")).is_file()


def test_hostile_encodings(hostile_dir: Path) -> None:
    for key, codec, meta in (("gbk", "gbk", "charset=gbk"), ("gb2312", "gb2312", "charset=gb2312")):
        data = _hostile(hostile_dir, key)
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        text = data.decode(codec)
        page = next(p for p in HOSTILE_PAGES if p.key == key)
        assert f"<h1>{page.title}</h1>" in text and page.body_contains in text
        assert f'<meta http-equiv="Content-Type" content="text/html; {meta}">' in text
        assert "<meta charset=" not in text


def test_hostile_malformed_pages(hostile_dir: Path) -> None:
    assert len(_hostile(hostile_dir, "big")) >= BIG_PAGE_BYTES >= 30_000_000
    garbage = _hostile(hostile_dir, "garbage")
    assert b"\x00" in garbage and not garbage.startswith(b"<")
    with pytest.raises(UnicodeDecodeError):
        garbage.decode("utf-8")
    truncated = _hostile(hostile_dir, "truncated").decode("utf-8")
    assert "</html>" not in truncated and truncated.rfind("<") > truncated.rfind(">")
    assert "<h1>页面在标签中间被截断</h1>" in truncated
    bare = _hostile(hostile_dir, "no_layout").decode("utf-8")
    assert "<html" not in bare and "<section>" not in bare and "没有布局的页面" in bare
    script = _hostile(hostile_dir, "script").decode("utf-8")
    assert '<h1><script>alert("title")</script>标题<b>含有</b>标记</h1>' in script
    assert "<title>标题含有标记 | 金融消息</title>" in script
    links = _hostile(hostile_dir, "links").decode("utf-8")
    assert 'href="javascript:' in links and 'href="mailto:' in links and "evil.example" in links


def test_hostile_listings(hostile_dir: Path) -> None:
    listing = (hostile_dir / CATEGORY_PATH.lstrip("/")).read_text(encoding="utf-8")
    hrefs = [html.unescape(h) for h in re.findall(r'<li><a href="([^"]*)"', listing)]
    assert {p.url for p in HOSTILE_PAGES} | {link.href for link in HOSTILE_LINKS} == set(hrefs)
    assert any("%2F..%2F" in h for h in hrefs) and CATEGORY_PATH in hrefs
    loop = (hostile_dir / LOOP_PATH.lstrip("/")).read_text(encoding="utf-8")
    assert set(LOOP_SELF_LINKS) <= set(re.findall(r'<li><a href="([^"]*)"', loop))
    assert (hostile_dir / "index.html").is_file() and (hostile_dir / "404.html").is_file()


def test_hostile_pages_served_as_the_host_would(serve_site, hostile_dir: Path) -> None:
    server = serve_site(hostile_dir)
    pages = {p.key: p.url for p in HOSTILE_PAGES}
    assert get(server, pages["gbk"])[1]["Content-Type"] == "text/html"
    assert get(server, pages["garbage"])[1]["Content-Type"] == "text/html"
    assert get(server, pages["control"])[1]["Content-Type"] == "text/html; charset=utf-8"
    status, headers, _ = get(server, pages["big"], method="HEAD")
    assert status == 200 and int(headers["Content-Length"]) >= BIG_PAGE_BYTES
    for link in HOSTILE_LINKS:
        if link.href.startswith("/hostile/"):
            assert raw_get(server, link.href)[0] == 404


def test_hostile_site_on_top_of_the_bundled_site(tmp_path: Path, site_dir: Path) -> None:
    from localsite.hostile import HOSTILE_TAG, hostile_site

    root = hostile_site(tmp_path, base=site_dir, big_bytes=1 << 20)
    index = (root / "index.html").read_text(encoding="utf-8")
    assert f'<h2 id="{HOSTILE_TAG}">' in index and '<h2 id="站长消息">' in index
    assert (root / SEED_ARTICLE.lstrip("/")).is_file()


# --- the grown bench mirror -------------------------------------------------------------------


def _grow_module() -> ModuleType:
    """bench/grow_mirror.py is a script, not a package module: load it by path (once)."""
    if "grow_mirror" not in sys.modules:
        path = PROJECT_ROOT / "bench" / "grow_mirror.py"
        spec = importlib.util.spec_from_file_location("grow_mirror", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["grow_mirror"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["grow_mirror"]


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, list[dict]]]:
    out = tmp_path_factory.mktemp("grow") / "site50"
    manifest = _grow_module().grow(50, out)
    rows = [json.loads(line) for line in out.with_name("site50.truth.jsonl").open(encoding="utf-8")]
    yield out, manifest, rows


def test_grown_mirror_counts(grown, truth_rows: list[dict]) -> None:
    out, manifest, rows = grown
    synthetic = rows[len(truth_rows) :]
    assert manifest["synthetic_articles"] == sum(manifest["synthetic_kinds"].values()) == 50
    assert len(synthetic) == manifest["synthetic_pages"] == 50 + manifest["synthetic_kinds"]["both"]
    bundled_codes = {r["info_code"] for r in truth_rows if r["info_code"]}
    synthetic_codes = {r["info_code"] for r in synthetic}
    assert len(synthetic_codes) == 50 and not synthetic_codes & bundled_codes
    assert manifest["info_codes"] == len(bundled_codes) + 50
    for row in synthetic:
        assert INFO_CODE_RE.fullmatch(row["info_code"])
        year, month, day = row["url"].split("/")[-4:-1]
        assert row["info_code"][2:10] == year + month + day
        assert (out / row["url"].lstrip("/")).is_file()
    pages = [p for p in out.rglob("*.html") if re.search(r"/\d{4}/\d{2}/\d{2}/", str(p))]
    assert len(pages) == len(rows)
    categories = {" ".join(r["categories"]) for r in synthetic}
    assert "emnews" in categories and len(categories) > 10
    by_code: dict[str, set[str]] = {}
    for row in synthetic:
        by_code.setdefault(row["info_code"], set()).add(row["categories"][0])
    assert any(len(cats) == 2 and "emnews" in cats for cats in by_code.values())


def test_grown_mirror_links_are_valid(grown) -> None:
    out, _, rows = grown
    listed: set[str] = set()
    for page in [*(out / "category").glob("*.html"), out / "index.html"]:
        text = page.read_text(encoding="utf-8")
        # Only the section: the home page's head holds its Liquid source (`{{ post.url }}`).
        for href in re.findall(r'<li><a href="([^"]*)"', text[text.index("<section>") :]):
            assert (out / unquote(href).lstrip("/")).is_file(), (page.name, href)
            listed.add(href)
    emnews_index = (out / "emnews" / "index.html").read_text(encoding="utf-8")
    emnews_index = html.unescape(emnews_index[emnews_index.index("<section>") :])
    for href in re.findall(r'<li><a href="([^"]*)" target="_blank">', emnews_index):
        assert (out / href.lstrip("/")).is_file()
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    links = re.findall(r'<link href="https://finews.withounder.com(/[^"]+\.html)"', feed)
    assert len(links) == 10 and all((out / link.lstrip("/")).is_file() for link in links)
    # Every article is listed by its category page, but for the slug Jekyll could not look up.
    unlisted = {r["url"] for r in rows} - listed
    assert all(url.startswith("/21shijijingjibaodao/21caijingapp/") for url in unlisted)


def test_grown_pages_use_the_real_layout(grown) -> None:
    out, _, rows = grown
    row = next(r for r in reversed(rows) if r["share_url"])
    page = (out / row["url"].lstrip("/")).read_text(encoding="utf-8")
    assert page.count(row["share_url"]) == 4  # the body spills out of og:description
    assert f"<small>(GMT+8, Asia/Shanghai, CST) {row['published_at'][:10]}" in page
    assert "返回首页</a></p>\n\n\n\n  <small>tags: <em>" in page


def test_growing_nothing_keeps_the_listings(tmp_path: Path, site_dir: Path) -> None:
    out = tmp_path / "site0"
    _grow_module().grow(0, out)
    for name in ("index.html", "emnews/index.html", "feed.xml"):
        assert (out / name).read_bytes() == (site_dir / name).read_bytes(), name


def test_grow_refuses_to_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit):
        _grow_module().grow(1, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"


# --- the shared fixtures ----------------------------------------------------------------------


def test_run_scrapy_runs_on_loopback_only(run_scrapy, mirror: MirrorServer) -> None:
    environment = run_scrapy.environment()
    assert environment["FINEWS_BASE_URL"] == environment["FINEWS_SHARE_BASE_URL"] == mirror.url
    assert environment["FINEWS_DATABASE_URL"] == f"sqlite:///{run_scrapy.database_path}"
    result = run_scrapy(["list"], timeout=120)
    assert result.returncode == 0, result.stderr
    assert {"finews", "category", "shanghaifabu"} <= set(result.stdout.split())
    with pytest.raises(ValueError):
        run_scrapy(["crawl", "finews", "-s", "FINEWS_BASE_URL=https://finews.withounder.com"])
    with pytest.raises(ValueError):
        run_scrapy(["list"], env={"FINEWS_SHARE_BASE_URL": "http://finews.zning.xyz"})
