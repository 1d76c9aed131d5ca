"""Page readers, one per known post layout, tried in order (as Fundus keeps versioned parsers).

| reader | reads |
| --- | --- |
| `jekyll-minimal-2022` (`jekyll_minimal.py`) | the site's post layout (and its earlier rendering) |
| `no-layout` (`no_layout.py`) | a post served without layout (broken front matter) |
| `generic` (`generic.py`) | any other layout: from metadata and the post's own content markers |

Every reader finds the post's rendered Markdown in its layout and hands it to the shared
cleaning (`content.py`), so a field means the same whichever reader read the page. The item
says which reader read it (`ArticleItem.layout`).

`read_article` raises `LayoutRefused` for a page whose URL has the article shape but that no
reader accepts (the site's layout changed?); `parsing.article.parse_article` gives None then.
"""

from __future__ import annotations

from collections.abc import Sequence

from finews_crawler import site
from finews_crawler.items import ArticleItem
from finews_crawler.parsing.readers.generic import GenericReader
from finews_crawler.parsing.readers.jekyll_minimal import JekyllMinimalReader
from finews_crawler.parsing.readers.no_layout import NoLayoutReader
from finews_crawler.parsing.readers.page import Page, Reader

#: The readers in the order they are tried: known layouts first, the generic reader last.
READERS: tuple[Reader, ...] = (JekyllMinimalReader(), NoLayoutReader(), GenericReader())
#: The reason a refused page is quarantined with.
REFUSED_REASON = "no known page layout reads this article page (the site's layout changed?)"


class LayoutRefused(ValueError):
    """An article-shaped URL whose page no reader accepts."""


def read_article(
    html: str,
    url: str,
    listing_categories: Sequence[str] = (),
    readers: Sequence[Reader] = READERS,
) -> ArticleItem | None:
    """The article a page shows, read by the first reader that accepts it; None when the URL
    is not an article's; `LayoutRefused` when it is, but no reader accepts the page."""
    page = Page(html, url, listing_categories)
    if not site.is_article_path(page.path):
        return None
    for reader in readers:
        item = reader.read(page)
        if item is not None:
            item.layout = reader.name
            return item
    raise LayoutRefused(REFUSED_REASON)
