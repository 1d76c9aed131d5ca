"""Article pages of the finews site -> `ArticleItem`. Pure: HTML in, a record out.

The page readers (one per known layout, then a layout-independent one) live in
`finews_crawler.parsing.readers`; this module is the entry point the crawl and the post reader
call.
"""

from __future__ import annotations

from collections.abc import Sequence

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.readers import LayoutRefused, read_article


def parse_article(
    html: str, url: str, listing_categories: Sequence[str] = ()
) -> ArticleItem | None:
    """The article a page shows, or None when the page is not an article (listing, 404...).

    `read_article` tells the two kinds of None apart: it raises `LayoutRefused` for an
    article URL whose page no reader accepts.
    """
    try:
        return read_article(html, url, listing_categories)
    except LayoutRefused:
        return None
