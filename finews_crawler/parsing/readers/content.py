"""What every reader does once it has found the post's rendered Markdown: the shared cleaning.

A post's Markdown, whatever layout wraps it, renders to the same blocks in the same order:

    [<blockquote> digest </blockquote>]                  (emnews posts)
    body blocks ... [<p class="em_media">（文章来源：X）</p>]
    <p><a href=share-or-upstream>url</a></p>  or  <p>&lt;&gt;</p>
    [<p><a>返回X新闻</a>｜<a>返回首页</a></p>]          (one line, two lines, or relative links)

A reader hands `PostContent` those blocks (top-level elements, in page order, without the
layout's title, date or tags); `PostContent` sorts them and gives every body field, so each
field means the same whichever layout the page was in. `categories` and `tags_from_line` are
the other rules the readers share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urljoin, urlsplit

from lxml import etree

from finews_crawler import site
from finews_crawler.items import StockMention
from finews_crawler.parsing.html_text import (
    element_text,
    image_urls,
    inline_text,
    is_element,
    outer_html,
)
from finews_crawler.parsing.securities import stock_mentions

MEDIA_CLASS = "em_media"
_MEDIA_RE = re.compile(r"^\s*[（(]\s*文章来源\s*[:：]\s*(?P<media>.*?)\s*[）)]\s*$", re.DOTALL)
_LEADING_DOTS_RE = re.compile(r"^(?:\.\.?/)+")
#: `tags: A - B` (today's layout), `Tags: A, B`, `标签：A、B`: the words after the label.
TAGS_LINE_RE = re.compile(r"^\s*(?:tags?|标签)\s*[:：]\s*(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_TAG_SEPARATORS_RE = re.compile(r"\s+-\s+|[,，、;；|｜/]|\s+")
#: What the post's Markdown renders its lines as. Some themes rewrite the post's paragraphs
#: into `<div>`s: the generic reader takes those too (`LOOSE_PARAGRAPHS`), the known layouts not.
PARAGRAPHS: tuple[str, ...] = ("p",)
LOOSE_PARAGRAPHS: tuple[str, ...] = ("p", "div")
_BLOCK_CHILDREN = frozenset({"p", "div", "blockquote", "ul", "ol", "table", "section", "article"})
BACK_LINK_TEXT = "返回"
EMPTY_LINK_TEXT = "<>"
_LINE_SEPARATORS = " ｜|\n"


def is_paragraph(node: etree._Element, paragraphs: Sequence[str] = PARAGRAPHS) -> bool:
    """A line of the post: a `<p>`, or (loosely) a `<div>` holding no blocks of its own."""
    tag = node.tag.lower()
    if tag == "p":
        return True
    return tag in paragraphs and not any(
        is_element(child) and child.tag.lower() in _BLOCK_CHILDREN for child in node
    )


def is_back_link_line(node: etree._Element, paragraphs: Sequence[str] = PARAGRAPHS) -> bool:
    """A paragraph of back links only: `返回X新闻` / `返回首页` links and separators."""
    if not is_paragraph(node, paragraphs):
        return False
    links = node.findall(".//a")
    # Cheap first: a body paragraph rarely opens with a link, let alone a `返回` one.
    if not links or not (links[0].text or "").lstrip().startswith(BACK_LINK_TEXT):
        return False
    if not all(inline_text(a).startswith(BACK_LINK_TEXT) for a in links):
        return False
    leftover = element_text([node])
    for a in links:
        leftover = leftover.replace(inline_text(a), "", 1)
    return leftover.strip(_LINE_SEPARATORS) == ""


def is_link_line(node: etree._Element, paragraphs: Sequence[str] = PARAGRAPHS) -> bool:
    """A paragraph that is just the share or upstream URL (as a link), or the text `<>`."""
    if not is_paragraph(node, paragraphs):
        return False
    links = node.findall(".//a")
    if not links:
        return len(node) == 0 and (node.text or "").strip() == EMPTY_LINK_TEXT
    href = (links[0].get("href") or "").strip()
    return len(links) == 1 and bool(href) and inline_text(node) == href


def media_of(node: etree._Element) -> str | None:
    """The 文章来源 of an `em_media` paragraph (spans flattened), or None for other nodes."""
    if MEDIA_CLASS not in (node.get("class") or "").split():
        return None
    text = inline_text(node)
    match = _MEDIA_RE.match(text)
    return match.group("media").strip() if match else text


def category_of_back_link(href: str, page_url: str) -> str | None:
    """The category slug a back link points to (exact case), or None."""
    # Relative back links (`../emnews/`) were written relative to the site root.
    href = _LEADING_DOTS_RE.sub("/", href.strip())
    return site.listing_category(urlsplit(urljoin(page_url, href)).path)


def tags_from_line(text: str) -> list[str] | None:
    """The words of a `tags:` / `标签：` line, or None when `text` is no such line."""
    match = TAGS_LINE_RE.match(text)
    if match is None:
        return None
    return [word for word in _TAG_SEPARATORS_RE.split(match.group("rest")) if word]


def categories(
    back_link_category: str | None,
    listing_categories: Sequence[str],
    page_categories: Sequence[str],
    path: str,
) -> list[str]:
    """From the back link (exact case), else the listing that linked the page, else what the
    page marks as its category, else the URL (lower-cased, as Jekyll writes it)."""
    if back_link_category:
        return back_link_category.split()
    if listing_categories:
        return list(listing_categories)
    if page_categories:
        return list(page_categories)
    return site.path_categories(path) or []


class PostContent:
    """The post's rendered Markdown, sorted into digest, body, media, link lines and back links."""

    def __init__(
        self,
        nodes: Iterable[etree._Element],
        page_url: str,
        paragraphs: Sequence[str] = PARAGRAPHS,
    ) -> None:
        self.page_url = page_url
        self.digest_node: etree._Element | None = None
        self.media_node: etree._Element | None = None
        self.link_lines: list[etree._Element] = []
        self.back_link_lines: list[etree._Element] = []
        self.body_nodes: list[etree._Element] = []
        for node in nodes:
            if not is_element(node):
                continue
            if node.tag.lower() == "blockquote" and not self.body_nodes and not self.digest_node:
                self.digest_node = node
            elif is_back_link_line(node, paragraphs):
                self.back_link_lines.append(node)
            elif is_link_line(node, paragraphs):
                self.link_lines.append(node)
            else:
                if self.media_node is None and media_of(node) is not None:
                    self.media_node = node
                self.body_nodes.append(node)

    def __bool__(self) -> bool:
        return bool(self.body_nodes or self.digest_node is not None or self.link_lines)

    def back_link_category(self) -> str | None:
        for line in self.back_link_lines:
            for link in line.findall(".//a"):
                category = category_of_back_link(link.get("href") or "", self.page_url)
                if category:
                    return category
        return None

    def digest(self) -> str | None:
        if self.digest_node is None:
            return None
        return element_text([self.digest_node]) or None

    def media(self) -> str | None:
        return media_of(self.media_node) if self.media_node is not None else None

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

    def stocks(self) -> list[StockMention]:
        return stock_mentions(self._text_nodes())

    def images(self) -> list[str]:
        return image_urls(self.body_nodes, self.page_url)
