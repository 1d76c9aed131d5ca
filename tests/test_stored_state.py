"""The StoredState extension hands a finews spider what the database holds as it opens."""

from __future__ import annotations

import asyncio
from pathlib import Path

from scrapy.utils.test import get_crawler
from support.truth import truth_rows

from finews_crawler.extensions import StoredState
from finews_crawler.items import ArticleItem
from finews_crawler.spiders.finews import SiteSpider
from finews_crawler.store import Repository


def open_spider(database_url: str, **spider_args: str) -> SiteSpider:
    crawler = get_crawler(SiteSpider, {"FINEWS_DATABASE_URL": database_url})
    spider = SiteSpider.from_crawler(crawler, **spider_args)
    crawler.spider = spider
    asyncio.run(StoredState.from_crawler(crawler).spider_opened(spider))
    return spider


def test_stored_pages_and_categories_reach_the_spider(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stored.sqlite3'}"
    rows = truth_rows()[:5]
    with Repository(url) as repository:
        repository.write_items([ArticleItem(**row) for row in rows])
    spider = open_spider(url)
    assert spider.stored_pages == {row["url"] for row in rows}
    assert spider.stored_categories == {c for row in rows for c in row["categories"]}
    assert spider.crawler.stats.get_value("finews/stored_pages_at_start") == 5
    # Categories stored before are listed at once.
    assert {f"/category/{slug}.html" for slug in spider.stored_categories} <= set(
        spider.start_paths()
    )
    refreshed = open_spider(url, refresh="1")
    assert refreshed.stored_pages == frozenset()
    assert refreshed.stored_categories == spider.stored_categories


def test_an_unreadable_database_means_fetching_every_article(tmp_path: Path) -> None:
    (tmp_path / "a-directory.sqlite3").mkdir()
    spider = open_spider(f"sqlite:///{tmp_path / 'a-directory.sqlite3'}")
    assert spider.stored_pages == frozenset()
    assert spider.crawler.stats.get_value("finews/errors") == 1
    assert spider.crawler.stats.get_value("finews/stored_pages_at_start") == 0
