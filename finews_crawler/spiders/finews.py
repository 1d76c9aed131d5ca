"""`scrapy crawl finews`: the whole site.

Categories are discovered from `/`, `/feed.xml`, `/emnews/` and the back links inside articles;
every category page is crawled. Articles seen only on `/` or in the feed wait until the
category pages are done, so that each is requested from the listing that names its category.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request

from finews_crawler import site
from finews_crawler.spiders.base import FinewsSpider

START_PATHS = ("/", "/feed.xml", "/emnews/")


class SiteSpider(FinewsSpider):
    name = "finews"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seen_categories: set[str] = set()
        self.deferred_articles: dict[str, None] = {}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_deferred_articles, signal=signals.spider_idle)
        return spider

    def start_paths(self) -> Iterable[str]:
        # Categories stored before are listed at once: on a rerun no article page leads to them.
        categories = [
            site.category_path(slug)
            for slug in sorted(self.stored_categories)
            if self.wants_category(slug)
        ]
        return [*START_PATHS, *categories]

    def wants_category(self, slug: str) -> bool:
        if slug in self.seen_categories:
            return False
        self.seen_categories.add(slug)
        return True

    def follow_articles(self, paths: Iterable[str], category: str | None) -> Iterator[Request]:
        if category is not None:
            yield from super().follow_articles(paths, category)
            return
        # `/` and the feed name no category: keep their articles until the category pages ran.
        self.deferred_articles.update(dict.fromkeys(paths))

    def request_deferred_articles(self) -> None:
        """On idle: request the articles that no category page listed."""
        pending = [path for path in self.deferred_articles if path not in self.requested_articles]
        if pending and self.others_busy():
            raise DontCloseSpider  # a shared run: other workers' category pages may list them
        self.deferred_articles.clear()
        for path in pending:
            self.queue_article(path, None)
        self.schedule_released()
