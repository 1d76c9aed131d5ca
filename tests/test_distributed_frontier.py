"""The spider's side of a shared run: what it asks its `Frontier` (`spider.frontier`), and the
requests it gives the shared scheduler; no server needed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from scrapy.exceptions import DontCloseSpider
from scrapy.signalmanager import SignalManager
from scrapy.utils.test import get_crawler
from support.redis_runs import truth_pages

from finews_crawler.distributed import Frontier
from finews_crawler.spiders.finews import SiteSpider


def test_idle_handlers_run_in_the_order_they_were_connected():
    """The spider connects its spider_idle handler (from_crawler) before the scheduler opens and
    connects its own, so the spider's `others_busy()` call is seen in the same idle round."""
    signals_ = SignalManager()
    calls: list[str] = []
    signal_ = object()
    signals_.connect(lambda: calls.append("spider"), signal=signal_, weak=False)
    signals_.connect(lambda: calls.append("scheduler"), signal=signal_, weak=False)
    signals_.send_catch_log(signal_)
    assert calls == ["spider", "scheduler"]


class FakeFrontier:
    def __init__(self, busy: bool) -> None:
        self.busy = busy
        self.asked = 0

    def others_busy(self) -> bool:
        self.asked += 1
        return self.busy


def test_finews_spider_holds_deferred_articles_while_other_workers_are_busy():
    crawler = get_crawler(SiteSpider, {"FINEWS_BASE_URL": "http://127.0.0.1:8000"})
    spider = SiteSpider.from_crawler(crawler, refresh="1")
    crawler.spider = spider
    crawled: list = []
    crawler.engine = SimpleNamespace(crawl=crawled.append)
    assert spider.frontier is None and not spider.others_busy()  # one process: never busy
    held = sorted(truth_pages())[:2]
    spider.deferred_articles.update(dict.fromkeys(held))

    frontier = FakeFrontier(busy=True)
    spider.frontier = frontier  # typed: FakeFrontier satisfies the Frontier protocol
    with pytest.raises(DontCloseSpider):
        spider.request_deferred_articles()
    assert crawled == [] and list(spider.deferred_articles) == held

    frontier.busy = False
    with pytest.raises(DontCloseSpider):
        spider.request_deferred_articles()
    assert [urlsplit(r.url).path for r in crawled] == held
    assert all(not r.dont_filter for r in crawled)
    assert not spider.deferred_articles

    asked = frontier.asked
    spider.request_deferred_articles()  # nothing held: the worker may close, others not asked
    assert frontier.asked == asked


def test_a_shared_frontier_releases_every_article_at_once():
    """One process keeps at most FINEWS_ARTICLE_WINDOW article requests in its scheduler; a
    shared run keeps its frontier in Redis, so the spider lets them all out."""
    paths = sorted(truth_pages())[:5]
    for frontier, released in ((None, 2), (FakeFrontier(busy=False), 5)):
        crawler = get_crawler(SiteSpider, {"FINEWS_ARTICLE_WINDOW": 2})
        spider = SiteSpider.from_crawler(crawler, refresh="1")
        spider.frontier = frontier
        for path in paths:
            spider.queue_article(path, None)
        assert len(list(spider.release_articles())) == released


def test_start_requests_go_through_the_shared_dupefilter():
    crawler = get_crawler(SiteSpider, {"FINEWS_BASE_URL": "http://127.0.0.1:8000"})
    spider = SiteSpider.from_crawler(crawler, refresh="1")
    crawler.spider = spider
    spider.load_stored_pages = frozenset  # no database here

    async def collect() -> list:
        return [request async for request in spider.start()]

    requests = asyncio.run(collect())
    assert [urlsplit(r.url).path for r in requests] == ["/", "/feed.xml", "/emnews/"]
    assert not any(r.dont_filter for r in requests)


def test_the_scheduler_of_a_shared_run_is_a_frontier():
    """What the spider calls exists on `RedisScheduler` with the protocol's signature."""
    import inspect

    from finews_crawler.distributed.scheduler import RedisScheduler

    for name, member in inspect.getmembers(Frontier, inspect.isfunction):
        if not name.startswith("_"):
            assert inspect.signature(getattr(RedisScheduler, name)) == inspect.signature(member)
