"""Dedupe pipeline: the feed (`-O`) gets each article once per run, the store gets every page.

An article is identified as the store identifies it (`finews_crawler.store.merge.article_key`:
the infoCode, or the page URL for a post without one). The first page of an article in a run
passes; a later page of the same article is counted (`finews/duplicate`) and, when
FINEWS_FEED_UNIQUE is true (the default), dropped with `DuplicateItem`.

Why dropping does not lose the page: DropItem stops the pipelines after this one, so the store
pipeline (400) would never see the item. Instead the store pipeline listens to Scrapy's
`item_dropped` signal and merges every item dropped with `DuplicateItem` into the stored article
(its categories, tags and page URL). This keeps the dedupe concern here, the storage concern in
the store pipeline, and needs no reference from one pipeline to the other; with the store
pipeline disabled, duplicates simply leave the feed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter

from finews_crawler import defaults
from finews_crawler.store.merge import article_key
from pipelines.errors import DuplicateItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class DedupePipeline:
    """Passes each article once per run; later pages of it leave the feed as `DuplicateItem`."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.feed_unique = crawler.settings.getbool("FINEWS_FEED_UNIQUE", defaults.FEED_UNIQUE)
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.seen = set()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        key = article_key(adapter)
        if key is None:
            return item
        if key not in self.seen:
            self.seen.add(key)
            return item
        self.stats.inc_value("finews/duplicate")
        if self.feed_unique:
            raise DuplicateItem(key, adapter.get("url"))
        return item
