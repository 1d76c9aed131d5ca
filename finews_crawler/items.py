"""The records that flow from the parsers through the pipelines into the store.

`ArticleItem` is a plain dataclass: itemadapter (and so Scrapy's feed exports and pipelines)
handles it natively, and the pure parsers can build it without importing Scrapy. What each field
holds is defined in the README ("The article record").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict


class StockMention(TypedDict):
    market: str
    code: str
    name: str


@dataclass
class ArticleItem:
    info_code: str | None
    url: str
    name: str | None
    title: str
    published_at: str | None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    media: str | None = None
    digest: str | None = None
    body_html: str = ""
    body_text: str = ""
    share_url: str | None = None
    upstream_url: str | None = None
    stocks: list[StockMention] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    crawled_at: str | None = None
    share_status: str | None = None
    share_title: str | None = None
    share_text: str | None = None
    #: The page layout (reader) that read the page: a known layout's name, or `generic`.
    layout: str | None = None
    #: Set by the spider when a page could not be read; validation quarantines such items.
    parse_error: str | None = None
