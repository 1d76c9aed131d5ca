"""The link-only baseline of `bench/run.py`: the site spider minus the article work.

Same start pages, same listing parsing, the same policy of what to fetch next and the same
requests, share links included; but an article page is only counted and its links read (its
category back links, so the same category pages are found): no article parsing, no item, no
database write (its database stays empty, so every article is requested). The bench runs it with
ITEM_PIPELINES={}; the full crawl's page rate is measured against this one's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy.http import Response, TextResponse

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.listing import parse_listing
from finews_crawler.spiders.finews import SiteSpider

_SHARE_LINK_RE = re.compile(r'href="([^"]*NewsShare\.html\?infoCode=[^"]*)"')


class LinkOnlySpider(SiteSpider):
    name = "finews_linkonly"

    def parse_article(self, response: Response) -> Iterator[Any]:
        self.article_settled()
        yield from self.release_articles()
        self.crawler.stats.inc_value("finews/pages")
        if not isinstance(response, TextResponse):
            return
        listing = parse_listing(response.text, response.url, self.base_url)
        # The back link of an emnews page is `/emnews/`, not a category page: its category
        # is the path's first segment, as the parser would say.
        first = unquote(urlsplit(response.url).path).split("/")[1]
        firsts = [first] if first == "emnews" else []
        yield from self.follow_categories([*firsts, *listing.category_slugs])
        share = _SHARE_LINK_RE.search(response.text)
        if share:
            stub = ArticleItem(None, urlsplit(response.url).path, None, "", None)
            stub.share_url = share.group(1)
            request = self.share_request(stub)
            if request is not None:
                yield request

    def parse_share(self, response: Response) -> Iterator[Any]:
        self.crawler.stats.inc_value("finews/share/fetched")
        return iter(())

    def share_failed(self, failure: Any) -> Iterator[Any]:
        return iter(())
