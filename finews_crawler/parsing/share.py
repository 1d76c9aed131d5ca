"""Share pages (`NewsShare.html?infoCode=...`) -> what the share host says. Pure.

The share host answered with a small page about the article: its title and its text. The live
host is gone, so most answers are errors; a mirror (or a revived host) serves the page. The
spider fetches it and copies this record onto the item (`share_status`, `share_title`,
`share_text`); the article never depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsel import Selector

from finews_crawler.parsing.html_text import element_text

#: The share text kept (characters): the page repeats the article, nothing more is needed.
SHARE_TEXT_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class SharePage:
    """What a share answer said: `status` is `fetched`, `fetched: not text` or `http <code>`;
    title and text only when the page was fetched and holds them."""

    status: str
    title: str | None = None
    text: str | None = None


def read_share_page(http_status: int, document: str | None) -> SharePage:
    """The record of one share answer: its HTTP status and its decoded text (None when the
    answer was not a text document)."""
    if http_status != 200:
        return SharePage(f"http {http_status}")
    if document is None:
        return SharePage("fetched: not text")
    selector = Selector(text=document, type="html")
    title = (selector.xpath("//title/text()").get() or "").strip() or None
    bodies = selector.xpath("//body")
    text = element_text([bodies[0].root]) if bodies else ""
    return SharePage("fetched", title, text[:SHARE_TEXT_LIMIT] or None)
