"""SQLAlchemy ORM models: the database schema of the article store.

One row per article (`articles`, keyed by `article_key`: the infoCode, or `url:<path>` for posts
without one), one row per page the article was seen on (`article_pages`), the categories and the
article<->category link, stock mentions, old versions (`revisions`), readings held for a person
to review (`pending_revisions`), one row per crawl (`crawl_runs`) and pages that failed
validation (`quarantine`).

The schema is created and changed only by the Alembic migrations in `store/migrations/`; a test
checks that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Article(Base):
    """One article, however many pages show it."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The infoCode, or `url:<path>` for a post without one.
    article_key: Mapped[str] = mapped_column(String(512), unique=True)
    info_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: Path of the article's primary page (see `merge.page_sort_key`).
    url: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    urls: Mapped[list[Any]] = mapped_column(default=list)
    media: Mapped[str | None] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    share_url: Mapped[str | None] = mapped_column(Text)
    upstream_url: Mapped[str | None] = mapped_column(Text)
    stocks: Mapped[list[Any]] = mapped_column(default=list)
    images: Mapped[list[Any]] = mapped_column(default=list)
    crawled_at: Mapped[str | None] = mapped_column(String(64))
    share_status: Mapped[str | None] = mapped_column(String(64))
    share_title: Mapped[str | None] = mapped_column(Text)
    share_text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: Last time anything but `last_seen_at` changed (content, merged fields, pages).
    changed_at: Mapped[datetime] = mapped_column(index=True)
    #: The page layout (reader) that read the content: a known layout's name, `generic` (the
    #: layout-independent reader), or null (an import, or stored before layouts were recorded).
    layout: Mapped[str | None] = mapped_column(String(64))

    pages: Mapped[list[ArticlePage]] = relationship(back_populates="article")
    revisions: Mapped[list[Revision]] = relationship(back_populates="article")


class ArticlePage(Base):
    """A page (URL) the article was seen on; each media category has its own page."""

    __tablename__ = "article_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    #: The category slug of the page: its categories joined by a space, as in /category/<slug>.html.
    category: Mapped[str] = mapped_column(String(512), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: What this page itself shows (its own categories, tags, date, digest, links...).
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: The page layout (reader) whose reading `data` and `content_hash` hold (as in articles).
    layout: Mapped[str | None] = mapped_column(String(64))

    article: Mapped[Article] = relationship(back_populates="pages")


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)


class ArticleCategory(Base):
    __tablename__ = "article_categories"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id"), primary_key=True, index=True
    )


class StockMention(Base):
    """A security, index or board an article names (`parsing.securities`).

    One row per article and symbol; a mention whose market is unknown has no symbol and is one
    row per article, market and code. Boards and indices are told apart by `kind`.
    """

    __tablename__ = "stock_mentions"
    __table_args__ = (
        UniqueConstraint("article_id", "market", "code"),
        UniqueConstraint("article_id", "symbol", name="uq_stock_mentions_article_id_symbol"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    #: Wind/Tushare style (`600519.SH`; a board's `BK` code); null when the market is unknown.
    symbol: Mapped[str | None] = mapped_column(String(64), index=True)
    #: stock, fund, bond, index, board or unknown.
    kind: Mapped[str] = mapped_column(String(16), index=True)
    market: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(Text, default="")


class Revision(Base):
    """An old version of an article, kept when its content changed."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    #: The revision number the old version had.
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The old version as an export record.
    data: Mapped[dict[str, Any]]
    replaced_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))

    article: Mapped[Article] = relationship(back_populates="revisions")


class PendingRevision(Base):
    """A reading of a stored page that was not applied: a worse reader (the layout-independent
    one) read it differently from the stored reading. A person accepts or rejects it."""

    __tablename__ = "pending_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    page_path: Mapped[str] = mapped_column(String(1024))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    #: The layout (reader) that made the reading.
    layout: Mapped[str | None] = mapped_column(String(64))
    #: The reading, as an item (what accepting it merges).
    proposed: Mapped[dict[str, Any]]
    #: The fields in which it differs from the stored reading.
    fields: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text)
    #: pending, accepted or rejected.
    status: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class CrawlRun(Base):
    """One crawl: when, how it ended and what it did."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spider: Mapped[str] = mapped_column(String(255))
    run_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    #: running, finished, failed, interrupted, or killed (its process was found gone while the
    #: run was still running).
    outcome: Mapped[str] = mapped_column(String(32), default="running")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Run health (finews_crawler.health): healthy, unhealthy, failed, interrupted, killed or
    #: skipped; null for runs recorded without it.
    verdict: Mapped[str | None] = mapped_column(String(32))
    #: Why the run is not healthy, in words.
    health_reasons: Mapped[list[Any] | None]
    #: The host name and pid of the process that runs it (null for runs recorded before 0005).
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]


class QuarantineEntry(Base):
    """A page or item that failed validation or could not be stored."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)


def utcnow() -> datetime:
    return datetime.now(UTC)
