"""`localsite.hostile`: the hostile site holds the pages issue 5 describes, served as the host
would serve them."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from support.site_requests import SEED_ARTICLE, get, raw_get

from finews_crawler.site import INFO_CODE_RE
from localsite.hostile import (
    BIG_PAGE_BYTES,
    CATEGORY_PATH,
    HOSTILE_LINKS,
    HOSTILE_PAGES,
    HOSTILE_TAG,
    LOOP_PATH,
    LOOP_SELF_LINKS,
    hostile_site,
)

pytestmark = pytest.mark.timeout(60)


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
    root = hostile_site(tmp_path, base=site_dir, big_bytes=1 << 20)
    index = (root / "index.html").read_text(encoding="utf-8")
    assert f'<h2 id="{HOSTILE_TAG}">' in index and '<h2 id="站长消息">' in index
    assert (root / SEED_ARTICLE.lstrip("/")).is_file()
