"""The article store: batched, idempotent writes and the queries the rest of the project uses.

`Repository(database_url)` migrates the database on first use and is the only thing that talks to
it. Writes happen in one transaction per call (`write_items` takes a whole batch), under a writer
lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-level advisory lock), so that reading
the stored state, merging in Python (`store.merge`) and upserting cannot race with another
writer. Every insert is an `INSERT ... ON CONFLICT` on the row's natural key, so replaying a batch
(after a crash or from the spool) changes nothing but `last_seen_at`. SQL goes through SQLAlchemy
with bound parameters only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from finews_crawler.parsing.securities import as_mention, mention_key
from finews_crawler.site import (
    SITE_TZ,
    format_published_at,
    normalize_info_code,
    parse_published_at,
)
from finews_crawler.store.engine import create_db_engine, mask_url, write_engine
from finews_crawler.store.merge import (
    ACCEPTED,
    NEW,
    PENDING,
    REJECTED,
    STATUSES,
    ArticleState,
    PageRecord,
    PageState,
    clean_text,
    format_timestamp,
    page_sort_key,
)
from finews_crawler.store.models import (
    Article,
    ArticleCategory,
    ArticlePage,
    Category,
    CrawlRun,
    PendingRevision,
    QuarantineEntry,
    Revision,
    StockMention,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

#: pg_advisory_xact_lock key every write transaction holds ("finews").
PG_WRITE_LOCK = 0x66696E657700
#: Rows per statement in bulk writes and IN lists.
CHUNK = 500
#: Rows per INSERT when an upsert returns rows (SQLAlchemy's "insertmanyvalues" pages): SQLite's
#: search index flushes at every statement, so more rows per statement write it for less CPU,
#: but hold more in the writer's memory (500 rows: +43 MiB at the peak; bench/archive.py).
ROWS_PER_RETURNING_STATEMENT = 250
#: Longest quarantine excerpt kept, in characters.
EXCERPT_MAX = 2000
URL_MAX = 2048
REASON_MAX = 500
#: Crawl run counters (columns of crawl_runs).
RUN_COUNTS = (
    "pages",
    "new",
    "updated",
    "unchanged",
    "merged",
    "duplicate",
    "quarantined",
    "errors",
)

#: Page data passed on by iter_article_pages although articles do not have it.
PAGE_ONLY = ("source_markdown",)

Item = Mapping[str, Any] | Any
DateLike = str | date | datetime | None


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _as_dict(item: Item) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    # Imported here: itemadapter imports Scrapy (30 MiB, 0.35 s), and the writer process, which
    # gets dicts, would carry it for nothing.
    from itemadapter import ItemAdapter

    return ItemAdapter(item).asdict()


def _json_safe(value: Any) -> Any:
    def default(obj: Any) -> Any:
        if isinstance(obj, datetime | date):
            return obj.isoformat()
        if isinstance(obj, set | frozenset):
            return sorted(obj, key=str)
        return str(obj)

    return json.loads(json.dumps(value, default=default))


def _parse_bound(value: DateLike) -> datetime | None:
    """A filter bound: datetime, date (midnight +08:00) or ISO string (no offset: +08:00)."""
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=SITE_TZ)
    return parse_published_at(value)


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    index_elements: Sequence[str],
    update_columns: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[Any]:
    """`INSERT ... ON CONFLICT (index_elements) DO UPDATE/NOTHING` for SQLite and PostgreSQL.

    `update_columns` are set from the proposed row on conflict; None means DO NOTHING. With
    `returning`, the rows written (those columns, in no particular order) are returned.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - engine.normalize_url refuses other databases
        raise NotImplementedError(f"No upsert for {dialect}")
    if update_columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(index_elements),
            set_={name: stmt.excluded[name] for name in update_columns},
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(index_elements))
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning)).execution_options(
            insertmanyvalues_page_size=ROWS_PER_RETURNING_STATEMENT
        )
    written: list[Any] = []
    for chunk in _chunks(list(rows)):
        result = session.execute(stmt, list(chunk))
        if returning:
            written += result.all()
    return written


def _state_from_row(article: Article) -> ArticleState:
    values = {column: getattr(article, column) for column in ArticleState.COLUMNS}
    for column in ("categories", "tags", "urls", "stocks", "images"):
        values[column] = list(values[column] or [])  # a copy: the state is changed in place
    state = ArticleState(key=article.article_key, id=article.id, **values)
    state.stored_stocks = list(state.stocks)
    return state


def _page_state(page: ArticlePage) -> PageState:
    return PageState(
        path=page.path,
        name=page.name,
        category=page.category,
        content_hash=page.content_hash,
        data=dict(page.data or {}),
        first_seen_at=page.first_seen_at,
        last_seen_at=page.last_seen_at,
        layout=page.layout,
        id=page.id,
    )


def _pending_dict(row: PendingRevision, article_key: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "article_key": article_key,
        "page_path": row.page_path,
        "run_id": row.run_id,
        "layout": row.layout,
        "fields": list(row.fields or []),
        "reason": row.reason,
        "status": row.status,
        "created_at": format_timestamp(row.created_at),
        "decided_at": format_timestamp(row.decided_at),
        "proposed": dict(row.proposed),
    }


def _same_reading(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Two held readings say the same (whenever they were crawled)."""
    return {**one, "crawled_at": None} == {**other, "crawled_at": None}


#: When workers of one run disagree, the worst outcome and verdict are the run's.
_OUTCOME_RANK = {"finished": 0, "interrupted": 1, "killed": 2, "failed": 3}
_VERDICT_RANK = {
    None: 0,
    "skipped": 1,
    "healthy": 2,
    "unhealthy": 3,
    "interrupted": 4,
    "killed": 5,
    "failed": 6,
}


def _run_dict(run: CrawlRun) -> dict[str, Any]:
    duration = None
    if run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    record: dict[str, Any] = {
        "id": run.id,
        "spider": run.spider,
        "run_key": run.run_key,
        "started_at": format_timestamp(run.started_at),
        "finished_at": format_timestamp(run.finished_at),
        "duration_seconds": duration,
        "outcome": run.outcome,
        "host": run.host,
        "pid": run.pid,
    }
    for name in RUN_COUNTS:
        record[name] = getattr(run, name)
    record["verdict"] = run.verdict
    record["health_reasons"] = list(run.health_reasons or [])
    record["stats"] = dict(run.stats or {})
    return record


class Repository:
    """The article store behind one database URL."""

    def __init__(self, database_url: str, *, migrate: bool = True) -> None:
        self.database_url = database_url
        self.engine: Engine = create_db_engine(database_url)
        self._write_engine = write_engine(self.engine)
        if migrate:
            # Imported here: Alembic (12 MiB) is not needed where the schema is already checked
            # (the writer process: `migrate=False`).
            from finews_crawler.store.migrate import ensure_schema

            ensure_schema(self.engine)

    @classmethod
    def from_url(cls, database_url: str) -> Repository:
        return cls(database_url)

    def __repr__(self) -> str:
        return f"Repository({mask_url(self.engine.url)!r})"

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # --- sessions ------------------------------------------------------------------------

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        """One write transaction holding the writer lock; commits on success."""
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            if self.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
            yield session

    def _read_session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- articles ------------------------------------------------------------------------

    def write_items(self, items: Iterable[Item], run_id: int | None = None) -> dict[str, int]:
        """Merge and store a batch of items in one transaction.

        Returns how many items made a new article (`new`), changed an article's content
        (`updated`, a revision was kept), added to an article without changing its content
        (`merged`: another page, category or tag, a filled-in field), changed nothing but
        `last_seen_at` (`unchanged`), or were `generic` readings of pages stored from a trusted
        reading, which change nothing: `held_for_review` (it differs: a pending revision) or
        `held_same`. Raises ValueError for an item without infoCode and URL or with an
        unparsable date (nothing of the batch is written then).
        """
        pages = [PageRecord.from_item(_as_dict(item)) for item in items]
        if not pages:
            return dict.fromkeys(STATUSES, 0)
        with self._write_session() as session:
            counts = self._merge_pages(session, pages, run_id)
        logger.debug("Stored %d items: %s", len(pages), counts)
        return counts

    def _merge_pages(
        self, session: Session, pages: list[PageRecord], run_id: int | None
    ) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        now = utcnow()
        states = self._load_states(session, {page.key for page in pages})
        for page in pages:
            state = states.get(page.key)
            if state is None:
                states[page.key] = ArticleState.from_page(page, now)
                counts[NEW] += 1
            else:
                counts[state.merge(page, now, run_id)] += 1
        self._save_states(session, list(states.values()), now)
        return counts

    def _load_states(self, session: Session, keys: set[str]) -> dict[str, ArticleState]:
        states: dict[str, ArticleState] = {}
        for chunk in _chunks(sorted(keys)):
            for article in session.scalars(select(Article).where(Article.article_key.in_(chunk))):
                states[article.article_key] = _state_from_row(article)
        by_id = {state.id: state for state in states.values()}
        for chunk in _chunks(sorted(by_id)):
            for page in session.scalars(
                select(ArticlePage).where(ArticlePage.article_id.in_(chunk))
            ):
                by_id[page.article_id].pages[page.path] = _page_state(page)
        return states

    def _save_states(self, session: Session, states: list[ArticleState], now: datetime) -> None:
        """Write what merging changed: articles, their pages, categories, stocks, revisions,
        readings held for review."""
        states.sort(key=lambda state: state.key)
        dirty = [state for state in states if state.dirty]
        self._save_articles(session, states, dirty, now)
        self._save_pages(session, states, now)
        self._save_categories(session, dirty)
        self._save_stocks(session, dirty)
        self._save_revisions(session, dirty)
        self._save_held_readings(session, states)
        for state in states:
            state.old_versions.clear()
            state.held_readings.clear()

    @staticmethod
    def _save_articles(
        session: Session, states: list[ArticleState], dirty: list[ArticleState], now: datetime
    ) -> None:
        """A full upsert of changed articles (their ids are set), only last_seen_at for the
        others. The upsert returns the ids, so that SQLAlchemy sends it as multi-row statements
        (`ROWS_PER_RETURNING_STATEMENT`) instead of one per row: FTS5 flushes its pending index
        at every statement, and a statement per row made the search index 3x as costly to
        write."""
        columns = [name for name in ArticleState.COLUMNS if name != "first_seen_at"]
        written = upsert(
            session,
            Article.__table__,
            [state.row() for state in dirty],
            ["article_key"],
            columns,
            returning=["article_key", "id"],
        )
        ids = dict(written)
        for state in dirty:
            state.id = ids[state.key]
        touched_ids = [
            state.id for state in states if state.seen and not state.dirty and state.id is not None
        ]
        for chunk in _chunks(touched_ids):
            session.execute(
                update(Article.__table__)
                .where(Article.__table__.c.id.in_(chunk))
                .values(last_seen_at=now)
            )

    @staticmethod
    def _save_pages(session: Session, states: list[ArticleState], now: datetime) -> None:
        """The pages seen in this batch: changed ones upserted, the others' last_seen_at."""
        page_rows = []
        touched_pages = []
        for state in states:
            for page in state.pages.values():
                if page.dirty:
                    page_rows.append(
                        {
                            "article_id": state.id,
                            "path": page.path,
                            "category": page.category,
                            "name": page.name,
                            "content_hash": page.content_hash,
                            "data": page.data,
                            "first_seen_at": page.first_seen_at,
                            "last_seen_at": page.last_seen_at,
                            "layout": page.layout,
                        }
                    )
                elif page.last_seen_at == now and page.id is not None:
                    touched_pages.append(page.id)
        page_rows.sort(key=lambda row: row["path"])
        upsert(
            session,
            ArticlePage.__table__,
            page_rows,
            ["path"],
            ["article_id", "category", "name", "content_hash", "data", "last_seen_at", "layout"],
        )
        for chunk in _chunks(sorted(touched_pages)):
            session.execute(
                update(ArticlePage.__table__)
                .where(ArticlePage.__table__.c.id.in_(chunk))
                .values(last_seen_at=now)
            )

    @staticmethod
    def _save_categories(session: Session, dirty: list[ArticleState]) -> None:
        """The categories of changed articles, and the article<->category links."""
        slugs = sorted({slug for state in dirty for slug in state.categories})
        upsert(session, Category.__table__, [{"slug": slug} for slug in slugs], ["slug"])
        category_ids: dict[str, int] = {}
        for chunk in _chunks(slugs):
            rows = session.execute(
                select(Category.slug, Category.id).where(Category.slug.in_(chunk))
            )
            category_ids.update({slug: category_id for slug, category_id in rows})
        links = sorted(
            {(state.id, category_ids[slug]) for state in dirty for slug in state.categories}
        )
        upsert(
            session,
            ArticleCategory.__table__,
            [{"article_id": a, "category_id": c} for a, c in links],
            ["article_id", "category_id"],
        )

    @staticmethod
    def _save_stocks(session: Session, dirty: list[ArticleState]) -> None:
        """Stock mentions mirror the article's stocks: rewritten when they changed."""
        restock = [state for state in dirty if state.stocks != state.stored_stocks or state.is_new]
        for chunk in _chunks([state.id for state in restock if not state.is_new]):
            session.execute(
                delete(StockMention.__table__).where(StockMention.__table__.c.article_id.in_(chunk))
            )
        stock_rows = {}
        for state in restock:
            for stock in state.stocks:
                if stock.get("code"):
                    row = {"article_id": state.id, **as_mention(stock)}
                    stock_rows[(state.id, *mention_key(row))] = row
        upsert(
            session,
            StockMention.__table__,
            [stock_rows[key] for key in sorted(stock_rows)],
            ["article_id", "market", "code"],
        )

    @staticmethod
    def _save_revisions(session: Session, dirty: list[ArticleState]) -> None:
        """The old versions kept while merging."""
        revision_rows = [
            {"article_id": state.id, **old} for state in dirty for old in state.old_versions
        ]
        upsert(session, Revision.__table__, revision_rows, ["article_id", "revision"])

    @staticmethod
    def _save_held_readings(session: Session, states: list[ArticleState]) -> None:
        """Readings held for review, as pending revisions; once per page and reading."""
        held = [(state, reading) for state in states for reading in state.held_readings]
        if not held:
            return
        waiting: dict[str, list[dict[str, Any]]] = {}
        paths = sorted({reading["page_path"] for _, reading in held})
        for chunk in _chunks(paths):
            rows = session.scalars(
                select(PendingRevision).where(
                    PendingRevision.page_path.in_(chunk), PendingRevision.status == PENDING
                )
            )
            for row in rows:
                waiting.setdefault(row.page_path, []).append(row.proposed)
        for state, reading in held:
            known = waiting.setdefault(reading["page_path"], [])
            if any(_same_reading(reading["proposed"], other) for other in known):
                continue
            known.append(reading["proposed"])
            session.add(PendingRevision(article_id=state.id, **reading))

    def stored_page_paths(self) -> set[str]:
        """The path of every stored article page (a rerun does not fetch them again)."""
        with self._read_session() as session:
            return set(session.scalars(select(ArticlePage.path)))

    def stored_category_slugs(self) -> set[str]:
        """Every category slug a stored page was listed under (`a b` for a two-word slug)."""
        with self._read_session() as session:
            return {
                slug for slug in session.scalars(select(ArticlePage.category).distinct()) if slug
            }

    def article_count(self) -> int:
        with self._read_session() as session:
            return session.scalar(select(func.count()).select_from(Article)) or 0

    def get_article(self, key: str) -> dict[str, Any] | None:
        """One export record by infoCode (either form) or article key (`url:<path>`)."""
        code = normalize_info_code(key)
        with self._read_session() as session:
            article = session.scalar(select(Article).where(Article.article_key == (code or key)))
            return _state_from_row(article).record() if article is not None else None

    def revisions(self, key: str) -> list[dict[str, Any]]:
        """Old versions of an article, oldest first: revision, content_hash, replaced_at, data."""
        code = normalize_info_code(key)
        with self._read_session() as session:
            rows = session.scalars(
                select(Revision)
                .join(Article, Revision.article_id == Article.id)
                .where(Article.article_key == (code or key))
                .order_by(Revision.revision)
            )
            return [
                {
                    "revision": row.revision,
                    "content_hash": row.content_hash,
                    "replaced_at": format_timestamp(row.replaced_at),
                    "run_id": row.run_id,
                    "data": dict(row.data),
                }
                for row in rows
            ]

    # --- readings held for review --------------------------------------------------------

    def pending_revisions(
        self, status: str | None = PENDING, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Readings held for review (all when `status` is None), newest first: id,
        article_key, page_path, run_id, layout, fields, reason, status, created_at, decided_at,
        proposed (the reading as an item)."""
        stmt = (
            select(PendingRevision, Article.article_key)
            .join(Article, PendingRevision.article_id == Article.id)
            .order_by(PendingRevision.id.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(PendingRevision.status == status)
        with self._read_session() as session:
            return [_pending_dict(row, key) for row, key in session.execute(stmt)]

    def accept_revision(self, revision_id: int) -> str:
        """Apply a held reading through the normal merge, as a trusted one (a new revision when
        it changes the article's content); returns what the merge did (updated, merged...).
        Raises LookupError when there is no such pending revision."""
        with self._write_session() as session:
            row = self._pending_row(session, revision_id)
            page = PageRecord.from_item(row.proposed)
            page.accepted = True
            counts = self._merge_pages(session, [page], row.run_id)
            row.status, row.decided_at = ACCEPTED, utcnow()
        return next(status for status, count in counts.items() if count)

    def reject_revision(self, revision_id: int) -> None:
        """Keep the stored reading for good. Raises LookupError when there is no such pending
        revision."""
        with self._write_session() as session:
            row = self._pending_row(session, revision_id)
            row.status, row.decided_at = REJECTED, utcnow()

    @staticmethod
    def _pending_row(session: Session, revision_id: int) -> PendingRevision:
        row = session.get(PendingRevision, revision_id, with_for_update=True)
        if row is None or row.status != PENDING:
            state = "no such revision" if row is None else f"already {row.status}"
            raise LookupError(f"revision {revision_id}: {state}")
        return row

    def _article_query(
        self,
        since: DateLike,
        until: DateLike,
        category: str | None,
        info_code: str | None,
        changed_after: DateLike,
        stock: str | None = None,
        newest_first: bool = False,
    ) -> Any:
        stmt = select(Article)
        lower, upper = _parse_bound(since), _parse_bound(until)
        changed = _parse_bound(changed_after)
        if lower is not None:
            stmt = stmt.where(Article.published_at >= lower)
        if upper is not None:
            stmt = stmt.where(Article.published_at < upper)
        if changed is not None:
            stmt = stmt.where(Article.changed_at > changed)
        if info_code:
            stmt = stmt.where(Article.info_code == (normalize_info_code(info_code) or info_code))
        if category:
            in_link = (
                select(ArticleCategory.article_id)
                .join(Category, ArticleCategory.category_id == Category.id)
                .where(Category.slug == category)
            )
            on_page = select(ArticlePage.article_id).where(ArticlePage.category == category)
            stmt = stmt.where(or_(Article.id.in_(in_link), Article.id.in_(on_page)))
        if stock:
            mentioned = select(StockMention.article_id).where(StockMention.symbol == stock)
            stmt = stmt.where(Article.id.in_(mentioned))
        order = (Article.published_at, Article.info_code, Article.article_key)
        if newest_first:
            order = tuple(column.desc() for column in order)
        return stmt.order_by(Article.published_at.is_(None), *order)

    def iter_articles(
        self,
        since: DateLike = None,
        until: DateLike = None,
        category: str | None = None,
        info_code: str | None = None,
        changed_after: DateLike = None,
        stock: str | None = None,
        newest_first: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Export records, ordered by published_at (undated last), then infoCode.

        Filters: `since <= published_at < until` (dates or ISO strings; no offset means
        +08:00), `category` (a category of the article, or a page's space-joined slug),
        `info_code` (either form), `changed_after` (anything but last_seen_at changed later),
        `stock` (a symbol the article mentions). `newest_first` reverses the order.
        A record holds every ArticleItem field (published_at as ISO with +08:00), plus `urls`
        (every page path), `revision`, `content_hash`, `first_seen_at`, `last_seen_at`.
        """
        stmt = self._article_query(
            since, until, category, info_code, changed_after, stock, newest_first
        )
        with self._read_session() as session:
            for article in session.scalars(stmt.execution_options(yield_per=200)):
                yield _state_from_row(article).record()

    def iter_article_pages(
        self,
        since: DateLike = None,
        until: DateLike = None,
        category: str | None = None,
        info_code: str | None = None,
        changed_after: DateLike = None,
        stock: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """One record per page an article was seen on (a Jekyll post each), in article order.

        The record is the article's export record with the page's own fields laid over it:
        `url` (the page path), `name`, `categories`, `tags`, `title`, `published_at`, `media`,
        `digest`, `share_url`, `upstream_url`, `share_status` as that page showed them; plus
        `category` (the page's slug), `article_url` (the primary page), `page_content_hash`,
        `page_first_seen_at`, `page_last_seen_at`, and `source_markdown` for a page imported from
        a post (its exact text). With `category`, only that category's pages.
        """
        stmt = self._article_query(since, until, category, info_code, changed_after, stock)
        stmt = stmt.options(selectinload(Article.pages))
        with self._read_session() as session:
            for article in session.scalars(stmt.execution_options(yield_per=200)):
                record = _state_from_row(article).record()
                pages = sorted(article.pages, key=lambda p: page_sort_key(p.path, p.name))
                for page in pages:
                    data = dict(page.data or {})
                    if (
                        category
                        and category != page.category
                        and category not in data.get("categories", [])
                    ):
                        continue
                    yield {
                        **record,
                        **{k: v for k, v in data.items() if k in record or k in PAGE_ONLY},
                        "url": page.path,
                        "name": page.name,
                        "category": page.category,
                        "article_url": article.url,
                        "page_content_hash": page.content_hash,
                        "page_first_seen_at": format_timestamp(page.first_seen_at),
                        "page_last_seen_at": format_timestamp(page.last_seen_at),
                    }

    # --- stock mentions ------------------------------------------------------------------

    def stock_counts(
        self, since: DateLike = None, kinds: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Mentioned securities, most articles first: one dict per symbol (per market and code
        for a mention without one) with `symbol`, `kind`, `market`, `code`, `name` (the name
        most articles use), `articles` and `last_published_at`. `since` bounds published_at
        from below, `kinds` keeps only those kinds."""
        stmt = (
            select(
                StockMention.symbol,
                StockMention.kind,
                StockMention.market,
                StockMention.code,
                StockMention.name,
                func.count(),
                func.max(Article.published_at),
            )
            .join(Article, Article.id == StockMention.article_id)
            .group_by(
                StockMention.symbol,
                StockMention.kind,
                StockMention.market,
                StockMention.code,
                StockMention.name,
            )
        )
        lower = _parse_bound(since)
        if lower is not None:
            stmt = stmt.where(Article.published_at >= lower)
        if kinds is not None:
            stmt = stmt.where(StockMention.kind.in_(list(kinds)))
        counts: dict[tuple[str, ...], dict[str, Any]] = {}
        with self._read_session() as session:
            rows = session.execute(stmt).all()
        for symbol, kind, market, code, name, articles, last in rows:
            mention = {"symbol": symbol, "kind": kind, "market": market, "code": code}
            entry = counts.setdefault(
                mention_key(mention),
                {**mention, "name": name, "articles": 0, "last": None, "names": {}},
            )
            entry["articles"] += articles
            entry["names"][name] = entry["names"].get(name, 0) + articles
            if last is not None and (entry["last"] is None or last > entry["last"]):
                entry["last"] = last
        result = []
        for entry in counts.values():
            names, last = entry.pop("names"), entry.pop("last")
            entry["name"] = min(names, key=lambda name: (-names[name], name))
            entry["last_published_at"] = format_published_at(last)
            result.append(entry)
        result.sort(
            key=lambda e: (
                -e["articles"],
                e["symbol"] is None,
                e["symbol"] or "",
                e["market"],
                e["code"],
            )
        )
        return result

    def symbols_for_code(self, code: str) -> list[tuple[str, str]]:
        """(symbol, a name) of every stored security with this code (`000001`: an index of
        Shanghai and a stock of Shenzhen), by symbol."""
        with self._read_session() as session:
            rows = session.execute(
                select(StockMention.symbol, func.min(StockMention.name))
                .where(StockMention.code.in_({code, code.upper()}))
                .where(StockMention.symbol.is_not(None))
                .group_by(StockMention.symbol)
                .order_by(StockMention.symbol)
            ).all()
        return [(symbol, name) for symbol, name in rows]

    # --- crawl runs ----------------------------------------------------------------------

    def start_run(
        self,
        spider: str,
        run_key: str | None = None,
        host: str | None = None,
        pid: int | None = None,
    ) -> int:
        """Record the start of a crawl by process `pid` on `host`; a known `run_key` (a resumed
        run, or a worker joining a shared run) reuses its row, which then names this process."""
        now = utcnow()
        with self._write_session() as session:
            run = None
            if run_key:
                run = session.scalar(select(CrawlRun).where(CrawlRun.run_key == run_key))
            if run is None:
                run = CrawlRun(spider=spider, run_key=run_key or None, started_at=now, stats={})
                session.add(run)
            run.outcome = "running"
            run.finished_at = None
            run.host, run.pid = host, pid
            session.flush()
            return run.id

    def running_runs(self) -> list[dict[str, Any]]:
        """Every run still `running` (by its row), oldest first."""
        stmt = select(CrawlRun).where(CrawlRun.outcome == "running").order_by(CrawlRun.id)
        with self._read_session() as session:
            return [_run_dict(run) for run in session.scalars(stmt)]

    def mark_killed(self, run_id: int, reason: str) -> bool:
        """Record that run `run_id`'s process is gone: outcome and verdict `killed`, `reason`,
        finished now (when it was noticed). False when the run is no longer `running` (its
        process finished it meanwhile)."""
        with self._write_session() as session:
            marked = session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id, CrawlRun.outcome == "running")
                .values(
                    outcome="killed",
                    verdict="killed",
                    health_reasons=[reason],
                    finished_at=utcnow(),
                )
            )
            return bool(marked.rowcount)

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        counts: Mapping[str, int],
        stats: Mapping[str, Any] | None = None,
        verdict: str | None = None,
        reasons: Sequence[str] = (),
    ) -> None:
        """Record how a crawl ended: outcome (finished/failed/interrupted), counts, stats, and
        its health verdict with the reasons (`finews_crawler.health`).

        Several workers of one distributed run share its row: each adds its counts and numeric
        stats to what the others recorded, the worst outcome and verdict stand, and the reasons
        are united.
        """
        with self._write_session() as session:
            run = session.get(CrawlRun, run_id, with_for_update=True)
            if run is None:
                return
            shared = run.finished_at is not None
            for name in RUN_COUNTS:
                if name in counts:
                    mine = int(counts[name] or 0)
                    setattr(run, name, (getattr(run, name) or 0) + mine if shared else mine)
            merged = dict(run.stats or {}) if shared else {}
            for name, value in _json_safe(dict(stats or {})).items():
                earlier = merged.get(name)
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                if numeric and isinstance(earlier, int | float) and not isinstance(earlier, bool):
                    merged[name] = earlier + value
                else:
                    merged[name] = value
            run.stats = merged
            if not shared or _OUTCOME_RANK.get(outcome, 0) > _OUTCOME_RANK.get(run.outcome, 0):
                run.outcome = outcome
            if not shared or _VERDICT_RANK.get(verdict, 0) > _VERDICT_RANK.get(run.verdict, 0):
                run.verdict = verdict
            earlier_reasons = list(run.health_reasons or []) if shared else []
            run.health_reasons = earlier_reasons + [r for r in reasons if r not in earlier_reasons]
            run.finished_at = utcnow()

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        with self._read_session() as session:
            run = session.get(CrawlRun, run_id)
            return _run_dict(run) if run is not None else None

    def finished_runs(
        self, spider: str, limit: int, but: int | None = None
    ) -> list[dict[str, Any]]:
        """The latest runs of `spider` that finished (whatever their health), newest first,
        without run `but`."""
        stmt = (
            select(CrawlRun)
            .where(CrawlRun.spider == spider, CrawlRun.outcome == "finished")
            .order_by(CrawlRun.id.desc())
            .limit(limit)
        )
        if but is not None:
            stmt = stmt.where(CrawlRun.id != but)
        with self._read_session() as session:
            return [_run_dict(run) for run in session.scalars(stmt)]

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest crawl runs, newest first."""
        with self._read_session() as session:
            runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit))
            return [_run_dict(run) for run in runs]

    # --- quarantine ----------------------------------------------------------------------

    def quarantine(
        self, url: str, reason: str, excerpt: str | None = "", run_id: int | None = None
    ) -> int:
        """Record a page or item that failed validation or storage; returns the entry id."""
        entry = QuarantineEntry(
            url=clean_text(url or "")[:URL_MAX],
            reason=clean_text(reason or "unknown")[:REASON_MAX],
            excerpt=clean_text(excerpt or "")[:EXCERPT_MAX],
            created_at=utcnow(),
            run_id=run_id,
        )
        with self._write_session() as session:
            session.add(entry)
            session.flush()
            return entry.id

    def list_quarantine(self, limit: int = 50, run_id: int | None = None) -> list[dict[str, Any]]:
        """Quarantined pages, newest first."""
        stmt = select(QuarantineEntry).order_by(QuarantineEntry.id.desc()).limit(limit)
        if run_id is not None:
            stmt = stmt.where(QuarantineEntry.run_id == run_id)
        with self._read_session() as session:
            return [
                {
                    "id": entry.id,
                    "url": entry.url,
                    "reason": entry.reason,
                    "excerpt": entry.excerpt,
                    "created_at": format_timestamp(entry.created_at),
                    "run_id": entry.run_id,
                }
                for entry in session.scalars(stmt)
            ]


__all__ = ["EXCERPT_MAX", "RUN_COUNTS", "Repository", "upsert"]
