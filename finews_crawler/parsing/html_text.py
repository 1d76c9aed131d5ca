"""Helpers shared by the parsers: text, images and sanitized HTML of articles.

Everything works on lxml elements (parsel's `Selector.root`), so the HTML page parser and the
Markdown post parser read bodies the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin

import nh3
from lxml import etree, html

#: Elements whose text never belongs to an article.
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object"})
#: Elements that start a new line in the text.
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "blockquote", "li", "ul", "ol", "table", "tr", "h1", "h2", "h3", "h4",
        "h5", "h6", "pre", "section", "article", "figure", "figcaption", "dd", "dt", "hr",
    }
)  # fmt: skip
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")
WHITESPACE = re.compile(r"\s+")


def is_element(node: object) -> bool:
    """True for real elements (lxml gives comments and processing instructions a callable tag)."""
    return isinstance(node, etree._Element) and isinstance(node.tag, str)


def _walk_text(node: etree._Element, out: list[str]) -> None:
    tag = node.tag.lower() if is_element(node) else None
    if tag is not None and tag not in _SKIPPED_TAGS:
        if tag in _BLOCK_TAGS:
            out.append("\n")
        if tag == "br":
            out.append("\n")
        if node.text:
            out.append(node.text)
        for child in node:
            _walk_text(child, out)
        if tag in _BLOCK_TAGS:
            out.append("\n")
    if node.tail:
        out.append(node.tail)


def element_text(nodes: Iterable[etree._Element], *, with_tail: bool = False) -> str:
    """Readable text of elements: inline whitespace collapsed, one line per block."""
    parts: list[str] = []
    for node in nodes:
        tail = node.tail
        if not with_tail:
            node.tail = None
        _walk_text(node, parts)
        node.tail = tail
    text = _SPACES.sub(" ", "".join(parts).replace("\r", "").replace("\xa0", " "))
    return _BLANK_LINES.sub("\n", text).strip()


def inline_text(node: etree._Element) -> str:
    """Text of one element on one line (titles, media names, stock names)."""
    return WHITESPACE.sub(" ", element_text([node]).replace("\n", " ")).strip()


def image_urls(nodes: Iterable[etree._Element], page_url: str) -> list[str]:
    """Absolute http(s) URLs of the images in the body, each once, in page order."""
    urls: list[str] = []
    for node in nodes:
        if not is_element(node):
            continue
        for image in node.iter("img"):
            src = (image.get("src") or "").strip()
            absolute = urljoin(page_url, src) if src else ""
            if absolute.startswith(("http://", "https://")) and absolute not in urls:
                urls.append(absolute)
    return urls


#: What article HTML may hold: the markup of East Money's article bodies (text, stock and
#: sector mentions, K-line images, tables) and nothing that runs, loads or submits anything.
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "b", "em", "i", "u", "s", "span", "a", "img", "blockquote",
        "ul", "ol", "li", "dl", "dt", "dd", "table", "caption", "thead", "tbody", "tfoot", "tr",
        "th", "td", "h2", "h3", "h4", "h5", "h6", "pre", "code", "sub", "sup", "figure",
        "figcaption", "div", "center", "small",
    }
)  # fmt: skip
#: Attributes kept, per tag ("*": on every tag). No `style` (it can load URLs), no handlers.
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "data-code", "data-code2"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
#: `href`/`src` only on these schemes, or relative.
ALLOWED_URL_SCHEMES = frozenset({"http", "https"})
#: Dropped with everything inside them (other unknown tags are dropped, their text kept).
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math",
        "title", "textarea", "xmp", "noembed", "noframes", "select", "applet", "frameset",
    }
)  # fmt: skip
_SANITIZER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    strip_comments=True,
    link_rel=None,
)


def sanitize_html(markup: str) -> str:
    """Article HTML through the allow-list (nh3, the Ammonia sanitizer)."""
    return _SANITIZER.clean(markup)


def outer_html(nodes: Iterable[etree._Element]) -> str:
    """Sanitized HTML of elements (without their tails), one per line."""
    pieces = [
        html.tostring(node, encoding="unicode", with_tail=False).strip()
        for node in nodes
        if is_element(node) and node.tag.lower() not in _SKIPPED_TAGS
    ]
    return sanitize_html("\n".join(piece for piece in pieces if piece))


def squeeze(text: str | None) -> str:
    """Text with every whitespace character removed: how body texts are compared."""
    return WHITESPACE.sub("", text or "")
