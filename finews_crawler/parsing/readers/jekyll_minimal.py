"""The site's post layout since it opened (Jekyll 4.3.1, the Minimal theme's wrapper, 2021-2022).

    <section>
      <small>(GMT+8, Asia/Shanghai, CST) yyyy-mm-dd HH:MM:SS</small>
      <h1>title</h1>
      the post's rendered Markdown (see `readers.content`)
      <small>tags: <em>A</em> - <em>B</em></small>
    </section>

The head is broken on every page: `og:description` holds the raw body, its first `"` ends the
attribute, and the rest of the body spills into the DOM before the real content. So only the
last `<section>` that opens with the date line is the article, and only that section is parsed
(half the work on every page). The earlier rendering (`tests/fixtures/site_prev`) is this same
markup; its pages differ in what the posts say (dates 8 hours later, relative back links).
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree
from parsel import Selector

from finews_crawler import site
from finews_crawler.items import ArticleItem
from finews_crawler.parsing.html_text import inline_text, is_element
from finews_crawler.parsing.readers.content import TAGS_LINE_RE, PostContent
from finews_crawler.parsing.readers.page import Page, Reader, article_item

_SECTION_START_RE = re.compile(r"<section\b[^>]*>", re.IGNORECASE)
_DATE_LINE_RE = re.compile(r"GMT\+8.*?(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})")
#: How far into a section its date line must appear.
_DATE_LINE_WINDOW = 600


class JekyllMinimalReader(Reader):
    name = "jekyll-minimal-2022"
    SECTION_XPATH = "//section[small[contains(., 'GMT+8')]]"

    def read(self, page: Page) -> ArticleItem | None:
        text = post_section(page.html)
        if text is None:
            return None
        sections = Selector(text=text, type="html").xpath(self.SECTION_XPATH)
        if not sections:
            return None
        date_node = title_node = tags_node = None
        nodes: list[etree._Element] = []
        for node in sections[-1].root:
            if not is_element(node):
                continue
            tag = node.tag.lower()
            if tag == "small" and date_node is None:
                date_node = node
            elif tag == "h1" and title_node is None:
                title_node = node
            elif tag == "small" and TAGS_LINE_RE.match(inline_text(node)):
                tags_node = node
            elif title_node is not None and tags_node is None:
                nodes.append(node)  # before the title is layout; after the tags line, too
        published_at = _shown_date(date_node)
        if title_node is None or published_at is None:
            return None  # not this layout, or not intact: another reader tries
        return article_item(
            page,
            PostContent(nodes, page.url),
            title=inline_text(title_node),
            published_at=published_at,
            tags=_tags(tags_node),
        )


def post_section(html: str) -> str | None:
    """The post's `<section>` (the last one that opens with the date line), as text, or None."""
    starts = [match.start() for match in _SECTION_START_RE.finditer(html)]
    for start in reversed(starts):
        head = html[start : start + _DATE_LINE_WINDOW]
        if "GMT+8" not in head:
            continue
        end = html.find("</section>", start)
        return html[start : end + len("</section>")] if end >= 0 else html[start:]
    return None


def _shown_date(node: etree._Element | None) -> str | None:
    match = _DATE_LINE_RE.search(inline_text(node)) if node is not None else None
    if match is None:
        return None
    shown = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
    return shown.replace(tzinfo=site.SITE_TZ).isoformat()


def _tags(node: etree._Element | None) -> list[str]:
    if node is None:
        return []
    return [tag for em in node.iter("em") if (tag := inline_text(em))]
