"""The dedupe and store pipelines driven without an engine, for the pipeline test modules.

`make_crawler(settings)` gives a crawler with a `finews` spider and core stats only;
`open_pipelines` builds and opens dedupe and store as the engine would; `store_settings` points
the store at a test database with small batches and no retry pauses; `items()` is every page of
truth.jsonl as an `ArticleItem`; `pretend_fetched` sets the page counts a crawl would have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from finews_crawler.items import ArticleItem
from pipelines.dedupe import DedupePipeline
from pipelines.store import StorePipeline
from support.truth import truth_rows


class _Spider(scrapy.Spider):
    name = "finews"


def make_crawler(settings: dict[str, Any], **spider_kwargs: Any) -> Crawler:
    only_core_stats = {"scrapy.extensions.corestats.CoreStats": 0}
    crawler = get_crawler(_Spider, {"EXTENSIONS_BASE": only_core_stats, **settings})
    crawler.spider = _Spider.from_crawler(crawler, **spider_kwargs)
    return crawler


def store_settings(url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "FINEWS_DATABASE_URL": url,
        "FINEWS_STORE_BATCH_SIZE": 10,
        "FINEWS_SPOOL_DIR": str(tmp_path / "spool"),
        "FINEWS_STORE_RETRY_DELAY": 0,
        **extra,
    }


def items() -> list[ArticleItem]:
    return [ArticleItem(**row) for row in truth_rows()]


def open_pipelines(crawler: Crawler) -> tuple[DedupePipeline, StorePipeline]:
    dedupe = DedupePipeline.from_crawler(crawler)
    store = StorePipeline.from_crawler(crawler)
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=crawler.spider)
    dedupe.open_spider()
    store.open_spider()
    return dedupe, store


def pretend_fetched(crawler: Crawler, pages: int = 106, listings: int = 14) -> None:
    crawler.stats.set_value("downloader/response_count", pages + listings)
    crawler.stats.set_value("finews/pages", pages)
    crawler.stats.set_value("finews/listing_pages", listings)
