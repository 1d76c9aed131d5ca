"""How pipelines and spiders hand items and pages to the store without holding a reference to it.

The store pipeline (`pipelines.store.StorePipeline`) listens to Scrapy's `item_dropped` signal:

- `QuarantineItem`: raise it from any pipeline to drop an item that must not be stored; the store
  pipeline records it in the quarantine table (URL, reason, bounded excerpt, time, crawl run).
  Whoever raises it counts `finews/quarantined` (the validate pipeline does).
- `DuplicateItem`: raised by the dedupe pipeline for a later page of an article already sent to
  the feed in this run. The item leaves the feed, but the store pipeline still merges it into the
  stored article (its categories, tags and page URL), so nothing is lost.

Spiders quarantine pages that yield no item by sending `finews_crawler.signals.page_quarantined`:
`crawler.signals.send_catch_log(page_quarantined, url=..., reason=..., excerpt=...)`; the store
pipeline records it and counts `finews/quarantined`.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem


class QuarantineItem(DropItem):
    """Drop an item and record it in quarantine with its reason and an excerpt."""

    def __init__(
        self,
        reason: str,
        url: str | None = None,
        excerpt: str | None = None,
        *,
        info_code: str | None = None,
        log_level: str | None = "WARNING",
    ) -> None:
        super().__init__(f"Quarantined {url or '(no URL)'}: {reason}", log_level=log_level)
        self.reason = reason
        self.url = url
        self.excerpt = excerpt
        self.info_code = info_code


class DuplicateItem(DropItem):
    """Drop a later page of an article from the feed; the store pipeline still merges it."""

    def __init__(
        self, key: str, url: str | None = None, *, log_level: str | None = "DEBUG"
    ) -> None:
        super().__init__(
            f"Article {key} already in this run's feed (page {url})", log_level=log_level
        )
        self.key = key
        self.url = url
