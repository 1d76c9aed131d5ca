"""What a page says about itself in its head: JSON-LD, `og:`/`article:` meta and `<title>`.

A redesign keeps these more often than any markup: jekyll-seo-tag writes them whatever the theme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from finews_crawler.parsing.html_text import WHITESPACE

#: The site's name, which a page without a title of its own shows in its stead.
SITE_TITLE = "金融消息"
_ARTICLE_TYPES = ("Article", "BlogPosting", "Posting", "Report")
TITLE_SEPARATORS = ("|", "-", "–", "—", "·", "_", "::", "»", "｜")


@dataclass
class Metadata:
    titles: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    site_names: set[str] = field(default_factory=lambda: {SITE_TITLE})
    is_article: bool = False

    def title(self) -> str | None:
        """The first title that is not the site's name (a post without a title shows that)."""
        return next((t for t in self.titles if t and t not in self.site_names), None)

    def description(self) -> str | None:
        return next((d for d in self.descriptions if d), None)


def read_metadata(document: etree._Element) -> Metadata:
    meta = Metadata()
    properties: dict[str, list[str]] = {}
    for element in document.iter("meta"):
        key = (element.get("property") or element.get("name") or "").strip().lower()
        value = _clean(element.get("content"))
        if key and value:
            properties.setdefault(key, []).append(value)
    meta.site_names.update(properties.get("og:site_name", ()))
    titles: list[list[str]] = []  # JSON-LD's first, then og:/twitter: meta
    for data in _json_ld_objects(document):
        kind = data.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(isinstance(k, str) and k.endswith(_ARTICLE_TYPES) for k in kinds):
            continue
        meta.is_article = True
        titles.append(_strings(data.get("headline"), data.get("name")))
        meta.descriptions += _strings(data.get("description"))
        meta.published += _strings(data.get("datePublished"))
        meta.sections += _strings(data.get("articleSection"))
        meta.tags += _keywords(data.get("keywords"))
    meta.is_article |= "article" in properties.get("og:type", ())
    # The site's layout writes an og:title of its own before jekyll-seo-tag's: the last wins.
    titles.append([*reversed(properties.get("og:title", [])), *properties.get("twitter:title", [])])
    # Themes suffix the site's name to the title in any source ("Title | 金融消息"), not only
    # in `<title>`; a title that is nothing but the separator and the name is empty.
    meta.titles += [_without_site_suffix(t, meta.site_names) for group in titles for t in group]
    meta.titles += [_without_site_name(_clean(t.text), meta.site_names) for t in _titles(document)]
    meta.descriptions += properties.get("og:description", []) + properties.get("description", [])
    meta.published += properties.get("article:published_time", [])
    meta.sections += properties.get("article:section", [])
    meta.tags += properties.get("article:tag", [])
    return meta


def _titles(document: etree._Element) -> Iterator[etree._Element]:
    heads = document.findall("head")
    yield from heads[0].iter("title") if heads else ()


def _without_site_name(title: str, site_names: set[str]) -> str:
    """`Title | 金融消息` -> `Title`. A title that opens with the site name is the site's own
    (`金融消息 | <site description>`, what a page without a title shows) -> ``."""
    if any(title.startswith(name) for name in site_names):
        return ""
    return _without_site_suffix(title, site_names)


def _without_site_suffix(title: str, site_names: set[str]) -> str:
    """`Title | 金融消息` -> `Title`; `- 金融消息` -> ``; any other title as it is."""
    for name in site_names:
        if not title.endswith(name):
            continue
        rest = title[: -len(name)].rstrip()
        for separator in TITLE_SEPARATORS:
            if rest.endswith(separator):
                return rest.removesuffix(separator).strip()
    return title


def _json_ld_objects(document: etree._Element) -> Iterator[dict]:
    for script in document.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    stack.extend(reversed(item["@graph"]))


def _clean(value: object) -> str:
    return WHITESPACE.sub(" ", value).strip() if isinstance(value, str) else ""


def _strings(*values: object) -> list[str]:
    return [text for value in values if (text := _clean(value))]


def _keywords(value: object) -> list[str]:
    words = (
        value
        if isinstance(value, list)
        else re.split(r"[,，]", value or "")
        if isinstance(value, str)
        else []
    )
    return [text for word in words if (text := _clean(word))]
