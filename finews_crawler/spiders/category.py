"""`scrapy crawl category -a category=<slug>`: one category page and every article it lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from scrapy.http import Request, Response

from finews_crawler import site
from finews_crawler.spiders.base import FinewsSpider

#: Where else the site lists posts; read only when a category page lists none of its posts
#: (Jekyll splits a slug with a space into two categories, leaving that page's list empty).
FALLBACK_LISTINGS = ("/", "/feed.xml")


class CategorySpider(FinewsSpider):
    """Crawl one category. The slug may hold a space (`21shijijingjibaodao 21caijingAPP`)."""

    name = "category"
    category: str | None = None

    def __init__(self, *args: Any, category: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.category = (category or self.category or "").strip()
        if not self.category:
            raise ValueError("give the category to crawl: scrapy crawl category -a category=SLUG")
        # Post URLs start with the category words, lower-cased, one segment per word.
        self.url_categories = self.category.lower().split()

    def start_paths(self) -> Iterable[str]:
        return [site.category_path(self.category)]

    def wants_article(self, path: str) -> bool:
        return site.path_categories(path) == self.url_categories

    def parse_listing(self, response: Response) -> Iterator[Request]:
        requests = list(super().parse_listing(response))
        yield from requests
        if response.meta.get("fallback") or self.requested_articles:
            return
        self.logger.info("%s lists none of its posts; reading the other listings", response.url)
        for path in FALLBACK_LISTINGS:
            yield self.listing_request(path, category=self.category, fallback=True)
