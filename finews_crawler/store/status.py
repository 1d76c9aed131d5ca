"""Read-only questions `finews status` asks: is the crawler alive, and is anything piling up?

The newest successful run of each spider, articles and quarantine entries of the last day set
against the days before, the database's size and the spool's backlog. Nothing here writes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from finews_crawler.health import HEALTHY
from finews_crawler.store.engine import sqlite_file
from finews_crawler.store.merge import format_timestamp
from finews_crawler.store.models import Article, CrawlRun, QuarantineEntry
from finews_crawler.store.spool import Spool

if TYPE_CHECKING:
    from finews_crawler.store.repository import Repository

DAY = timedelta(days=1)

#: A run that succeeded: judged healthy, or finished when recorded before runs were judged
#: (an archive import, or an older crawl).
SUCCESSFUL = or_(
    CrawlRun.verdict == HEALTHY,
    and_(CrawlRun.verdict.is_(None), CrawlRun.outcome == "finished"),
)


def last_successful_runs(repository: Repository, now: datetime) -> list[dict[str, Any]]:
    """Per spider that has any run: its newest successful run (id, when it finished, its age
    in seconds), or None for each when it has none; newest first, spiders never successful last."""
    newest = (
        select(CrawlRun.spider, func.max(CrawlRun.id).label("id"))
        .where(SUCCESSFUL, CrawlRun.finished_at.is_not(None))
        .group_by(CrawlRun.spider)
        .subquery()
    )
    stmt = (
        select(CrawlRun.spider, func.count(CrawlRun.id), newest.c.id)
        .outerjoin(newest, newest.c.spider == CrawlRun.spider)
        .group_by(CrawlRun.spider, newest.c.id)
    )
    spiders = []
    with Session(repository.engine) as session:
        for spider, runs, run_id in session.execute(stmt):
            run = session.get(CrawlRun, run_id) if run_id is not None else None
            finished = run.finished_at if run is not None else None
            spiders.append(
                {
                    "spider": spider,
                    "runs": runs,
                    "run_id": run_id,
                    "verdict": run.verdict if run is not None else None,
                    "finished_at": format_timestamp(finished),
                    "age_seconds": round((now - finished).total_seconds(), 1) if finished else None,
                }
            )
    never = float("inf")
    return sorted(
        spiders,
        key=lambda s: (never if s["age_seconds"] is None else s["age_seconds"], s["spider"]),
    )


def _growth(
    count: Callable[[datetime, datetime | None], int],
    earliest: datetime | None,
    now: datetime,
    baseline_days: int,
) -> dict[str, Any]:
    """Rows of the last day (`count(since, until)`; until None: up to now), and the average per
    day over the (at most `baseline_days`) whole days before it back to the `earliest` row
    (None: no such day)."""
    day_ago = now - DAY
    days = 0
    if earliest is not None and earliest < day_ago:
        days = min(baseline_days, math.ceil((day_ago - earliest) / DAY))
    per_day = round(count(day_ago - days * DAY, day_ago) / days, 1) if days else None
    return {"last_day": count(day_ago, None), "per_day_before": per_day, "days_before": days}


def articles_growth(repository: Repository, now: datetime, baseline_days: int) -> dict[str, Any]:
    """Articles first stored in the last day against the days before (`_growth`).

    `first_seen_at` has no index, but `changed_at` has, and is never earlier (it is set when the
    article is stored, and moves on with every change): it bounds the count to an index range,
    so the check does not read the whole table. Articles are numbered as they are stored, so
    the first one is the earliest.
    """
    with Session(repository.engine) as session:

        def count(since: datetime, until: datetime | None) -> int:
            stmt = select(func.count(Article.id)).where(
                Article.changed_at >= since, Article.first_seen_at >= since
            )
            if until is not None:
                stmt = stmt.where(Article.first_seen_at < until)
            return session.scalar(stmt) or 0

        first = session.scalar(select(Article.first_seen_at).order_by(Article.id).limit(1))
        return _growth(count, first, now, baseline_days)


def quarantine_growth(repository: Repository, now: datetime, baseline_days: int) -> dict[str, Any]:
    """Quarantine entries made in the last day against the days before (`_growth`)."""
    with Session(repository.engine) as session:

        def count(since: datetime, until: datetime | None) -> int:
            when = QuarantineEntry.created_at
            stmt = select(func.count(QuarantineEntry.id)).where(when >= since)
            if until is not None:
                stmt = stmt.where(when < until)
            return session.scalar(stmt) or 0

        first = session.scalar(select(func.min(QuarantineEntry.created_at)))
        return _growth(count, first, now, baseline_days)


def database_size(repository: Repository) -> dict[str, int]:
    """Bytes the database takes: SQLite's file and its write-ahead log; PostgreSQL's
    pg_database_size."""
    if repository.dialect == "sqlite":
        path = sqlite_file(repository.engine.url)
        sizes = {"file": 0, "wal": 0}
        if path is not None:
            for name, file in (("file", path), ("wal", Path(f"{path}-wal"))):
                sizes[name] = file.stat().st_size if file.is_file() else 0
        return {"bytes": sizes["file"] + sizes["wal"], "wal_bytes": sizes["wal"]}
    with repository.engine.connect() as connection:
        size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return {"bytes": int(size or 0)}


def spool_backlog(directory: str | os.PathLike[str], now: datetime) -> dict[str, Any]:
    """The spool's files waiting for replay: how many, their records and bytes, and the age in
    seconds of the oldest (None when empty)."""
    spool = Spool(directory)
    files = spool.pending()
    records = size = 0
    oldest = None
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:  # replayed since it was listed
            continue
        size += stat.st_size
        records += _count_lines(path)
        oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
    age = None if oldest is None else round(max(0.0, now.timestamp() - oldest), 1)
    return {
        "directory": str(directory),
        "files": len(files),
        "records": records,
        "bytes": size,
        "oldest_age_seconds": age,
    }


def _count_lines(path: Path) -> int:
    """Records in a spool file (one JSON object a line), counted without parsing them: a read-only
    check need not decode what the next replay will."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:  # replayed since it was listed
        return 0
