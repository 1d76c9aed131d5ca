"""Redesigned layouts (tests/fixtures/redesigns, real Jekyll renderings of the bundled posts)
read by the generic reader: every page directly, then a fresh crawl of each site.

The posts are the bundled ones at the same URLs, so the expected values are truth.jsonl's; tags
are expected where the layout shows them (minima shows none: `[]`; bulletin shows none on
东财滚动新闻 posts).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from support.paths import FIXTURES

from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.html_text import squeeze
from finews_crawler.parsing.readers import REFUSED_REASON, LayoutRefused, read_article
from finews_crawler.store.repository import Repository

REDESIGNS = FIXTURES / "redesigns"
#: Which posts' pages show their tags, per redesign (by the post's categories).
SHOWS_TAGS = {
    "minima": lambda categories: False,
    "restyled": lambda categories: True,
    "magazine": lambda categories: True,
    "portal": lambda categories: True,  # as `article:tag` meta only
    "press": lambda categories: True,
    "bulletin": lambda categories: "emnews" not in categories,
    "column": lambda categories: True,
}
#: Text of each layout's chrome that no field of an item may hold.
CHROME_TEXT = {
    "minima": ("东方财富网新闻按媒体分类转载", "ZNing", "20she21jinrongquan"),
    "restyled": ("东方财富网新闻按媒体分类转载", "订阅", "本站消息时效性为三天", "发布时间"),
    "magazine": ("最新消息", "Categories", "分享到", "评论", "抢沙发", "返回顶部", "Posted"),
    "portal": (
        "快讯", "作者：", "阅读约需", "更新于", "发布于", "3小时前", "打印", "责任编辑",
        "关注“金融消息”", "相关阅读", "订阅早报", "上一篇", "下一篇", "网友评论", "版权所有",
        "...",
    ),
    "press": (
        "Posted", "2 days ago", "Updated", "ZNing", "Share this", "Twitter", "Related",
        "Tagged", "Leave a Reply", "Recent Posts", "Previous Post", "Proudly powered",
    ),
    "bulletin": (
        "当前位置", "正文", "编辑", "ZNing", "最后更新", "发布时间", "打印", "关闭", "相关阅读",
        "上一篇", "下一篇", "最新消息", "Copyright",
    ),
    "column": (
        "ZNing", "min read", "Published", "Updated", "Editor", "Read next", "Previous", "Next",
        "Newsletter", "morning brief", "每日财经快讯", "Made with Jekyll",
    ),
}  # fmt: skip
TEXT_FIELDS = ("title", "media", "digest", "body_text", "body_html", "share_url", "upstream_url")
BODY_RATIO = 0.99


def truth_rows() -> list[dict]:
    lines = (FIXTURES / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def expected_fields(row: dict, redesign: str) -> dict:
    return {**row, "tags": row["tags"] if SHOWS_TAGS[redesign](row["categories"]) else []}


def body_ratio(got: str, want: str) -> float:
    return difflib.SequenceMatcher(None, squeeze(got), squeeze(want), autojunk=False).ratio()


def mismatches(item: dict, row: dict, redesign: str) -> list[str]:
    problems = []
    for field, want in expected_fields(row, redesign).items():
        got = item[field]
        if field == "body_text":
            if body_ratio(got, want) < BODY_RATIO:
                problems.append(f"body_text ratio {body_ratio(got, want):.3f}")
        elif got != want:
            problems.append(f"{field}: {got!r} != {want!r}")
    for text in CHROME_TEXT[redesign]:
        found = [name for name in TEXT_FIELDS if text in (item[name] or "")]
        problems += [f"page chrome in {name}: {text!r}" for name in found]
    return problems


@pytest.mark.parametrize("redesign", sorted(SHOWS_TAGS))
def test_every_page_of_the_redesign_reads_to_the_truth(redesign: str) -> None:
    site = REDESIGNS / redesign
    exact_bodies = 0
    for row in truth_rows():
        html = (site / row["url"].lstrip("/")).read_text(encoding="utf-8")
        item = dataclasses.asdict(read_article(html, "http://127.0.0.1:8000" + row["url"]))
        assert item["layout"] == "generic", row["url"]
        assert mismatches(item, row, redesign) == [], row["url"]
        exact_bodies += squeeze(item["body_text"]) == row["body_text"]
    assert exact_bodies == len(truth_rows())  # measured: every body exact, not just >= 0.99


@pytest.mark.parametrize("redesign", sorted(SHOWS_TAGS))
def test_no_other_page_of_the_redesign_is_an_article(redesign: str) -> None:
    site = REDESIGNS / redesign
    articles = {row["url"] for row in truth_rows()}
    others = [p for p in site.rglob("*.html") if "/" + str(p.relative_to(site)) not in articles]
    assert len(others) > 10
    for page in others:
        url = "http://127.0.0.1:8000/" + str(page.relative_to(site))
        assert parse_article(page.read_text(encoding="utf-8"), url) is None, page


@pytest.mark.parametrize("redesign", sorted(SHOWS_TAGS))
def test_a_404_page_at_an_article_url_is_refused(redesign: str) -> None:
    html = (REDESIGNS / redesign / "404.html").read_text(encoding="utf-8")
    with pytest.raises(LayoutRefused, match=re.escape(REFUSED_REASON)):
        read_article(html, "http://127.0.0.1:8000/emnews/2021/12/01/202112012200000000.html")


def crawl(run_scrapy, tmp_path: Path, base_url: str) -> tuple[list[dict], str]:
    out = tmp_path / f"items-{time.monotonic_ns()}.jsonl"
    args = ["crawl", "finews", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=INFO"]
    args += ["-s", "FINEWS_FEED_UNIQUE=false", "-O", str(out)]
    result = run_scrapy(args, env={"FINEWS_BASE_URL": base_url})
    assert result.returncode == 0, result.stderr[-3000:]
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return items, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("redesign", sorted(SHOWS_TAGS))
def test_fresh_crawl_of_the_redesign_gives_the_truth(
    redesign: str, run_scrapy, serve_site, tmp_path: Path
) -> None:
    server = serve_site(REDESIGNS / redesign)
    items, log = crawl(run_scrapy, tmp_path, server.url)
    by_url = {item["url"]: item for item in items}
    assert len(by_url) == len(items), "one item per page"
    assert set(by_url) == {row["url"] for row in truth_rows()}
    problems = {row["url"]: mismatches(by_url[row["url"]], row, redesign) for row in truth_rows()}
    assert {url: found for url, found in problems.items() if found} == {}
    assert {item["layout"] for item in items} == {"generic"}
    assert f"'finews/layout/generic': {len(items)}" in log


@pytest.mark.slow
def test_an_article_page_no_reader_accepts_is_quarantined_with_its_reason(
    run_scrapy, serve_site, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "site", site)
    refused = "/shanghaifabu/2022/03/30/NW202203302328599218.html"
    shutil.copyfile(site / "404.html", site / refused.lstrip("/"))  # a 404 page served as 200
    server = serve_site(site)
    items, log = crawl(run_scrapy, tmp_path, server.url)
    assert refused not in {item["url"] for item in items}
    assert "'finews/layout_refused': 1" in log
    assert "finews/pages_not_article" not in log
    with Repository(run_scrapy.database_url) as repository:
        entries = [e for e in repository.list_quarantine() if e["url"] == refused]
    assert [e["reason"] for e in entries] == [REFUSED_REASON]
