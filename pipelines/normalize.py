"""Normalization: text fields hold plain text, lists hold each value once.

The parsers already return text, but a page may carry markup as text (an escaped `<script>` in a
title, say). Tags with HTML names and whole script/style blocks are removed from every text
field; angle brackets that are not tags (《<蒙特利尔议定书>》, `<>`) are kept. Control characters
are dropped, and categories, tags, images and stocks are de-duplicated in order. Stock mentions
whose market is not known (no symbol: `parsing.securities`) are counted as
`finews/stocks/unknown_market`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from finews_crawler.items import ArticleItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

TEXT_FIELDS = ("title", "media", "digest", "body_text", "share_title", "share_text")
_SCRIPT_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value: str | None) -> str | None:
    if value is None:
        return None
    without_markup = _HTML_TAG.sub("", _SCRIPT_BLOCK.sub("", value))
    return _CONTROL.sub("", without_markup)


def unique(values: list) -> list:
    kept: list = []
    for value in values:
        if value not in kept:
            kept.append(value)
    return kept


class NormalizePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem, spider=None) -> ArticleItem:
        if not isinstance(item, ArticleItem):
            return item
        for field in TEXT_FIELDS:
            value = getattr(item, field)
            cleaned = plain_text(value)
            if cleaned != value:
                self.stats.inc_value(f"finews/normalized/{field}")
                setattr(item, field, cleaned.strip() if field != "body_text" else cleaned)
        item.categories = unique([plain_text(c).strip() for c in item.categories if c])
        item.tags = unique([plain_text(t).strip() for t in item.tags if plain_text(t).strip()])
        item.images = unique(item.images)
        item.stocks = unique(item.stocks)
        unknown = sum(1 for stock in item.stocks if not stock.get("symbol"))
        if unknown:
            self.stats.inc_value("finews/stocks/unknown_market", unknown)
        return item
