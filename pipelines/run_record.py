"""The crawl run's row in `crawl_runs`: started when the store opens, finished at spider close.

- Start: first, runs left `running` whose process is gone (`finews_crawler.processes.liveness`,
  FINEWS_STALE_RUN_AGE for other hosts) are marked `killed` with the reason, counted in
  `finews/runs_killed`, logged at ERROR and announced with the `runs_killed` signal. Then the
  row: the spider's name, its optional `run_id` attribute as the run key (workers of a shared
  run share the row), this process's host and pid; its id goes to the stat `finews/run_id`.
- Items: field coverage, the share of items with each field non-empty, over every item the store
  pipeline was given (pages merged into an article the feed already had included).
- Finish: the outcome (`finews_crawler.health.run_outcome`, from the spider's close reason and
  FINEWS_MAX_ERROR_RATIO), the counts from the crawler stats (`finews/pages` +
  `finews/listing_pages`, `finews/new`, `updated`, `unchanged`, `merged`, `duplicate`,
  `quarantined`, errors) and every stat, with the field coverage and the number of items (also
  published as the stats `field_coverage` and `items` when the store closes), and the health
  verdict and its reasons that `finews_crawler.extensions.RunHealth` set as stats.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from finews_crawler.health import error_count, run_outcome
from finews_crawler.items import ArticleItem
from finews_crawler.processes.liveness import this_process, why_gone
from finews_crawler.signals import runs_killed
from finews_crawler.store.models import utcnow

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from finews_crawler.store.repository import Repository
    from pipelines.batch_writer import Stats

logger = logging.getLogger(__name__)

#: Item fields whose coverage is recorded (the ArticleItem fields).
COVERAGE_FIELDS = tuple(f.name for f in fields(ArticleItem) if f.name != "parse_error")
#: Counters of a run kept as columns of crawl_runs, each from the stat `finews/<name>`.
COUNTED = ("new", "updated", "unchanged", "merged", "duplicate", "quarantined")


class RunRecord:
    """What the store pipeline records about its crawl run."""

    def __init__(self, crawler: Crawler, max_error_ratio: float, stale_age: float) -> None:
        self.crawler = crawler
        self.max_error_ratio = max_error_ratio
        self.stale_age = stale_age
        self.items_seen = 0
        self.coverage: Counter[str] = Counter()

    def start(self, repository: Repository, stats: Stats) -> int | None:
        """Record the start of the run; its id, or None when it could not be recorded. `stats`
        counts what happened (the store thread's, when it starts the run)."""
        spider = self.crawler.spider
        run_key = getattr(spider, "run_id", None)
        host, pid = this_process()
        try:
            self.mark_killed(repository, stats)
        except Exception:
            # Killed runs stay `running` until a later run can mark them; this one goes on.
            logger.exception("Could not check the runs left running in %r", repository)
            stats.inc_value("finews/errors")
        try:
            run_id = repository.start_run(spider.name, str(run_key) if run_key else None, host, pid)
        except Exception:
            logger.exception("Could not record the crawl run in %r", repository)
            stats.inc_value("finews/errors")
            return None
        stats.set_value("finews/run_id", run_id)
        return run_id

    def mark_killed(self, repository: Repository, stats: Stats) -> None:
        """Mark the runs left `running` whose process is gone as `killed`, and announce them."""
        now = utcnow()
        killed = []
        for run in repository.running_runs():
            started_at = datetime.fromisoformat(run["started_at"])
            why = why_gone(run["host"], run["pid"], started_at, now=now, stale_age=self.stale_age)
            if why is None:
                continue
            reason = f"{why}; noticed at {now.isoformat(timespec='seconds')}"
            if repository.mark_killed(run["id"], reason):
                logger.error("Crawl run %s (%s) was killed: %s", run["id"], run["spider"], why)
                killed.append(repository.get_run(run["id"]))
        if killed:
            stats.inc_value("finews/runs_killed", len(killed))
            self.crawler.signals.send_catch_log(runs_killed, runs=killed)

    def count(self, record: Mapping[str, Any]) -> None:
        """Count an item's non-empty fields."""
        self.items_seen += 1
        for name in COVERAGE_FIELDS:
            if record.get(name) not in (None, "", [], {}):
                self.coverage[name] += 1

    def field_coverage(self) -> dict[str, float]:
        if not self.items_seen:
            return {}
        return {name: round(self.coverage[name] / self.items_seen, 4) for name in COVERAGE_FIELDS}

    def publish(self) -> None:
        """Put the items counted and their field coverage in the crawler stats (where run health
        reads them)."""
        self.crawler.stats.set_value("items", self.items_seen)
        self.crawler.stats.set_value("field_coverage", self.field_coverage())

    def finish(self, reason: str) -> dict[str, Any]:
        """How the run ended, as `Repository.finish_run` takes it: outcome, counts, stats, and
        the verdict of run health (`finews_crawler.extensions.RunHealth`, when enabled)."""
        self.publish()
        stats = self.crawler.stats.get_stats()
        outcome, why = run_outcome(reason, stats, self.max_error_ratio)
        counts = {
            "pages": stats.get("finews/pages", 0) + stats.get("finews/listing_pages", 0),
            "errors": error_count(stats),
        }
        for name in COUNTED:
            counts[name] = stats.get(f"finews/{name}", 0)
        run_stats = dict(stats)
        run_stats["finish_reason"] = reason
        run_stats["outcome_reason"] = why
        if outcome != "finished":
            logger.warning("Crawl run %s %s: %s", stats.get("finews/run_id"), outcome, why)
        return {
            "outcome": outcome,
            "counts": counts,
            "stats": run_stats,
            "verdict": stats.get("finews/health/verdict"),
            "reasons": list(stats.get("finews/health/reasons") or []),
        }
