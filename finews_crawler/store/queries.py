"""Read-only questions about the store that the exports, the report and the browser ask.

Functions of a `Repository` (they use its engine and its export filters); no writes here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finews_crawler.site import SITE_TZ
from finews_crawler.store.models import Article, ArticlePage, QuarantineEntry, StockMention

if TYPE_CHECKING:
    from finews_crawler.store.repository import Repository

#: Export filters, as `Repository.iter_articles` takes them.
FILTERS = ("since", "until", "category", "info_code", "changed_after", "stock")


def _filtered(repository: Repository, filters: dict[str, Any]) -> Any:
    arguments = [filters.get(name) for name in FILTERS]
    return repository._article_query(*arguments).order_by(None)


def iter_row_batches(
    repository: Repository, columns: Sequence[str], batch: int = 5000, **filters: Any
) -> Iterator[list[tuple[Any, ...]]]:
    """The articles `iter_articles(**filters)` yields, as batches of rows of `columns`, fast.

    Rows come from the driver's cursor, without SQLAlchemy's row objects and type processing
    (most of the cost of a bulk read): timestamps are datetimes, or ISO strings in UTC without
    offset on SQLite; JSON lists are lists, or JSON text on SQLite. Ordered by `published_at`
    (its index), so that one day's articles come together. For bulk exports (Parquet).
    """
    table = Article.__table__
    stmt = (
        _filtered(repository, filters)
        .with_only_columns(*(table.c[name] for name in columns))
        .order_by(Article.published_at, Article.id)
    )
    # pysqlite steps through the result as it is fetched; psycopg needs a server-side cursor.
    streaming = repository.dialect != "sqlite"
    with repository.engine.connect() as connection:
        result = connection.execution_options(stream_results=streaming).execute(stmt)
        # Streaming, SQLAlchemy has read one row ahead: that one comes from the result (typed
        # values, which the exports take too), the rest straight from the DBAPI cursor.
        rows = [tuple(row) for row in result.fetchmany(1)] if streaming else []
        while True:
            rows += result.cursor.fetchmany(batch - len(rows))
            if not rows:
                return
            yield rows
            rows = []


def count_articles(repository: Repository, **filters: Any) -> int:
    """How many records `iter_articles(**filters)` yields."""
    ids = _filtered(repository, filters).with_only_columns(Article.id).subquery()
    with Session(repository.engine) as session:
        return session.scalar(select(func.count()).select_from(ids)) or 0


def count_pages(repository: Repository, **filters: Any) -> int | None:
    """How many records `iter_article_pages(**filters)` yields; None when a category filter
    makes it depend on what each page's data says."""
    if filters.get("category"):
        return None
    ids = _filtered(repository, filters).with_only_columns(Article.id)
    with Session(repository.engine) as session:
        return (
            session.scalar(
                select(func.count()).select_from(ArticlePage).where(ArticlePage.article_id.in_(ids))
            )
            or 0
        )


def articles_per_day(
    repository: Repository, since: datetime | None = None
) -> dict[str, Counter[str]]:
    """{day (GMT+8, YYYY-MM-DD): Counter(category: articles)}; an article counts once per
    category it is in."""
    stmt = select(Article.published_at, Article.categories).where(Article.published_at.is_not(None))
    if since is not None:
        stmt = stmt.where(Article.published_at >= since)
    days: dict[str, Counter[str]] = {}
    with Session(repository.engine) as session:
        for published, categories in session.execute(stmt.execution_options(yield_per=5000)):
            day = f"{published.astimezone(SITE_TZ):%Y-%m-%d}"
            days.setdefault(day, Counter()).update(categories or ["(none)"])
    return dict(sorted(days.items()))


def top_media(repository: Repository, limit: int = 10) -> list[tuple[str, int]]:
    """The media (文章来源) with the most articles."""
    count = func.count().label("articles")
    stmt = (
        select(Article.media, count)
        .where(Article.media.is_not(None), Article.media != "")
        .group_by(Article.media)
        .order_by(count.desc(), Article.media)
        .limit(limit)
    )
    with Session(repository.engine) as session:
        return [(media, n) for media, n in session.execute(stmt)]


def top_stocks(repository: Repository, limit: int = 10) -> list[dict[str, Any]]:
    """The most mentioned stocks: market, code, name, symbol (when the mention records carry
    one, else None) and how many articles mention each."""
    articles = func.count(func.distinct(StockMention.article_id)).label("articles")
    has_symbol = hasattr(StockMention, "symbol")
    key = StockMention.symbol if has_symbol else StockMention.code  # type: ignore[attr-defined]
    stmt = (
        select(StockMention.market, StockMention.code, func.max(StockMention.name), articles)
        .group_by(StockMention.market, StockMention.code)
        .order_by(articles.desc(), StockMention.code)
        .limit(limit)
    )
    if has_symbol:
        stmt = stmt.add_columns(func.max(key))
    rows = []
    with Session(repository.engine) as session:
        for row in session.execute(stmt):
            market, code, name, n = row[:4]
            symbol = row[4] if has_symbol else None
            rows.append(
                {"symbol": symbol, "market": market, "code": code, "name": name, "articles": n}
            )
    return rows


def quarantine_summary(repository: Repository, limit: int = 10) -> list[tuple[str, int]]:
    """The most frequent quarantine reasons and how many pages each holds."""
    count = func.count().label("entries")
    stmt = (
        select(QuarantineEntry.reason, count)
        .group_by(QuarantineEntry.reason)
        .order_by(count.desc(), QuarantineEntry.reason)
        .limit(limit)
    )
    with Session(repository.engine) as session:
        return [(reason, n) for reason, n in session.execute(stmt)]
