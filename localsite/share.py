"""The share page (`/html_News/NewsShare.html?infoCode=NW...`) of a host that is gone.

The live share host no longer answers; the local site plays it per `ShareMode`: "missing" (404,
the default), "ok" (a small page with the article's title and text when the root holds that
infoCode, else a generic page), "hang" (no answer until the server's `hang_seconds`, then the
connection closes) or "refuse" (the connection closes at once). `localsite.server` answers the
requests; this module says what an "ok" page holds.
"""

from __future__ import annotations

import html
import re
import threading
from enum import StrEnum
from pathlib import Path

from finews_crawler.site import normalize_info_code

_SECTION_RE = re.compile(r"<section>(.*?)</section>", re.S)
_H1_RE = re.compile(r"<h1>(.*?)</h1>", re.S)
_LINK_P_RE = re.compile(
    r"<p><a href=\"[^\"]*NewsShare[^\"]*\">.*?</p>|<p>(?:(?!</p>).)*?返回首页.*?</p>", re.S
)
_SMALL_RE = re.compile(r"<small>.*?</small>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")


class ShareMode(StrEnum):
    """How the share page (`/html_News/NewsShare.html`) answers."""

    MISSING = "missing"
    OK = "ok"
    HANG = "hang"
    REFUSE = "refuse"


class ArticleIndex:
    """The article pages of a site root by infoCode, indexed on the first look-up."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._index: dict[str, Path] | None = None

    def find(self, info_code: str) -> Path | None:
        """A page of the root whose file stem is this infoCode (NW... or the bare digits)."""
        with self._lock:
            if self._index is None:
                index: dict[str, Path] = {}
                for page in sorted(self.root.rglob("*.html")):
                    code = normalize_info_code(page.stem)
                    # Prefer the media page (NW...), which carries the share link.
                    if code and (code not in index or page.stem.startswith("NW")):
                        index[code] = page
                self._index = index
            return self._index.get(info_code)


def share_page(page: Path | None, info_code: str | None) -> bytes:
    """What a working share host would say about the article `page`: its title and text (a
    generic page when the article is not known)."""
    title, body = "金融消息", f"<p>{html.escape(info_code or '')} 资讯分享</p>"
    if page is not None:
        text = page.read_text(encoding="utf-8", errors="replace")
        sections = _SECTION_RE.findall(text)
        section = sections[-1] if sections else text
        heading = _H1_RE.search(section)
        if heading:
            title = heading.group(1).strip()
            section = section[heading.end() :]
        body = _LINK_P_RE.sub("", _SMALL_RE.sub("", section)).strip()
    plain_title = html.escape(html.unescape(_TAG_RE.sub("", title)).strip(), quote=False)
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{plain_title}</title>\n</head>\n<body>\n"
        f'<div class="newsContent">\n<h1>{plain_title}</h1>\n'
        f'<div id="ContentBody">\n{body}\n</div>\n</div>\n</body>\n</html>\n'
    ).encode()
