"""Scrapy extensions of finews-crawler.

`GarbageCollectionTuning`: a crawl allocates short-lived objects per request (requests,
responses, deferreds) and Python's collector runs every 700 allocations, each time walking what
survived the last one; with Scrapy, Twisted, lxml and SQLAlchemy loaded, that was ~10% of a
crawl's CPU (bench/). At engine start the extension freezes everything loaded so far (it is
never garbage: modules, settings, the ORM's tables) so collections no longer walk it, and raises
the first generation's threshold to FINEWS_GC_GEN0_THRESHOLD (0 keeps Python's).
Stats: finews/gc/frozen (objects frozen).

`StoredState`: what the database already holds, handed to a finews spider when it opens (before
its start requests are read): the paths of stored article pages, which a cron rerun does not
fetch again (none with `-a refresh=1`), and the categories stored before, which are crawled
again. Spiders never read the store themselves (one direction of flow); the database is read in
a thread, off the event loop. When it cannot be read, every article is fetched (finews/errors).

`RunHealth`: the verdict on every crawl (`scrapy crawl`, scrapyd, `finews crawl` alike). At
`spider_closed` it judges the run (`finews_crawler.health.judge`: the outcome, the layouts used,
and listings, items and field coverage against the spider's previous finished runs in
`crawl_runs`, with FINEWS_MAX_ERROR_RATIO, FINEWS_MIN_LISTED_RATIO and
FINEWS_MIN_COVERAGE_RATIO), sets the stats finews/health/verdict and finews/health/reasons, and
logs a verdict other than healthy at ERROR. The store pipeline's run record stores both with the
run (its `spider_closed` handler runs after this one: extensions are built before the engine and
its pipelines, so they are connected first). `finews crawl` exits on the verdict, and
`finews_crawler.alerts.Alerts` (after RunHealth in EXTENSIONS, so connected after it) sends it on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider

from finews_crawler import defaults
from finews_crawler.health import HEALTHY, OK_VERDICTS, PREVIOUS_RUNS, judge
from finews_crawler.spiders.base import FinewsSpider
from finews_crawler.store.repository import Repository

logger = logging.getLogger(__name__)


class GarbageCollectionTuning:
    def __init__(self, crawler: Crawler, gen0_threshold: int) -> None:
        self.crawler = crawler
        self.gen0_threshold = gen0_threshold
        self.saved_thresholds = gc.get_threshold()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GarbageCollectionTuning:
        if not crawler.settings.getbool("FINEWS_GC_TUNING", defaults.GC_TUNING):
            raise NotConfigured("FINEWS_GC_TUNING is off")
        tuning = cls(
            crawler,
            crawler.settings.getint("FINEWS_GC_GEN0_THRESHOLD", defaults.GC_GEN0_THRESHOLD),
        )
        crawler.signals.connect(tuning.engine_started, signal=signals.engine_started)
        crawler.signals.connect(tuning.engine_stopped, signal=signals.engine_stopped)
        return tuning

    def engine_started(self) -> None:
        gc.collect()
        gc.freeze()
        self.crawler.stats.set_value("finews/gc/frozen", gc.get_freeze_count())
        if self.gen0_threshold > 0:
            gc.set_threshold(self.gen0_threshold, *self.saved_thresholds[1:])

    def engine_stopped(self) -> None:
        """Leave the interpreter as it was (several crawls may run in one process)."""
        gc.set_threshold(*self.saved_thresholds)
        gc.unfreeze()


class StoredState:
    """Gives a finews spider what is stored as it opens; see the module docstring."""

    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.database_url = database_url

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoredState:
        database_url = crawler.settings.get("FINEWS_DATABASE_URL", defaults.DATABASE_URL) or ""
        if not database_url:
            raise NotConfigured("FINEWS_DATABASE_URL is empty")
        extension = cls(crawler, database_url)
        # spider_opened is awaited before the engine reads the spider's start requests.
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    async def spider_opened(self, spider: Spider) -> None:
        if not isinstance(spider, FinewsSpider):
            return
        try:
            categories, pages = await asyncio.to_thread(self.read, with_pages=not spider.refresh)
        except Exception:
            logger.exception("could not read the database; fetching every article")
            self.crawler.stats.inc_value("finews/errors")
            categories, pages = set(), set()
        spider.set_stored_state(categories, pages)

    def read(self, *, with_pages: bool) -> tuple[set[str], set[str]]:
        """The stored category slugs and (unless not wanted) article page paths."""
        with Repository(self.database_url) as repository:
            pages = repository.stored_page_paths() if with_pages else set()
            return repository.stored_category_slugs(), pages


class RunHealth:
    """Judges the run at its end; see the module docstring."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.database_url: str = settings.get("FINEWS_DATABASE_URL", defaults.DATABASE_URL) or ""
        self.thresholds = {
            "max_error_ratio": settings.getfloat(
                "FINEWS_MAX_ERROR_RATIO", defaults.MAX_ERROR_RATIO
            ),
            "min_listed_ratio": settings.getfloat(
                "FINEWS_MIN_LISTED_RATIO", defaults.MIN_LISTED_RATIO
            ),
            "min_coverage_ratio": settings.getfloat(
                "FINEWS_MIN_COVERAGE_RATIO", defaults.MIN_COVERAGE_RATIO
            ),
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunHealth:
        health = cls(crawler)
        crawler.signals.connect(health.spider_closed, signal=signals.spider_closed)
        return health

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        run_id = stats.get_value("finews/run_id")
        previous = self.previous_runs(spider.name, run_id) if reason == "finished" else []
        verdict, reasons = judge(reason, stats.get_stats(), previous, **self.thresholds)
        stats.set_value("finews/health/verdict", verdict)
        stats.set_value("finews/health/reasons", reasons)
        if verdict == HEALTHY:
            logger.info("Crawl run %s is healthy", run_id)
        elif verdict not in OK_VERDICTS:
            logger.error("Crawl run %s is %s: %s", run_id, verdict, "; ".join(reasons))

    def previous_runs(self, spider: str, run_id: int | None) -> list[dict[str, Any]]:
        """The spider's latest finished runs but this one (none when they cannot be read)."""
        if not self.database_url:
            return []
        try:
            with Repository(self.database_url) as repository:
                return repository.finished_runs(spider, PREVIOUS_RUNS, but=run_id)
        except Exception as exc:
            logger.warning("Could not read the previous runs (%s): run health compares none", exc)
            return []
