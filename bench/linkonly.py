"""The link-only baseline of `bench/run.py`: the site spider minus the article work.

Same start pages, same listing parsing and the same policy of what to fetch next; an article
page is counted and only its links are read (its category from its path and the category back
links, with the listing parser, so the same category pages are found), no article parsing, no item, no share request; the
bench runs it with ITEM_PIPELINES={}. The full crawl's page rate is measured against this one's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy.http import Response, TextResponse

from finews_crawler.parsing.listing import parse_listing
from finews_crawler.spiders.finews import SiteSpider


class LinkOnlySpider(SiteSpider):
    name = "finews_linkonly"

    def load_stored_pages(self) -> frozenset[str]:
        return frozenset()  # no database: every article is requested

    def parse_article(self, response: Response) -> Iterator[Any]:
        self.crawler.stats.inc_value("finews/pages")
        if isinstance(response, TextResponse):
            listing = parse_listing(response.text, response.url, self.base_url)
            # The back link of an emnews page is `/emnews/`, not a category page: its category
            # is the path's first segment, as the parser would say.
            first = unquote(urlsplit(response.url).path).split("/")[1]
            firsts = [first] if first == "emnews" else []
            yield from self.follow_categories([*firsts, *listing.category_slugs])
