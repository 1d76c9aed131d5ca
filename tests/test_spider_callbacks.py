"""Each spider callback on stored pages (Scrapy contracts would fetch the live site)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from unittest.mock import Mock, PropertyMock, patch

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from finews_crawler.items import ArticleItem
from finews_crawler.spiders.category import CategorySpider
from finews_crawler.spiders.finews import SiteSpider
from finews_crawler.spiders.shanghaifabu import ShanghaifabuSpider

SITE = Path(__file__).parent / "fixtures" / "site"
BASE = "http://127.0.0.1:8000"
SHARE = "http://127.0.0.1:9000"


def make_spider(spider_cls, settings: dict | None = None, **kwargs):
    settings = {"FINEWS_BASE_URL": BASE, "FINEWS_SHARE_BASE_URL": SHARE, **(settings or {})}
    crawler = get_crawler(spider_cls, settings_dict=settings)
    spider = spider_cls.from_crawler(crawler, refresh="1", **kwargs)
    crawler.spider = spider
    return spider


def page(rel: str, request: Request | None = None) -> TextResponse:
    url = f"{BASE}/{rel}"
    request = request or Request(url)
    body = (SITE / rel).read_bytes()
    cls = TextResponse if rel.endswith(".xml") else HtmlResponse
    return cls(url=url, body=body, encoding="utf-8", request=request)


def article_outputs(spider, response: TextResponse) -> list:
    """What `parse_article` (an async generator: it awaits the parser) yields for a page."""

    async def collect() -> list:
        return [output async for output in spider.parse_article(response)]

    return asyncio.run(collect())


def test_category_listing_requests_its_articles_with_the_category() -> None:
    spider = make_spider(ShanghaifabuSpider)
    requests = list(
        spider.parse_listing(
            page(
                "category/shanghaifabu.html",
                spider.listing_request("/category/shanghaifabu.html", "shanghaifabu"),
            )
        )
    )
    assert len(requests) == 9
    assert all(r.callback == spider.parse_article for r in requests)
    assert all(r.meta["listing_categories"] == ["shanghaifabu"] for r in requests)
    assert all(r.url.startswith(f"{BASE}/shanghaifabu/") for r in requests)


def test_empty_category_page_falls_back_to_the_other_listings() -> None:
    spider = make_spider(CategorySpider, category="21shijijingjibaodao 21caijingAPP")
    slug_page = "category/21shijijingjibaodao 21caijingAPP.html"
    request = spider.listing_request(
        "/category/21shijijingjibaodao%2021caijingAPP.html", spider.category
    )
    fallbacks = list(spider.parse_listing(page(slug_page, request)))
    assert [r.url for r in fallbacks] == [f"{BASE}/", f"{BASE}/feed.xml"]
    articles = list(spider.parse_listing(page("index.html", fallbacks[0])))
    assert len(articles) == 3
    assert all("/21shijijingjibaodao/21caijingapp/" in r.url for r in articles)


def test_site_spider_defers_front_page_articles_and_follows_feed_categories() -> None:
    spider = make_spider(SiteSpider)
    requests = list(spider.parse_listing(page("index.html", spider.listing_request("/"))))
    assert requests == []  # `/` names no category page; its articles wait for idle
    assert len(spider.deferred_articles) == 32  # 35 links, 3 of them twice
    feed = list(spider.parse_listing(page("feed.xml", spider.listing_request("/feed.xml"))))
    assert [r.url for r in feed] == [f"{BASE}/category/shanghaifabu.html"]


def test_article_with_share_link_requests_it_and_keeps_the_item() -> None:
    spider = make_spider(ShanghaifabuSpider)
    rel = "shanghaifabu/2022/03/30/NW202203302328599218.html"
    outputs = article_outputs(spider, page(rel))
    share = [o for o in outputs if isinstance(o, Request)]
    assert len(share) == 1
    assert share[0].url == (f"{SHARE}/html_News/NewsShare.html?infoCode=NW202203302328599218")
    assert share[0].dont_filter
    failed = list(spider.share_failed(_failure(share[0], ConnectionRefusedError())))
    assert len(failed) == 1 and isinstance(failed[0], ArticleItem)
    assert failed[0].share_status == "error: ConnectionRefusedError"
    assert failed[0].title.startswith("上海举行全市领导干部大会")


@pytest.mark.parametrize(("status", "expected"), [(200, "fetched"), (404, "http 404")])
def test_share_answer_is_recorded(status: int, expected: str) -> None:
    spider = make_spider(ShanghaifabuSpider)
    rel = "shanghaifabu/2022/03/30/NW202203302328599218.html"
    share = next(o for o in article_outputs(spider, page(rel)) if isinstance(o, Request))
    body = "<html><head><title>分享</title></head><body><p>正文</p></body></html>".encode()
    response = HtmlResponse(
        url=share.url, status=status, body=body, request=share, encoding="utf-8"
    )
    (item,) = spider.parse_share(response)
    assert item.share_status == expected
    if status == 200:
        assert (item.share_title, item.share_text) == ("分享", "正文")


def test_emnews_article_is_an_item_at_once() -> None:
    spider = make_spider(SiteSpider)
    outputs = article_outputs(spider, page("emnews/2021/12/08/202112082206672930.html"))
    items = [o for o in outputs if isinstance(o, ArticleItem)]
    assert len(items) == 1 and items[0].crawled_at
    categories = [o.url for o in outputs if isinstance(o, Request)]
    assert categories == [f"{BASE}/category/emnews.html"]


def test_non_article_page_gives_nothing() -> None:
    spider = make_spider(SiteSpider)
    assert article_outputs(spider, page("404.html")) == []


def _failure(request: Request, error: Exception) -> Failure:
    failure = Failure(error)
    failure.request = request
    return failure


def test_article_requests_are_let_out_through_a_window() -> None:
    spider = make_spider(ShanghaifabuSpider, {"FINEWS_ARTICLE_WINDOW": 3})
    listing = spider.listing_request("/category/shanghaifabu.html", "shanghaifabu")
    first = list(spider.parse_listing(page("category/shanghaifabu.html", listing)))
    assert len(first) == 3 and len(spider.pending_articles) == 6
    # Each article answered (or failed) lets the next one out.
    answered = article_outputs(spider, page(first[0].url.removeprefix(f"{BASE}/"), first[0]))
    assert len([r for r in answered if r.callback == spider.parse_article]) == 1
    failed = list(spider.page_failed(_failure(first[1], ConnectionRefusedError())))
    assert len(failed) == 1 and len(spider.pending_articles) == 4
    # A dropped duplicate frees its place too; idle lets out a whole window again.
    spider.article_dropped(first[2])
    assert spider.articles_in_flight == 2
    engine = Mock()
    engine_property = patch.object(
        Crawler, "engine", new_callable=PropertyMock, return_value=engine
    )
    with engine_property, pytest.raises(DontCloseSpider):
        spider.release_on_idle()
    assert engine.crawl.call_count == 3 and len(spider.pending_articles) == 1
