"""Article pages of the finews site -> `ArticleItem`. Pure: HTML in, a record out.

The site's head is broken on every post page: `og:description` holds the raw body, its first `"`
ends the attribute, and the rest of the body spills into the DOM before the real content. So only
the `<section>` that carries the post's date line is the article; inside it the layout is

    <small>(GMT+8, Asia/Shanghai, CST) yyyy-mm-dd HH:MM:SS</small>
    <h1>title</h1>
    [<blockquote> digest </blockquote>]   (emnews posts)
    body paragraphs ... [<p class="em_media">（文章来源：X）</p>]
    <p><a href=share-or-upstream>...</a></p>  or  <p>&lt;&gt;</p>
    [<p><a>返回X新闻</a>｜<a>返回首页</a></p>]   (one line, two lines, or relative links)
    <small>tags: <em>A</em> - <em>B</em></small>

A page rendered without layout (broken front matter) is all body: it yields a record with what it
says (categories from its back link) and no date, which validation then quarantines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from urllib.parse import unquote, urljoin, urlsplit

from lxml import etree
from parsel import Selector

from finews_crawler import site
from finews_crawler.items import ArticleItem
from finews_crawler.parsing.html_text import (
    element_text,
    image_urls,
    inline_text,
    is_element,
    outer_html,
)
from finews_crawler.parsing.securities import stock_mentions

_DATE_LINE_RE = re.compile(r"GMT\+8.*?(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})")
_SECTION_START_RE = re.compile(r"<section\b[^>]*>", re.IGNORECASE)
#: How far into a section its date line must appear.
_DATE_LINE_WINDOW = 600
_TAGS_LINE_RE = re.compile(r"^\s*tags\s*:", re.IGNORECASE)
_MEDIA_RE = re.compile(r"^\s*[（(]\s*文章来源\s*[:：]\s*(?P<media>.*?)\s*[）)]\s*$", re.DOTALL)
_LEADING_DOTS_RE = re.compile(r"^(?:\.\.?/)+")
_BACK_LINK_TEXT = "返回"
_EMPTY_LINK_TEXT = "<>"


class ArticlePageParser:
    """Reads one article page. Field methods are small and independent; `parse` assembles."""

    SECTION_XPATH = "//section[small[contains(., 'GMT+8')]]"
    TITLE_META_XPATHS = ("//meta[@property='og:title']/@content", "//title/text()")
    PUBLISHED_META_XPATH = "//meta[@property='article:published_time']/@content"
    JSON_LD_XPATH = "//script[@type='application/ld+json']/text()"

    def __init__(self, html: str, url: str, listing_categories: Sequence[str] = ()) -> None:
        self.url = url
        self.path = unquote(urlsplit(url).path)
        self.listing_categories = list(listing_categories)
        self.html = html
        post_section = _post_section(html)
        # Parsing only the post's section skips the head and the body's spilled copy: half the
        # work on every page. The whole document is parsed when that is all there is.
        self.selector = Selector(text=post_section, type="html") if post_section else self.document
        sections = self.selector.xpath(self.SECTION_XPATH)
        # The spilled copy of the body comes first; the real section is the last one.
        self.section: etree._Element | None = sections[-1].root if sections else None
        self.has_layout = self.section is not None
        self._split_body()

    @cached_property
    def document(self) -> Selector:
        """The whole page, for the head's metadata (read only when the section lacks it)."""
        return Selector(text=self.html, type="html")

    # -- structure --------------------------------------------------------------------------

    def _split_body(self) -> None:
        """Sort the article's top-level nodes into digest, body, link lines and back links."""
        self.date_node = self.title_node = self.tags_node = self.digest_node = None
        self.media_node: etree._Element | None = None
        self.link_lines: list[etree._Element] = []
        self.back_link_lines: list[etree._Element] = []
        self.body_nodes: list[etree._Element] = []
        container = self.section if self.has_layout else self._layoutless_body()
        if container is None:
            return
        nodes = [node for node in container if is_element(node)]
        for node in nodes:
            tag = node.tag.lower()
            if self.has_layout and tag == "small" and self.date_node is None:
                self.date_node = node
            elif self.has_layout and tag == "h1" and self.title_node is None:
                self.title_node = node
            elif tag == "small" and _TAGS_LINE_RE.match(inline_text(node)):
                self.tags_node = node
            elif self.has_layout and self.title_node is None:
                continue  # anything before the title is layout, not article
            elif tag == "blockquote" and not self.body_nodes and self.digest_node is None:
                self.digest_node = node
            elif self._is_back_links(node):
                self.back_link_lines.append(node)
            elif self._is_link_line(node):
                self.link_lines.append(node)
            elif self.tags_node is None:
                if self.media_node is None and self._media_of(node) is not None:
                    self.media_node = node
                self.body_nodes.append(node)

    def _layoutless_body(self) -> etree._Element | None:
        bodies = self.selector.xpath("//body")
        return bodies[0].root if bodies else None

    @staticmethod
    def _is_back_links(node: etree._Element) -> bool:
        if node.tag.lower() != "p":
            return False
        links = node.findall(".//a")
        if not links or not all(inline_text(a).startswith(_BACK_LINK_TEXT) for a in links):
            return False
        leftover = element_text([node])
        for a in links:
            leftover = leftover.replace(inline_text(a), "", 1)
        return leftover.strip(" ｜|\n") == ""

    @staticmethod
    def _is_link_line(node: etree._Element) -> bool:
        """A paragraph that is just the share or upstream URL (as a link), or the text `<>`."""
        if node.tag.lower() != "p":
            return False
        text = inline_text(node)
        if text == _EMPTY_LINK_TEXT:
            return True
        links = node.findall(".//a")
        return len(links) == 1 and (links[0].get("href") or "").strip() == text and bool(text)

    @staticmethod
    def _media_of(node: etree._Element) -> str | None:
        if "em_media" not in (node.get("class") or "").split():
            return None
        text = inline_text(node)
        match = _MEDIA_RE.match(text)
        return match.group("media").strip() if match else text

    # -- fields -----------------------------------------------------------------------------

    def info_code(self) -> str | None:
        return site.info_code_from_path(self.path) or site.info_code_from_share_url(
            self.share_url() or ""
        )

    def title(self) -> str:
        if self.title_node is not None:
            return inline_text(self.title_node)
        if not self.has_layout:
            for xpath in self.TITLE_META_XPATHS:
                value = self.document.xpath(xpath).get()
                if value:
                    return value.split(" | ")[0].strip()
        return ""

    def published_at(self) -> str | None:
        if self.date_node is not None:
            match = _DATE_LINE_RE.search(inline_text(self.date_node))
            if match:
                shown = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
                return shown.replace(tzinfo=site.SITE_TZ).isoformat()
        return self._published_from_metadata()

    def _published_from_metadata(self) -> str | None:
        candidates = [self.document.xpath(self.PUBLISHED_META_XPATH).get()]
        for raw in self.document.xpath(self.JSON_LD_XPATH).getall():
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict):
                candidates.append(data.get("datePublished"))
        for value in candidates:
            try:
                return datetime.fromisoformat(value).astimezone(site.SITE_TZ).isoformat()
            except (TypeError, ValueError):
                continue
        return None

    def categories(self) -> list[str]:
        """From the back link (exact case), else the listing that linked here, else the URL."""
        for line in self.back_link_lines:
            for link in line.findall(".//a"):
                category = self._category_of_link(link.get("href") or "")
                if category:
                    return category.split()
        if self.listing_categories:
            return self.listing_categories
        return site.path_categories(self.path) or []

    def _category_of_link(self, href: str) -> str | None:
        # Relative back links (`../emnews/`) were written relative to the site root.
        href = _LEADING_DOTS_RE.sub("/", href.strip())
        return site.listing_category(urlsplit(urljoin(self.url, href)).path)

    def tags(self) -> list[str]:
        if self.tags_node is None:
            return []
        return [tag for em in self.tags_node.iter("em") if (tag := inline_text(em))]

    def digest(self) -> str | None:
        if self.digest_node is None:
            return None
        return element_text([self.digest_node]) or None

    def media(self) -> str | None:
        return self._media_of(self.media_node) if self.media_node is not None else None

    def _link_urls(self) -> list[str]:
        return [(a.get("href") or "").strip() for line in self.link_lines for a in line.iter("a")]

    def share_url(self) -> str | None:
        return next((url for url in self._link_urls() if site.is_share_url(url)), None)

    def upstream_url(self) -> str | None:
        return next((url for url in self._link_urls() if not site.is_share_url(url)), None)

    def _text_nodes(self) -> list[etree._Element]:
        return [node for node in self.body_nodes if node is not self.media_node]

    def body_html(self) -> str:
        return outer_html(self.body_nodes)

    def body_text(self) -> str:
        return element_text(self._text_nodes())

    def stocks(self) -> list:
        return stock_mentions(self._text_nodes())

    def images(self) -> list[str]:
        return image_urls(self.body_nodes, self.url)

    def is_article(self) -> bool:
        """A post page: the article URL shape, and either the post layout or a bare body."""
        if not site.is_article_path(self.path):
            return False
        if self.has_layout:
            return self.title_node is not None
        return bool(self.body_nodes) and not self.selector.xpath("//section")

    def parse(self) -> ArticleItem | None:
        if not self.is_article():
            return None
        return ArticleItem(
            info_code=self.info_code(),
            url=self.path,
            name=site.post_name_from_path(self.path),
            title=self.title(),
            published_at=self.published_at(),
            categories=self.categories(),
            tags=self.tags(),
            media=self.media(),
            digest=self.digest(),
            body_html=self.body_html(),
            body_text=self.body_text(),
            share_url=self.share_url(),
            upstream_url=self.upstream_url(),
            stocks=self.stocks(),
            images=self.images(),
        )


def _post_section(html: str) -> str | None:
    """The post's `<section>` (the last one that opens with the date line), as text, or None."""
    starts = [match.start() for match in _SECTION_START_RE.finditer(html)]
    for start in reversed(starts):
        head = html[start : start + _DATE_LINE_WINDOW]
        if "GMT+8" not in head:
            continue
        end = html.find("</section>", start)
        return html[start : end + len("</section>")] if end >= 0 else html[start:]
    return None


def parse_article(
    html: str, url: str, listing_categories: Sequence[str] = ()
) -> ArticleItem | None:
    """The article a page shows, or None when the page is not an article (listing, 404...)."""
    return ArticlePageParser(html, url, listing_categories).parse()
