"""The merge rules of the store, as pure functions: no database here.

An item (one article page) becomes a `PageRecord`; pages merge into an `ArticleState`, the
in-memory form of one `articles` row and its pages. The rules:

- Identity: the article key is the infoCode (`NW` + 18 digits; bare digits and the code in the
  URL count too), or `url:<path>` for a post without one. Same key, same article.
- Primary page: among an article's pages the one whose post file name sorts first (the emnews
  original `2022-03-30-2022...md` before its media re-publication `2022-03-30-NW2022...md`).
  The article's `url`, `name` and content (title, date, body) come from it, so the result does
  not depend on which page a crawl happened to fetch first.
- Content hash: sha256 over the title, the date (ISO, +08:00) and the body text, each with all
  whitespace removed. Boilerplate (back links, share lines, markup) is not part of it.
- Revisions: only when the primary page shows a new content hash. A second page of the article
  with different content (the site shows some emnews dates 8 hours off their media copies) is a
  merge, not a change; each page keeps its own hash and data in `article_pages`.
- Union: categories, tags and page URLs of every page, sorted.
- Fill: media, digest, share/upstream link, stocks, images and share fields: a non-empty value
  wins over an empty one; between two non-empty values the primary page's wins; an empty value
  never erases a stored one.
- Layouts: each page and article records which page layout (reader) read it. A reading by the
  layout-independent reader (`generic`, best effort) is trusted less than one by a known layout
  (or an archive import, or a reading from before layouts were recorded):
  - a page stored from a trusted reading and read again by `generic` changes nothing, not even
    `last_seen_at` (`held_same`); when the reading differs from the stored one (content hash or
    page data), the difference is kept as a pending revision for a person (`held_for_review`),
    who may accept it (the reading is then merged as a trusted one);
  - a new page of a trusted article read by `generic` is added (its categories, tags, and fields
    the article lacks), but it never becomes the primary page nor replaces the content;
  - an article only `generic` could read is stored; a later trusted reading replaces it as
    usual, and a `generic` reading of a `generic` page merges as usual.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from finews_crawler.parsing.securities import as_mention
from finews_crawler.site import (
    format_published_at,
    info_code_from_path,
    normalize_info_code,
    parse_published_at,
    post_name_from_path,
)

NEW = "new"
UPDATED = "updated"
MERGED = "merged"
UNCHANGED = "unchanged"
#: A `generic` reading of a page stored from a trusted one: kept for review, or equal to it.
HELD_FOR_REVIEW = "held_for_review"
HELD_SAME = "held_same"
STATUSES = (NEW, UPDATED, MERGED, UNCHANGED, HELD_FOR_REVIEW, HELD_SAME)

#: The name of the layout-independent reader: its readings are a best effort.
GENERIC_LAYOUT = "generic"
#: Status of a pending revision.
PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"

#: Fields taken from the primary page and covered (but for body_html) by the content hash.
CONTENT_FIELDS = ("title", "published_at", "body_text", "body_html")
#: Fields where a non-empty value wins.
FILL_FIELDS = (
    "media",
    "digest",
    "share_url",
    "upstream_url",
    "stocks",
    "images",
    "share_status",
    "share_title",
    "share_text",
)
#: Fields united over all pages.
UNION_FIELDS = ("categories", "tags")

_WHITESPACE = re.compile(r"\s+")


def strip_whitespace(value: str | None) -> str:
    return _WHITESPACE.sub("", value or "")


def format_timestamp(value: datetime | None) -> str | None:
    """A bookkeeping timestamp (first/last seen) as ISO 8601 in UTC."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def content_hash(title: str | None, published_at: datetime | None, body_text: str | None) -> str:
    parts = (
        strip_whitespace(title),
        format_published_at(published_at) or "",
        strip_whitespace(body_text),
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def page_path(url: str) -> str:
    """The site path of an article URL (absolute URLs on any host lose scheme and host)."""
    parts = urlsplit(url.strip())
    if parts.scheme or parts.netloc:
        return parts.path or "/"
    return parts.path or url.strip()


def article_key(item: Mapping[str, Any]) -> str | None:
    """The identity of the article an item shows: its infoCode, else `url:<path>`."""
    url = item.get("url") or ""
    code = normalize_info_code(item.get("info_code")) or (info_code_from_path(url) if url else None)
    if code:
        return code
    return f"url:{page_path(url)}" if url else None


def is_trusted(layout: str | None) -> bool:
    """A reading by a known page layout, an import or from before layouts were recorded."""
    return layout != GENERIC_LAYOUT


def page_sort_key(path: str, name: str | None) -> tuple[str, str]:
    """Pages sort by post file name, then path; the first is the article's primary page."""
    return (name or post_name_from_path(path) or "\uffff", path)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def clean_text(value: str) -> str:
    """Text as every database keeps it: without NUL characters (PostgreSQL refuses them)."""
    return value.replace("\x00", "") if "\x00" in value else value


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return clean_text(value if isinstance(value, str) else str(value))


def _str_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [clean_text(str(v)) for v in value if v is not None and v != ""]


#: The item fields a page's reading and an article both hold, in the record's order after `url`.
_ITEM_FIELDS = (
    "name",
    "title",
    "published_at",
    "categories",
    "tags",
    "media",
    "digest",
    "body_html",
    "body_text",
    "share_url",
    "upstream_url",
    "stocks",
    "images",
    "crawled_at",
    "share_status",
    "share_title",
    "share_text",
    "layout",
)


def _item_values(source: PageRecord | ArticleState, url: str) -> dict[str, Any]:
    """The item fields of a reading or an article, as a record: copies of its lists, the date
    as the site shows it."""
    values: dict[str, Any] = {"info_code": source.info_code, "url": url}
    for name in _ITEM_FIELDS:
        value = getattr(source, name)
        if name == "published_at":
            value = format_published_at(value)
        elif name == "stocks":
            value = [dict(stock) for stock in value]
        elif isinstance(value, list):
            value = list(value)
        values[name] = value
    return values


def _stocks(value: Any) -> list[dict[str, Any]]:
    stocks = []
    for stock in value or []:
        if isinstance(stock, Mapping):
            stocks.append(dict(as_mention({str(k): _str_or_none(v) for k, v in stock.items()})))
    return stocks


@dataclass
class PageRecord:
    """One item, normalized: what one page says about an article."""

    key: str
    info_code: str | None
    path: str
    name: str | None
    title: str
    published_at: datetime | None
    categories: list[str]
    tags: list[str]
    media: str | None
    digest: str | None
    body_html: str
    body_text: str
    share_url: str | None
    upstream_url: str | None
    stocks: list[dict[str, str]]
    images: list[str]
    crawled_at: str | None
    share_status: str | None
    share_title: str | None
    share_text: str | None
    content_hash: str
    #: The page layout (reader) that read the page; see `GENERIC_LAYOUT`.
    layout: str | None = None
    #: An imported post's exact text (`parsing.post.PostItem`), kept with the page.
    source_markdown: str | None = None
    #: A person accepted this reading (a pending revision): it is merged as a trusted one.
    accepted: bool = False

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PageRecord:
        key = article_key(item)
        if key is None:
            raise ValueError("Item has neither an infoCode nor a URL")
        path = clean_text(page_path(item["url"]))
        info_code = None if key.startswith("url:") else key
        title = _str_or_none(item.get("title")) or ""
        published_at = parse_published_at(item.get("published_at"))
        body_text = _str_or_none(item.get("body_text")) or ""
        return cls(
            key=key,
            info_code=info_code,
            path=path,
            name=_str_or_none(item.get("name")) or post_name_from_path(path),
            title=title,
            published_at=published_at,
            categories=_str_list(item.get("categories")),
            tags=_str_list(item.get("tags")),
            media=_str_or_none(item.get("media")),
            digest=_str_or_none(item.get("digest")),
            body_html=_str_or_none(item.get("body_html")) or "",
            body_text=body_text,
            share_url=_str_or_none(item.get("share_url")),
            upstream_url=_str_or_none(item.get("upstream_url")),
            stocks=_stocks(item.get("stocks")),
            images=_str_list(item.get("images")),
            crawled_at=_str_or_none(item.get("crawled_at")),
            share_status=_str_or_none(item.get("share_status")),
            share_title=_str_or_none(item.get("share_title")),
            share_text=_str_or_none(item.get("share_text")),
            content_hash=content_hash(title, published_at, body_text),
            layout=_str_or_none(item.get("layout")),
            source_markdown=_str_or_none(item.get("source_markdown")),
        )

    @property
    def trusted(self) -> bool:
        return self.accepted or is_trusted(self.layout)

    def as_item(self) -> dict[str, Any]:
        """This reading as an item again (what `from_item` reads), to apply it later."""
        item = _item_values(self, self.path)
        if self.source_markdown is not None:
            item["source_markdown"] = self.source_markdown
        return item

    @property
    def category(self) -> str:
        """The page's category slug: its categories joined by a space (`/category/<slug>.html`)."""
        return " ".join(self.categories)

    def page_data(self) -> dict[str, Any]:
        """What this page itself shows, kept per page (Jekyll needs each page's own fields)."""
        data = {
            "name": self.name,
            "categories": list(self.categories),
            "tags": list(self.tags),
            "title": self.title,
            "published_at": format_published_at(self.published_at),
            "media": self.media,
            "digest": self.digest,
            "share_url": self.share_url,
            "upstream_url": self.upstream_url,
            "share_status": self.share_status,
        }
        if self.source_markdown is not None:
            data["source_markdown"] = self.source_markdown
        return data


@dataclass
class PageState:
    """One `article_pages` row in memory."""

    path: str
    name: str | None
    category: str
    content_hash: str
    data: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    layout: str | None = None
    id: int | None = None
    is_new: bool = False
    dirty: bool = False


def reading_differences(known: PageState, page: PageRecord) -> list[str]:
    """The fields in which a new reading of a page differs from its stored one: what the page
    row keeps (its data, and title, date and body text through its content hash)."""
    proposed = page.page_data()
    differ = {
        name
        for name in proposed.keys() | known.data.keys()
        if name not in CONTENT_FIELDS
        and name != "source_markdown"  # only an import has it
        and proposed.get(name) != known.data.get(name)
    }
    if page.content_hash != known.content_hash:
        title = known.data.get("title") or ""
        published_at = parse_published_at(known.data.get("published_at"))
        if strip_whitespace(page.title) != strip_whitespace(title):
            differ.add("title")
        if page.published_at != published_at:
            differ.add("published_at")
        if content_hash(title, published_at, page.body_text) != known.content_hash:
            differ.add("body_text")
    return sorted(differ)


def review_reason(known: PageState, page: PageRecord, differ: list[str]) -> str:
    """Why a reading is held for review, in words."""
    stored_by = f"the {known.layout} layout" if known.layout else "a known layout"
    return (
        f"read by the layout-independent reader ({page.layout}), not a known page layout; it"
        f" differs from the stored reading (by {stored_by}) in {', '.join(differ)}. The stored"
        " article is kept as it was: accept this revision to apply the new reading"
    )


@dataclass
class ArticleState:
    """One `articles` row (and its pages) in memory, while a batch is merged."""

    key: str
    info_code: str | None
    url: str
    name: str | None
    title: str
    published_at: datetime | None
    categories: list[str]
    tags: list[str]
    urls: list[str]
    media: str | None
    digest: str | None
    body_html: str
    body_text: str
    share_url: str | None
    upstream_url: str | None
    stocks: list[dict[str, str]]
    images: list[str]
    crawled_at: str | None
    share_status: str | None
    share_title: str | None
    share_text: str | None
    content_hash: str
    revision: int
    first_seen_at: datetime
    last_seen_at: datetime
    changed_at: datetime
    #: The layout that read the page the content came from.
    layout: str | None = None
    id: int | None = None
    pages: dict[str, PageState] = field(default_factory=dict)
    #: Old versions to write to `revisions`: dicts with revision, content_hash, data.
    old_versions: list[dict[str, Any]] = field(default_factory=list)
    #: Readings held for review, to write to `pending_revisions` (without article_id).
    held_readings: list[dict[str, Any]] = field(default_factory=list)
    is_new: bool = False
    dirty: bool = False
    #: A page of it was merged in this batch (a held reading alone does not count).
    seen: bool = False
    #: The stocks as stored before this batch (stock_mentions is rewritten when they differ).
    stored_stocks: list[dict[str, str]] = field(default_factory=list)

    #: Column names shared with the `articles` table.
    COLUMNS = (
        "info_code",
        "url",
        "urls",
        *_ITEM_FIELDS,
        "content_hash",
        "revision",
        "first_seen_at",
        "last_seen_at",
        "changed_at",
    )

    @classmethod
    def from_page(cls, page: PageRecord, now: datetime) -> ArticleState:
        state = cls(
            key=page.key,
            info_code=page.info_code,
            url=page.path,
            name=page.name,
            title=page.title,
            published_at=page.published_at,
            categories=sorted(set(page.categories)),
            tags=sorted(set(page.tags)),
            urls=[page.path],
            media=page.media,
            digest=page.digest,
            body_html=page.body_html,
            body_text=page.body_text,
            share_url=page.share_url,
            upstream_url=page.upstream_url,
            stocks=list(page.stocks),
            images=list(page.images),
            crawled_at=page.crawled_at,
            share_status=page.share_status,
            share_title=page.share_title,
            share_text=page.share_text,
            content_hash=page.content_hash,
            revision=1,
            first_seen_at=now,
            last_seen_at=now,
            changed_at=now,
            layout=page.layout,
            is_new=True,
            dirty=True,
            seen=True,
        )
        state._see_page(page, now)
        return state

    def row(self) -> dict[str, Any]:
        """The `articles` row (without id)."""
        row = {name: getattr(self, name) for name in self.COLUMNS}
        row["article_key"] = self.key
        return row

    def record(self) -> dict[str, Any]:
        """The export record (see `Repository.iter_articles`)."""
        return {
            **_item_values(self, self.url),
            "urls": list(self.urls),
            "revision": self.revision,
            "content_hash": self.content_hash,
            "first_seen_at": format_timestamp(self.first_seen_at),
            "last_seen_at": format_timestamp(self.last_seen_at),
        }

    def _stored(self) -> tuple[Any, ...]:
        return tuple(
            getattr(self, name)
            for name in self.COLUMNS
            if name not in ("first_seen_at", "last_seen_at", "changed_at")
        )

    @property
    def trusted(self) -> bool:
        return is_trusted(self.layout)

    def _set_content(self, page: PageRecord) -> None:
        for name in CONTENT_FIELDS:
            setattr(self, name, getattr(page, name))
        self.content_hash = page.content_hash
        self.crawled_at = page.crawled_at or self.crawled_at
        self.layout = page.layout

    def _fill(self, page: PageRecord, prefer: bool) -> None:
        for name in FILL_FIELDS:
            new = getattr(page, name)
            if _is_empty(new):
                continue
            if prefer or _is_empty(getattr(self, name)):
                setattr(self, name, new)

    def _see_page(self, page: PageRecord, now: datetime) -> bool:
        """Record the page; True when the page row is new or changed."""
        self.urls = sorted(set(self.urls) | {page.path})
        for name in UNION_FIELDS:
            setattr(self, name, sorted(set(getattr(self, name)) | set(getattr(page, name))))
        data = page.page_data()
        known = self.pages.get(page.path)
        if known is None:
            self.pages[page.path] = PageState(
                path=page.path,
                name=page.name,
                category=page.category,
                content_hash=page.content_hash,
                data=data,
                first_seen_at=now,
                last_seen_at=now,
                layout=page.layout,
                is_new=True,
                dirty=True,
            )
            return True
        known.last_seen_at = now
        if "source_markdown" in known.data and "source_markdown" not in data:
            data["source_markdown"] = known.data["source_markdown"]  # a crawl keeps the import's
        if known.content_hash == page.content_hash:
            # Same content: keep the stored rendering of it (whitespace is not a change).
            for name in ("title", "published_at"):
                if name in known.data:
                    data[name] = known.data[name]
        same = (known.name, known.category, known.content_hash, known.data) == (
            page.name,
            page.category,
            page.content_hash,
            data,
        )
        # The same reading confirmed by a trusted layout is no longer only a generic one.
        upgraded = page.trusted and not is_trusted(known.layout)
        if same and not upgraded:
            return False
        known.name = page.name
        known.category = page.category
        known.content_hash = page.content_hash
        known.data = data
        known.layout = page.layout
        known.dirty = True
        return True

    def merge(self, page: PageRecord, now: datetime, run_id: int | None = None) -> str:
        """Merge one more page of this article; returns updated, merged or unchanged, or
        held_for_review / held_same for a generic reading of a page stored from a trusted one."""
        known = self.pages.get(page.path)
        if known is not None and not page.trusted and is_trusted(known.layout):
            return self._hold(page, known, now, run_id)
        self.seen = True
        before = self._stored()
        status = UNCHANGED
        primary = page.path == self.url
        if primary and page.content_hash != self.content_hash:
            self.old_versions.append(
                {
                    "revision": self.revision,
                    "content_hash": self.content_hash,
                    "data": self.record(),
                    "replaced_at": now,
                    "run_id": run_id,
                }
            )
            self.revision += 1
            status = UPDATED
        elif not primary and self._sorts_before_primary(page):
            # A page that sorts first becomes the primary page: no revision, it is a merge.
            primary = True
            self.url = page.path
            self.name = page.name
        # The primary page's reading is the content; a trusted reading also takes over the same
        # content from a generic one.
        upgraded = page.trusted and not self.trusted
        if primary and (page.content_hash != self.content_hash or upgraded):
            self._set_content(page)
        self._fill(page, prefer=primary)
        if self.crawled_at is None:
            self.crawled_at = page.crawled_at
        page_changed = self._see_page(page, now)
        self.last_seen_at = now
        if status == UNCHANGED and (page_changed or self._stored() != before):
            status = MERGED
        if status != UNCHANGED:
            self.dirty = True
            self.changed_at = now
        return status

    def _sorts_before_primary(self, page: PageRecord) -> bool:
        """Whether the page sorts before the primary page, and may replace it (a generic
        reading never replaces a trusted one)."""
        first = page_sort_key(page.path, page.name) < page_sort_key(self.url, self.name)
        return first and (page.trusted or not self.trusted)

    def _hold(self, page: PageRecord, known: PageState, now: datetime, run_id: int | None) -> str:
        """Keep the stored reading; a different new one waits for a person to look at it."""
        differ = reading_differences(known, page)
        if not differ:
            return HELD_SAME
        self.held_readings.append(
            {
                "page_path": page.path,
                "run_id": run_id,
                "layout": page.layout,
                "proposed": page.as_item(),
                "fields": differ,
                "reason": review_reason(known, page, differ),
                "status": PENDING,
                "created_at": now,
            }
        )
        return HELD_FOR_REVIEW
