"""Housekeeping on request (`finews db prune --older-than DURATION`): what a year of cron runs
leaves behind that nobody needs.

- Crawl runs: the row stays (when, how it ended, its counts, verdict and reasons: `finews runs`
  and the report keep the history, and revisions and readings held for review point at it);
  its `stats` JSON, the bulk of the row, is emptied. Never for a run still `running`, and never
  for the newest `health.PREVIOUS_RUNS` finished runs of each spider: run health compares every
  new run with their stats.
- Quarantine: entries that are resolved, meaning their page was stored after the entry was made
  (an `article_pages` row with that path, last seen later: the failure was passing). Entries of
  pages never stored stay, whatever their age: they are what someone should look at.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Text, cast, delete, exists, func, select, update

from finews_crawler.health import PREVIOUS_RUNS
from finews_crawler.store.models import ArticlePage, CrawlRun, QuarantineEntry
from finews_crawler.store.repository import CHUNK

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from finews_crawler.store.repository import Repository

#: How an emptied `stats` reads back (JSON text on both databases).
EMPTY_STATS = "{}"


def _health_baseline(session: Session) -> set[int]:
    """The runs whose stats run health still reads: each spider's newest finished runs."""
    keep: set[int] = set()
    for spider in session.scalars(select(CrawlRun.spider).distinct()):
        keep.update(
            session.scalars(
                select(CrawlRun.id)
                .where(CrawlRun.spider == spider, CrawlRun.outcome == "finished")
                .order_by(CrawlRun.id.desc())
                .limit(PREVIOUS_RUNS)
            )
        )
    return keep


def prune(
    repository: Repository, older_than: timedelta, now: datetime, *, dry_run: bool = False
) -> dict[str, int]:
    """Empty the stats of runs started before `now - older_than` and delete resolved quarantine
    entries made before it; returns how many of each (`run_stats`, `quarantine`). One
    transaction; `dry_run` counts and changes nothing."""
    cutoff = now - older_than
    resolved = (
        exists()
        .where(
            ArticlePage.path == QuarantineEntry.url,
            ArticlePage.last_seen_at > QuarantineEntry.created_at,
        )
        .correlate(QuarantineEntry)
    )
    old_entries = (QuarantineEntry.created_at < cutoff, resolved)
    with repository._write_session() as session:
        baseline = _health_baseline(session)
        runs = [
            run_id
            for run_id in session.scalars(
                select(CrawlRun.id).where(
                    CrawlRun.started_at < cutoff,
                    CrawlRun.outcome != "running",
                    cast(CrawlRun.stats, Text) != EMPTY_STATS,
                )
            )
            if run_id not in baseline
        ]
        entries = session.scalar(select(func.count(QuarantineEntry.id)).where(*old_entries)) or 0
        if not dry_run:
            for start in range(0, len(runs), CHUNK):
                chunk = runs[start : start + CHUNK]
                session.execute(
                    update(CrawlRun).where(CrawlRun.id.in_(chunk)).values(stats={}),
                    execution_options={"synchronize_session": False},
                )
            session.execute(
                delete(QuarantineEntry).where(*old_entries),
                execution_options={"synchronize_session": False},
            )
    return {"run_stats": len(runs), "quarantine": entries}
