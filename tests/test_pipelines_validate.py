"""Validation quarantines what is not a complete article; normalization leaves text, not markup."""

from __future__ import annotations

import dataclasses

import pytest
from scrapy.utils.test import get_crawler

from finews_crawler.items import ArticleItem
from pipelines.errors import QuarantineItem
from pipelines.normalize import NormalizePipeline, plain_text
from pipelines.validate import ValidatePipeline, problems

GOOD = ArticleItem(
    info_code="NW202203302328599218",
    url="/shanghaifabu/2022/03/30/NW202203302328599218.html",
    name="2022-03-30-NW202203302328599218.md",
    title="上海举行全市领导干部大会",
    published_at="2022-03-30T23:23:14+08:00",
    categories=["shanghaifabu"],
    tags=["上海发布新闻"],
    body_html="<p>正文</p>",
    body_text="正文",
)


def test_a_complete_article_passes() -> None:
    assert problems(GOOD, 1000) == []
    assert problems(dataclasses.replace(GOOD, title=""), 1000) == []  # the site has empty titles


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"published_at": None}, "no publication date"),
        ({"published_at": "2022-03-30 23:23:14"}, "not ISO 8601 with an offset"),
        ({"categories": []}, "no category"),
        ({"body_text": " \n", "body_html": ""}, "empty body"),
        ({"info_code": "NW123"}, "malformed infoCode"),
        ({"info_code": "NW202203302328599219"}, "does not match the URL"),
        (
            {"url": "/category/shanghaifabu.html", "info_code": "NW202213992328599218"},
            "does not start with a date",
        ),
        ({"url": "/etc/passwd"}, "not an article URL"),
        ({"parse_error": "ValueError: NUL byte"}, "unreadable page"),
        ({"body_html": "x" * 1001}, "exceeds 1000"),
    ],
)
def test_each_problem_is_named(change: dict, reason: str) -> None:
    found = problems(dataclasses.replace(GOOD, **change), 1000)
    assert any(reason in problem for problem in found), found


def test_pipeline_quarantines_with_reason_and_counts() -> None:
    crawler = get_crawler(settings_dict={"FINEWS_MAX_BODY_CHARS": 1000})
    pipeline = ValidatePipeline.from_crawler(crawler)
    assert pipeline.process_item(GOOD) is GOOD
    with pytest.raises(QuarantineItem) as raised:
        pipeline.process_item(dataclasses.replace(GOOD, published_at=None, categories=[]))
    assert raised.value.reason == "no publication date; no category"
    assert raised.value.url == GOOD.url and "正文" in raised.value.excerpt
    assert crawler.stats.get_value("finews/quarantined") == 1
    assert crawler.stats.get_value("finews/valid") == 1


def test_plain_text_removes_markup_but_keeps_angle_brackets_that_are_text() -> None:
    assert plain_text("《<蒙特利尔议定书>基加利修正案》") == "《<蒙特利尔议定书>基加利修正案》"
    assert plain_text("<>") == "<>"
    assert plain_text('标题<script>alert("x")</script><b>粗</b>') == "标题粗"
    assert plain_text("a\x00b\x07c") == "abc"


def test_normalize_pipeline_cleans_text_fields_and_lists() -> None:
    crawler = get_crawler()
    item = dataclasses.replace(
        GOOD,
        title="<em>标题</em>",
        tags=["上海发布新闻", "上海发布新闻", "<i></i>"],
        images=["http://a/1.jpg", "http://a/1.jpg"],
    )
    cleaned = NormalizePipeline.from_crawler(crawler).process_item(item)
    assert (cleaned.title, cleaned.tags, cleaned.images) == (
        "标题",
        ["上海发布新闻"],
        ["http://a/1.jpg"],
    )
    assert crawler.stats.get_value("finews/normalized/title") == 1
