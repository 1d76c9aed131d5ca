"""What we know about the finews site: host names, URL shapes and infoCode rules.

Everything here is pure string logic, shared by the parsers, the spiders and the exporters, so
that one rule (say, "which hosts are the site") lives in exactly one place.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

#: The site's time zone: every page shows its date as `(GMT+8, Asia/Shanghai, CST) ...`.
SITE_TZ = timezone(timedelta(hours=8), "CST")
#: Host names the site has been served under; links to any of them mean this site.
SITE_HOSTS = frozenset({"finews.withounder.com", "finews.zning.me"})
CANONICAL_HOST = "finews.withounder.com"
DEFAULT_BASE_URL = f"https://{CANONICAL_HOST}"
#: Hosts that have served the share page (`NewsShare.html?infoCode=...`).
SHARE_HOSTS = frozenset({"finews.zning.xyz", "choicewzp1.eastmoney.com"})
SHARE_PATH = "/html_News/NewsShare.html"

#: `NW` + 18 digits; the first 8 digits are the publication date (yyyymmdd).
INFO_CODE_RE = re.compile(r"^NW\d{18}$")
_BARE_OR_NW_RE = re.compile(r"(?<![0-9A-Za-z])(?:NW)?(\d{18})(?!\d)")
#: /<category words...>/<yyyy>/<mm>/<dd>/<file name minus date>.html
ARTICLE_PATH_RE = re.compile(
    r"^/(?P<categories>(?:[^/]+/)*?)(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/"
    r"(?P<stem>[^/]+)\.html$"
)
CATEGORY_PATH_RE = re.compile(r"^/category/(?P<slug>[^/]+)\.html$")
#: The pages that list posts besides the category pages.
LISTING_PATHS = ("/", "/index.html", "/emnews/", "/emnews/index.html", "/feed.xml")


@lru_cache(maxsize=4096)
def _article_match(path: str) -> re.Match[str] | None:
    """The article URL shape matched against a path or URL (percent-decoded). Cached: one item's
    URL is read by the spider, validation and the store, several times each."""
    return ARTICLE_PATH_RE.match(unquote(urlsplit(path).path))


def parse_published_at(value: Any) -> datetime | None:
    """A timezone-aware datetime from an ISO 8601 string (no offset: the site's +08:00)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
            except ValueError:
                raise ValueError(f"Unparsable published_at: {text[:64]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SITE_TZ)
    return parsed


def format_published_at(value: datetime | None) -> str | None:
    """ISO 8601 in the site's time zone, e.g. `2022-03-30T23:23:14+08:00`."""
    return value.astimezone(SITE_TZ).isoformat() if value is not None else None


def normalize_info_code(value: str | None) -> str | None:
    """`NW` + 18 digits from either form the site uses (`NW2022...` or the bare digits)."""
    if not value:
        return None
    match = _BARE_OR_NW_RE.fullmatch(value.strip())
    return f"NW{match.group(1)}" if match else None


def is_valid_info_code(value: str | None) -> bool:
    return bool(value) and INFO_CODE_RE.fullmatch(value) is not None


def info_code_from_path(path: str) -> str | None:
    """The infoCode an article URL names (its file stem), or None for posts that carry none."""
    match = _article_match(path)
    return normalize_info_code(match.group("stem")) if match else None


def info_code_from_share_url(url: str) -> str | None:
    match = re.search(r"[?&]infoCode=([^&#]+)", url or "")
    return normalize_info_code(unquote(match.group(1))) if match else None


def path_categories(path: str) -> list[str] | None:
    """The category words of an article URL, lower-cased as Jekyll writes them; None if `path`
    is not an article URL."""
    match = _article_match(path)
    return [word for word in match.group("categories").split("/") if word] if match else None


def article_path(categories: list[str], published: datetime, stem: str) -> str:
    """Where Jekyll renders a post: `/<categories...>/yyyy/mm/dd/<stem>.html` (date in GMT+8)."""
    day = published.astimezone(SITE_TZ)
    prefix = "".join(f"/{category.lower()}" for category in categories)
    return f"{prefix}/{day:%Y/%m/%d}/{stem}.html"


def is_article_path(path: str) -> bool:
    return _article_match(path) is not None


def category_slug_from_path(path: str) -> str | None:
    """`/category/<slug>.html` -> slug (which may hold a space, percent-encoded or not)."""
    match = CATEGORY_PATH_RE.match(urlsplit(path).path)
    return unquote(match.group("slug")) if match else None


def listing_category(path: str) -> str | None:
    """The category a listing page lists: `/category/<slug>.html`, or a category's own index
    (`/emnews/`, `/emnews/index.html`); None for other pages (`/`, the feed, articles)."""
    slug = category_slug_from_path(path)
    if slug is not None:
        return slug
    parts = unquote(urlsplit(path).path).removesuffix("index.html").strip("/").split("/")
    is_index = path.endswith(("/", "/index.html"))
    return parts[0] if is_index and len(parts) == 1 and parts[0] else None


def category_path(slug: str) -> str:
    return f"/category/{quote(slug)}.html"


def post_name_from_path(path: str) -> str | None:
    """The Jekyll post file a page was rendered from: `yyyy-mm-dd-<stem>.md`."""
    match = _article_match(path)
    if not match:
        return None
    return "{year}-{month}-{day}-{stem}.md".format(**match.groupdict())


def is_site_host(host: str | None) -> bool:
    return (host or "").lower() in SITE_HOSTS


def site_path(url: str, page_url: str, base_url: str) -> str | None:
    """The path (with query) on this site a link points to, or None when it leaves the site.

    Links may be absolute on any of the site's host names, protocol-relative, or relative to
    the page; links to the base URL's own host (a mirror) count as the site too. Other hosts
    and non-HTTP schemes (`javascript:`, `mailto:`) are never the site.
    """
    if not url:
        return None
    url = url.strip()
    joined = urljoin(page_url, url)
    parts = urlsplit(joined)
    if parts.scheme not in ("http", "https"):
        return None
    base = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if not (is_site_host(host) or parts.netloc.lower() == base.netloc.lower()):
        return None
    path = _clean_path(parts.path)
    if path is None:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _clean_path(path: str) -> str | None:
    """Normalize a joined URL path; None for encoded dot segments or NUL/backslash tricks."""
    decoded = unquote(path or "/")
    # Dot segments left after URL joining were percent-encoded: a trick, not a page.
    if "\x00" in decoded or "\\" in decoded or ".." in decoded.split("/"):
        return None
    normalized = posixpath.normpath(decoded)
    if normalized.startswith("//"):
        return None
    if decoded.endswith("/") and not normalized.endswith("/"):
        normalized += "/"
    return quote(normalized, safe="/:@!$&'()*+,;=-._~")


def site_url(path: str, base_url: str) -> str:
    """Absolute URL of a site path on the configured base URL."""
    base = urlsplit(base_url.rstrip("/"))
    parts = urlsplit(path)
    base_path = base.path.rstrip("/")
    return urlunsplit((base.scheme, base.netloc, base_path + parts.path, parts.query, ""))


def share_request_url(share_url: str, share_base_url: str | None) -> str | None:
    """Where to fetch a share link: on its own host, or on FINEWS_SHARE_BASE_URL when set."""
    parts = urlsplit(share_url)
    if parts.scheme not in ("http", "https") or not info_code_from_share_url(share_url):
        return None
    if not share_base_url:
        return share_url
    base = urlsplit(share_base_url.rstrip("/"))
    return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))


def is_share_url(url: str) -> bool:
    parts = urlsplit(url or "")
    return parts.path.endswith(SHARE_PATH) and info_code_from_share_url(url) is not None
