"""Jekyll posts -> ArticleItem: every post of the corpus against truth.jsonl, and the date rules."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

import pytest
from support.paths import FIXTURES

from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.html_text import squeeze
from finews_crawler.parsing.post import PostError, parse_post, read_post, split_post

POSTS = sorted((FIXTURES / "posts").glob("*.md"))
TRUTH = {
    row["name"]: row
    for row in map(json.loads, (FIXTURES / "truth.jsonl").read_text("utf-8").splitlines())
}
RENDERED = [path for path in POSTS if path.name in TRUTH]


def test_every_post_but_the_broken_one_has_a_truth_row() -> None:
    assert {path.name for path in POSTS} - set(TRUTH) == {"-202205262391921712.md"}
    assert len(RENDERED) == len(TRUTH)


@pytest.mark.parametrize("path", RENDERED, ids=lambda path: path.name)
def test_post_matches_truth(path: Path) -> None:
    item = asdict(read_post(path))
    truth = TRUTH[path.name]
    for key, expected in truth.items():
        if key == "body_text":
            assert squeeze(item[key]) == squeeze(expected), key
        else:
            assert item[key] == expected, key


@pytest.mark.parametrize("path", RENDERED, ids=lambda path: path.name)
def test_post_reads_like_its_rendered_page(path: Path) -> None:
    """Import and crawl agree on every field, body_html, stocks and images included."""
    item = asdict(read_post(path))
    page = FIXTURES / "site" / item["url"].lstrip("/")
    crawled = parse_article(
        page.read_text("utf-8"), "https://finews.withounder.com" + quote(item["url"])
    )
    assert crawled is not None
    assert item.pop("source_markdown") == path.read_bytes().decode("utf-8")
    assert item == {**asdict(crawled), "layout": None}  # a post is read from no page layout


@pytest.mark.parametrize("path", RENDERED, ids=lambda path: path.name)
def test_split_keeps_every_byte(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    assert split_post(path.name, text).text == text


def test_byte_order_mark_is_kept() -> None:
    text = "\ufeff" + (FIXTURES / "seed-post.md").read_bytes().decode("utf-8")
    post = split_post("2022-03-30-NW202203302328599218.md", text)
    assert post.text == text
    assert parse_post(post.name, text).title.startswith("上海举行")


def test_broken_post_raises_post_error() -> None:
    path = FIXTURES / "posts" / "-202205262391921712.md"
    with pytest.raises(PostError) as caught:
        read_post(path)
    assert caught.value.file_name == path.name
    assert "date" in caught.value.reason


POST = """---
layout: post
title: "T"
date: {date}
categories: {categories}
tags: A B
---
> first line of the digest
> second line

<p>Body <span id="stock_0.300959"><a class="keytip" data-code="0,300959">X</a></span></p><p class="em_media">（文章来源：<span>上海</span>发布）</p>

<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202112082206672930>

[返回A B](//finews.withounder.com/category/a b.html)｜[返回首页](//finews.withounder.com/)"""  # noqa: E501


@pytest.mark.parametrize(
    ("date", "shown"),
    [
        ("2021-12-08 10:39:11", "2021-12-08T18:39:11+08:00"),  # no offset: UTC, as YAML reads it
        ("2021-12-08 10:39:11 +0800", "2021-12-08T10:39:11+08:00"),
        ("2021-12-08 10:39:11 +00:00", "2021-12-08T18:39:11+08:00"),
        ("2021-12-08 20:00:00", "2021-12-09T04:00:00+08:00"),  # the page (and URL) says the 9th
        ("2021-12-08", "2021-12-08T00:00:00+08:00"),
    ],
)
def test_dates_as_the_page_shows_them(date: str, shown: str) -> None:
    item = parse_post("2021-12-08-NW202112082206672930.md", POST.format(date=date, categories="x"))
    assert item.published_at == shown
    assert item.url == f"/x/{shown[:10].replace('-', '/')}/NW202112082206672930.html"


def test_post_without_date_takes_the_file_name_date() -> None:
    text = POST.format(date="x", categories="a").replace("date: x\n", "")
    item = parse_post("2021-12-08-NW202112082206672930.md", text)
    assert item.published_at == "2021-12-08T00:00:00+08:00"


@pytest.mark.parametrize("date", ["", " +0800", "yesterday", "2021-13-40 10:00:00"])
def test_invalid_dates_raise(date: str) -> None:
    with pytest.raises(PostError, match="invalid date"):
        parse_post("2021-12-08-x.md", POST.format(date=date, categories="a"))


def test_fields_of_a_synthetic_post_crlf_multiline_digest_and_spaced_category() -> None:
    text = POST.format(date="2021-12-08 10:39:11 +0800", categories="A B").replace("\n", "\r\n")
    post = split_post("2021-12-08-NW202112082206672930.md", text)
    assert post.text == text
    assert [kind for kind, _ in post.segments] == [
        "digest", "sep", "body", "sep", "link", "sep", "back",
    ]  # fmt: skip
    item = parse_post(post.name, text)
    assert item.categories == ["A", "B"]
    assert item.tags == ["A", "B"]
    assert item.url == "/a/b/2021/12/08/NW202112082206672930.html"
    assert item.digest == "first line of the digest\nsecond line"
    assert item.media == "上海发布"
    assert item.share_url.endswith("infoCode=NW202112082206672930")
    assert item.upstream_url is None
    assert item.stocks == [
        {"symbol": "300959.SZ", "kind": "stock", "market": "0", "code": "300959", "name": "X"}
    ]
    assert item.body_text == "Body X"
    assert "em_media" in item.body_html and "返回" not in item.body_html


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("-202205262391921712.md", "no date in the file name"),
        ("2021-12-08-x.txt", "no date in the file name"),
    ],
)
def test_unreadable_names(name: str, reason: str) -> None:
    with pytest.raises(PostError, match=reason):
        parse_post(name, POST.format(date="2021-12-08 10:00:00", categories="a"))


def test_no_front_matter_and_bad_yaml() -> None:
    with pytest.raises(PostError, match="no YAML front matter"):
        parse_post("2021-12-08-x.md", "just text")
    with pytest.raises(PostError, match="not valid YAML"):
        parse_post("2021-12-08-x.md", '---\ntitle: "unterminated\n---\nbody')


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "2021-12-08-x.md"
    path.write_bytes(b"---\ntitle: \xff\n---\n")
    with pytest.raises(PostError, match="not UTF-8"):
        read_post(path)


def test_post_without_info_code() -> None:
    item = read_post(FIXTURES / "posts" / "2021-12-01-init.md")
    assert item.info_code is None
    assert item.url == "/sitenews/2021/12/01/init.html"
    assert item.body_html == "<p>祝贺开站</p>"
