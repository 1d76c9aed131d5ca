"""Helpers shared by the parsers: text and images from article HTML.

Everything works on lxml elements (parsel's `Selector.root`), so the HTML page parser and the
Markdown post parser read bodies the same way.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from urllib.parse import urljoin

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
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "poster"})
_UNSAFE_URL = re.compile(r"\s*(javascript|vbscript|data\s*:\s*text/html)", re.IGNORECASE)
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


def _sanitized_copy(node: etree._Element) -> etree._Element:
    """A copy without scripts, comments, event handlers or `javascript:` URLs."""
    clone = copy.deepcopy(node)
    clone.tail = None
    for child in list(clone.iterdescendants()):
        if not is_element(child) or child.tag.lower() in _SKIPPED_TAGS:
            child.drop_tree()  # keeps the text that follows it
    for element in clone.iter():
        if not is_element(element):
            continue
        for name, value in list(element.attrib.items()):
            lowered = name.lower()
            if lowered.startswith("on") or (
                lowered in _URL_ATTRIBUTES and _UNSAFE_URL.match(value or "")
            ):
                del element.attrib[name]
    return clone


def outer_html(nodes: Iterable[etree._Element]) -> str:
    """Sanitized HTML of elements (without their tails), one per line."""
    pieces = [
        html.tostring(_sanitized_copy(node), encoding="unicode", with_tail=False).strip()
        for node in nodes
        if is_element(node) and node.tag.lower() not in _SKIPPED_TAGS
    ]
    return "\n".join(piece for piece in pieces if piece)


def squeeze(text: str | None) -> str:
    """Text with every whitespace character removed: how body texts are compared."""
    return WHITESPACE.sub("", text or "")
