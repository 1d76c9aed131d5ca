"""One fetched page as every reader sees it, and the record a reader builds from it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from lxml import etree
from parsel import Selector

from finews_crawler import site
from finews_crawler.items import ArticleItem
from finews_crawler.parsing.readers.content import PostContent, categories


class Page:
    """The page's text and URL; its document is parsed once, and only by a reader that needs it."""

    def __init__(self, html: str, url: str, listing_categories: Sequence[str] = ()) -> None:
        self.html = html
        self.url = url
        self.path = unquote(urlsplit(url).path)
        self.listing_categories = list(listing_categories)

    @cached_property
    def document(self) -> etree._Element:
        """The whole page, parsed (the root `html` element)."""
        return Selector(text=self.html, type="html").root


class Reader:
    """A reader of one page layout: `read` gives the article or None when the page is not in
    its layout (a cheap check comes first, so a page in another layout costs little)."""

    #: A short stable name, stored with every item the reader reads (`ArticleItem.layout`).
    name: ClassVar[str]

    def read(self, page: Page) -> ArticleItem | None:
        raise NotImplementedError


def article_item(
    page: Page,
    content: PostContent,
    *,
    title: str,
    published_at: str | None,
    tags: list[str],
    page_categories: Sequence[str] = (),
) -> ArticleItem:
    """The record of an article page: what the layout says (title, date, tags) and what the
    post's content says (every body field, the category of its back link)."""
    share_url = content.share_url()
    return ArticleItem(
        info_code=site.info_code_from_path(page.path)
        or site.info_code_from_share_url(share_url or ""),
        url=page.path,
        name=site.post_name_from_path(page.path),
        title=title,
        published_at=published_at,
        categories=categories(
            content.back_link_category(), page.listing_categories, page_categories, page.path
        ),
        tags=tags,
        media=content.media(),
        digest=content.digest(),
        body_html=content.body_html(),
        body_text=content.body_text(),
        share_url=share_url,
        upstream_url=content.upstream_url(),
        stocks=content.stocks(),
        images=content.images(),
    )
