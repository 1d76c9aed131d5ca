"""Validation: an item that is not a complete article is quarantined with its reason, not lost.

Checks what downstream code relies on (a site article URL, a well-formed infoCode that matches
the URL, a publication instant, a category, some content, bounded sizes). A failing item is
raised as `QuarantineItem`; the store pipeline records it (URL, reason, excerpt, run). Empty
titles are valid (the site has them) and only counted.

Settings: FINEWS_MAX_BODY_CHARS (default 2,000,000) bounds body_html.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING

from finews_crawler import defaults, site
from finews_crawler.items import ArticleItem
from pipelines.errors import QuarantineItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def problems(item: ArticleItem, max_body_chars: int) -> list[str]:
    """Every reason the item cannot be stored; empty when it is a valid article."""
    found: list[str] = []
    if item.parse_error:
        found.append(f"unreadable page: {item.parse_error}")
    if not site.is_article_path(item.url or ""):
        found.append(f"not an article URL: {item.url!r}")
    url_code = site.info_code_from_path(item.url or "")
    if item.info_code is not None and not site.is_valid_info_code(item.info_code):
        found.append(f"malformed infoCode {item.info_code!r}")
    elif item.info_code and url_code and item.info_code != url_code:
        found.append(f"infoCode {item.info_code} does not match the URL's {url_code}")
    elif item.info_code and not _is_date(item.info_code[2:10]):
        found.append(f"infoCode {item.info_code} does not start with a date")
    if not item.published_at:
        found.append("no publication date")
    elif not _is_aware_instant(item.published_at):
        found.append(f"publication date {item.published_at!r} is not ISO 8601 with an offset")
    if not item.categories:
        found.append("no category")
    if not (item.body_text or "").strip() and not item.images:
        found.append("empty body")
    if len(item.body_html or "") > max_body_chars:
        found.append(f"body of {len(item.body_html)} characters exceeds {max_body_chars}")
    return found


def _is_date(digits: str) -> bool:
    """`yyyymmdd` names a real day (without strptime, whose format parsing is slow per item)."""
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def _is_aware_instant(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


class ValidatePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.max_body_chars = crawler.settings.getint(
            "FINEWS_MAX_BODY_CHARS", defaults.MAX_BODY_CHARS
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: ArticleItem, spider=None) -> ArticleItem:
        if not isinstance(item, ArticleItem):
            return item
        found = problems(item, self.max_body_chars)
        if found:
            self.stats.inc_value("finews/quarantined")
            raise QuarantineItem(
                "; ".join(found),
                url=item.url,
                excerpt=(item.title or "") + "\n" + (item.body_text or ""),
                info_code=item.info_code,
            )
        if not item.title:
            self.stats.inc_value("finews/empty_title")
        self.stats.inc_value("finews/valid")  # field coverage: the store pipeline's run stats
        return item
