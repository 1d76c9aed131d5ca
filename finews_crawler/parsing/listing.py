"""Listing pages (category pages, `/`, `/emnews/`, `/feed.xml`) -> the links they hold. Pure.

The site's listings are broken too: `/emnews/` renders its list as an escaped code block
(`&lt;a href="..."&gt;` as text), `/` holds an unrendered `{{ post.url }}`, and the feed carries
whole article bodies in CDATA. So links are read from every `href="..."` in the raw document,
wherever it stands, and kept only when they are one of the site's article or category pages.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from finews_crawler import site

_HREF_RE = re.compile(r"""href\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)')""", re.IGNORECASE)


@dataclass
class Listing:
    """What a listing page links to, as site paths, each once, in page order."""

    article_paths: list[str] = field(default_factory=list)
    category_slugs: list[str] = field(default_factory=list)


def parse_listing(document: str, url: str, base_url: str) -> Listing:
    listing = Listing()
    for match in _HREF_RE.finditer(document):
        href = html.unescape(match.group(1) if match.group(1) is not None else match.group(2))
        path = site.site_path(href, url, base_url)
        if path is None:
            continue
        slug = site.category_slug_from_path(path)
        if slug is not None:
            if slug not in listing.category_slugs:
                listing.category_slugs.append(slug)
        elif site.is_article_path(path) and path not in listing.article_paths:
            listing.article_paths.append(path)
    return listing
