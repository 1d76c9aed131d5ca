"""Store pipeline: items go to the database in batches; a run is recorded from start to finish.

- At open: opens `Repository(FINEWS_DATABASE_URL)` (which migrates the schema), records a crawl run
  (spider name and the spider's optional `run_id` attribute as the run key; the run's id is in
  the stat `finews/run_id`) and replays what earlier runs spooled.
- Items are buffered and written every FINEWS_STORE_BATCH_SIZE items, and at close, one
  transaction per batch (merge and dedupe by infoCode happen in the repository). With
  FINEWS_STORE_PROCESS (default on a machine with more than one core) batches are written by a
  writer process (`finews_crawler.store.writer`), so the crawl's core keeps crawling; at most
  FINEWS_STORE_MAX_PENDING batches are in flight (then items wait), and a batch the writer could
  not write is written here instead, the way below, so its failures are handled once (after the
  writer died, every batch is). A write that
  fails on the connection (database gone, SQLite locked) is retried FINEWS_STORE_RETRIES times
  with exponential backoff from FINEWS_STORE_RETRY_DELAY seconds; then the batch is spooled as
  JSONL under FINEWS_SPOOL_DIR and replayed by the next run. A batch the database rejects for
  its data is split, and an item that still fails is quarantined: nothing is silently lost.
- Through Scrapy's `item_dropped` signal it also stores items other pipelines dropped with
  `DuplicateItem` (a later page of an article the feed already has: merged, not lost) and
  quarantines items dropped with `QuarantineItem`; `item_error` (a pipeline crashed on an item)
  and the `page_quarantined` signal quarantine too (see `pipelines.errors`).
- At `spider_closed`: finishes the run with its outcome, its counts from the crawler stats
  (`finews/pages` + `finews/listing_pages`, `finews/new`, `updated`, `unchanged`, `merged`,
  `duplicate`, `quarantined`, `errors`) and its stats, including field coverage (the share of
  items with each field non-empty). Outcome: `interrupted` when shut down by a signal; `failed`
  when the crawl did not finish, no page was fetched (unless `finews/offline`: an archive
  import) or read, or errors (`error_count`) exceed FINEWS_MAX_ERROR_RATIO of the pages
  (default 0.2); else `finished`. Run health against earlier runs: `finews_crawler.health`.

Stats: finews/new, finews/updated, finews/unchanged, finews/merged (per item written),
finews/store/batches, finews/store/writer_batches (written by the writer process),
finews/store/writer_failed (batches it handed back), finews/store/retries, finews/spooled,
finews/spool/replayed,
finews/errors, finews/quarantined (for what this pipeline quarantines itself).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from finews_crawler import defaults
from finews_crawler.child_process import ChildDied, ChildProcess
from finews_crawler.items import ArticleItem
from finews_crawler.signals import page_quarantined
from finews_crawler.store.engine import mask_url
from finews_crawler.store.repository import EXCERPT_MAX, Repository
from finews_crawler.store.spool import Spool
from pipelines.errors import DuplicateItem, QuarantineItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

#: Item fields whose coverage is recorded (the ArticleItem fields).
COVERAGE_FIELDS = tuple(f.name for f in fields(ArticleItem) if f.name != "parse_error")


def is_transient(exc: BaseException) -> bool:
    """A failure of the connection (worth retrying), not of the data."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def error_count(stats: dict[str, Any]) -> int:
    """Pages that failed after their retries, and callbacks that raised.

    Not every ERROR log line: the share host being gone is expected and costs no article.
    """
    exceptions = (v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    return stats.get("finews/errors", 0) + sum(exceptions)


def run_outcome(
    reason: str | None, stats: dict[str, Any], max_error_ratio: float
) -> tuple[str, str]:
    """(outcome, why) of a run from the spider's close reason and the crawler stats."""
    if reason == "shutdown":
        return "interrupted", "shut down before the crawl finished"
    if reason != "finished":
        return "failed", f"the crawl did not finish ({reason})"
    if not stats.get("finews/offline") and not stats.get("downloader/response_count", 0):
        return "failed", "no page was fetched"
    pages = stats.get("finews/pages", 0) + stats.get("finews/listing_pages", 0)
    if not pages:
        return "failed", "no listing or article page could be read"
    errors = error_count(stats)
    if errors > max_error_ratio * pages:
        return "failed", f"{errors} errors for {pages} pages (more than {max_error_ratio:.0%})"
    return "finished", ""


def describe(exc: BaseException) -> str:
    """`Type: first line of the message` (a database error carries its SQL after that)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _event_loop_running() -> bool:
    """Whether an event loop runs here (a crawl) to drive the writer process; an archive import
    drives the pipelines without one and writes in-process."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _excerpt(record: dict[str, Any]) -> str:
    text = "\n".join(str(record.get(name) or "") for name in ("title", "body_text"))
    return text.strip()[:EXCERPT_MAX]


class StorePipeline:
    """Writes items to the article store; records the crawl run and quarantined pages."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.database_url: str = settings.get("FINEWS_DATABASE_URL", defaults.DATABASE_URL) or ""
        if not self.database_url:
            raise NotConfigured("FINEWS_DATABASE_URL is empty")
        batch_size = settings.getint("FINEWS_STORE_BATCH_SIZE", defaults.STORE_BATCH_SIZE)
        self.batch_size = max(1, batch_size)
        self.retries = max(0, settings.getint("FINEWS_STORE_RETRIES", defaults.STORE_RETRIES))
        self.retry_delay = max(
            0.0, settings.getfloat("FINEWS_STORE_RETRY_DELAY", defaults.STORE_RETRY_DELAY)
        )
        self.max_error_ratio = settings.getfloat("FINEWS_MAX_ERROR_RATIO", defaults.MAX_ERROR_RATIO)
        self.spool = Spool(settings.get("FINEWS_SPOOL_DIR") or defaults.SPOOL_DIR)
        self.use_writer = settings.getbool("FINEWS_STORE_PROCESS", defaults.STORE_PROCESS)
        max_pending = settings.getint("FINEWS_STORE_MAX_PENDING", defaults.STORE_MAX_PENDING)
        self.max_pending = max(1, max_pending)
        self.writer: asyncio.Future[ChildProcess | None] | None = None
        self.pending: set[asyncio.Future] = set()
        self.repository: Repository | None = None
        self.run_id: int | None = None
        self.buffer: list[dict[str, Any]] = []
        self.items_seen = 0
        self.coverage: Counter[str] = Counter()
        self.sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        crawler.signals.connect(pipeline.page_quarantined, signal=page_quarantined)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # --- Scrapy component methods -----------------------------------------------------------

    def open_spider(self) -> None:
        self.repository = self._open_repository()
        if self.repository is None:
            return
        self._start_run()
        self.replay_spool()

    def process_item(self, item: Any) -> Any:
        self.add(item)
        if len(self.pending) >= self.max_pending:
            return self._when_written(item)
        return item

    def close_spider(self) -> Any:
        """Write what is buffered; with a writer process, an awaitable of the last writes."""
        self.flush()
        if self.pending or self.writer is not None:
            return self._close_writer()
        return None

    # --- signals ---------------------------------------------------------------------------

    def item_dropped(
        self, item: Any, response: Response | None, exception: BaseException, spider: Spider
    ) -> None:
        if isinstance(exception, DuplicateItem):
            self.add(item)
        elif isinstance(exception, QuarantineItem):
            record = self._record(item)
            self.quarantine(
                exception.url or record.get("url") or "",
                exception.reason,
                exception.excerpt if exception.excerpt is not None else _excerpt(record),
            )

    def item_error(
        self, item: Any, response: Response | None, spider: Spider, failure: Failure
    ) -> None:
        record = self._record(item)
        self.stats.inc_value("finews/errors")
        self.stats.inc_value("finews/quarantined")
        reason = f"pipeline error: {failure.type.__name__}: {failure.getErrorMessage()}"
        self.quarantine(record.get("url") or "", reason, _excerpt(record))

    def page_quarantined(self, url: str, reason: str, excerpt: str | None = None) -> None:
        self.stats.inc_value("finews/quarantined")
        self.quarantine(url, reason, excerpt or "")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.stats.get_stats()
        outcome, why = run_outcome(reason, stats, self.max_error_ratio)
        counts = {
            "pages": stats.get("finews/pages", 0) + stats.get("finews/listing_pages", 0),
            "errors": error_count(stats),
        }
        for name in ("new", "updated", "unchanged", "merged", "duplicate", "quarantined"):
            counts[name] = stats.get(f"finews/{name}", 0)
        run_stats = dict(stats)
        run_stats["finish_reason"] = reason
        run_stats["outcome_reason"] = why
        run_stats["items"] = self.items_seen
        run_stats["field_coverage"] = self.field_coverage()
        if outcome != "finished":
            logger.warning("Crawl run %s %s: %s", self.run_id, outcome, why)
        if self.repository is not None and self.run_id is not None:
            try:
                self.repository.finish_run(self.run_id, outcome, counts, run_stats)
            except Exception as exc:
                logger.error("Could not finish crawl run %s (%s); spooled", self.run_id, exc)
                self.spool.write(
                    [
                        {
                            "kind": "finish_run",
                            "run_id": self.run_id,
                            "outcome": outcome,
                            "counts": counts,
                            "stats": run_stats,
                        }
                    ]
                )
        if self.repository is not None:
            self.repository.close()

    def _start_run(self) -> None:
        """Record the crawl run (once the database is there)."""
        if self.repository is None or self.run_id is not None:
            return
        spider = self.crawler.spider
        run_key = getattr(spider, "run_id", None)
        try:
            self.run_id = self.repository.start_run(spider.name, str(run_key) if run_key else None)
        except Exception:
            logger.exception("Could not record the crawl run in %s", mask_url(self.database_url))
            self.stats.inc_value("finews/errors")
        else:
            self.stats.set_value("finews/run_id", self.run_id)

    # --- buffering and writing -------------------------------------------------------------

    @staticmethod
    def _record(item: Any) -> dict[str, Any]:
        if isinstance(item, ArticleItem):
            # A shallow copy: this is the last pipeline, nothing changes the item after it, and
            # ItemAdapter.asdict's deep copy was a tenth of the pipelines' time (bench/).
            return dict(vars(item))
        return dict(item) if isinstance(item, dict) else ItemAdapter(item).asdict()

    def add(self, item: Any) -> None:
        """Buffer an item; a full buffer is written at once."""
        record = self._record(item)
        self.items_seen += 1
        for name in COVERAGE_FIELDS:
            if record.get(name) not in (None, "", [], {}):
                self.coverage[name] += 1
        self.buffer.append(record)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write whatever is buffered."""
        batch, self.buffer = self.buffer, []
        if batch:
            self.store(batch)

    def field_coverage(self) -> dict[str, float]:
        if not self.items_seen:
            return {}
        return {name: round(self.coverage[name] / self.items_seen, 4) for name in COVERAGE_FIELDS}

    def store(self, batch: list[dict[str, Any]]) -> None:
        """Write a batch: in the writer process when there is one, else here."""
        if self.use_writer and self.repository is not None and _event_loop_running():
            written = asyncio.ensure_future(self._write_in_writer(batch))
            self.pending.add(written)
            written.add_done_callback(self.pending.discard)
        else:
            self.write_batch(batch)

    # --- the writer process ------------------------------------------------------------------

    async def _write_in_writer(self, batch: list[dict[str, Any]]) -> None:
        writer = await self._writer()
        if writer is None:
            self.write_batch(batch)
            return
        try:
            counts = await writer.call((batch, self.run_id))
        except Exception as exc:
            if isinstance(exc, ChildDied):
                self.use_writer = False  # later batches are written here, without a detour
            self.stats.inc_value("finews/store/writer_failed")
            logger.warning(
                "The writer process could not write %d items (%s); writing them here",
                len(batch),
                describe(exc),
            )
            self.write_batch(batch)
            return
        self.stats.inc_value("finews/store/writer_batches")
        self._count_written(counts)

    def _writer(self) -> asyncio.Future[ChildProcess | None]:
        """The writer process, started on first use (None when it cannot start)."""
        if self.writer is None:
            self.writer = asyncio.ensure_future(self._start_writer())
        return self.writer

    async def _start_writer(self) -> ChildProcess | None:
        try:
            return await ChildProcess.start("finews_crawler.store.writer", self.database_url)
        except OSError as exc:
            logger.error("Could not start the writer process (%s); writing here", exc)
            self.use_writer = False
            return None

    async def _when_written(self, item: Any) -> Any:
        """Hold an item while FINEWS_STORE_MAX_PENDING batches are in flight (bounded memory)."""
        while len(self.pending) >= self.max_pending:
            await asyncio.wait(set(self.pending), return_when=asyncio.FIRST_COMPLETED)
        return item

    async def _close_writer(self) -> None:
        while self.pending:
            await asyncio.wait(set(self.pending))
        if self.writer is not None and (writer := await self.writer) is not None:
            await writer.close()

    # --- writing here ------------------------------------------------------------------------

    def write_batch(self, batch: list[dict[str, Any]]) -> None:
        """Write a batch: retried, split on bad data, spooled when the database stays away."""
        if self.repository is None:
            self.repository = self._open_repository()
            if self.repository is None:
                self._spool_items(batch)
                return
            self._start_run()
        try:
            self._write_with_retries(batch)
        except Exception as exc:
            if is_transient(exc):
                self._spool_items(batch)
                return
            if len(batch) == 1:
                self._quarantine_unstorable(batch[0], exc)
                return
            logger.warning("A batch of %d items failed (%s); writing one by one", len(batch), exc)
            for position, record in enumerate(batch):
                try:
                    self._write_with_retries([record])
                except Exception as single_exc:
                    if is_transient(single_exc):
                        self._spool_items(batch[position:])
                        return
                    self._quarantine_unstorable(record, single_exc)

    def _write_with_retries(self, batch: list[dict[str, Any]]) -> None:
        assert self.repository is not None
        attempt = 0
        while True:
            try:
                counts = self.repository.write_items(batch, self.run_id)
            except Exception as exc:
                if not is_transient(exc) or attempt >= self.retries:
                    raise
                delay = self.retry_delay * (2**attempt)
                attempt += 1
                self.stats.inc_value("finews/store/retries")
                logger.warning(
                    "Writing %d items failed (%s); retry %d/%d in %.1fs",
                    len(batch),
                    describe(exc),
                    attempt,
                    self.retries,
                    delay,
                )
                self.sleep(delay)
                continue
            self._count_written(counts)
            return

    def _count_written(self, counts: dict[str, int]) -> None:
        self.stats.inc_value("finews/store/batches")
        for status, count in counts.items():
            if count:
                self.stats.inc_value(f"finews/{status}", count)

    def _spool_items(self, batch: list[dict[str, Any]]) -> None:
        path = self.spool.write(
            {"kind": "item", "run_id": self.run_id, "item": record} for record in batch
        )
        self.stats.inc_value("finews/spooled", len(batch))
        logger.error("Database unavailable: %d items spooled to %s", len(batch), path)

    def _quarantine_unstorable(self, record: dict[str, Any], exc: BaseException) -> None:
        self.stats.inc_value("finews/errors")
        self.stats.inc_value("finews/quarantined")
        reason = f"could not be stored: {describe(exc)[:300]}"
        logger.error("Item %s %s", record.get("url"), reason)
        self.quarantine(record.get("url") or "", reason, _excerpt(record))

    def quarantine(self, url: str, reason: str, excerpt: str = "") -> None:
        """Record a quarantined page; spooled when the database is away."""
        excerpt = (excerpt or "")[:EXCERPT_MAX]
        if self.repository is not None:
            try:
                self.repository.quarantine(url, reason, excerpt, self.run_id)
                return
            except Exception as exc:
                logger.error("Could not record quarantined %s (%s); spooled", url, exc)
        self.spool.write(
            [
                {
                    "kind": "quarantine",
                    "url": url,
                    "reason": reason,
                    "excerpt": excerpt,
                    "run_id": self.run_id,
                }
            ]
        )

    def _open_repository(self) -> Repository | None:
        attempt = 0
        while True:
            try:
                return Repository(self.database_url)
            except Exception as exc:
                if not is_transient(exc) or attempt >= self.retries:
                    logger.error(
                        "Cannot open the database %s (%s); writes will be spooled to %s",
                        mask_url(self.database_url),
                        exc,
                        self.spool.directory,
                    )
                    self.stats.inc_value("finews/errors")
                    return None
                self.sleep(self.retry_delay * (2**attempt))
                attempt += 1

    # --- replay ----------------------------------------------------------------------------

    def replay_spool(self) -> None:
        """Write what earlier runs spooled; a file is removed once all of it is handled."""
        if self.repository is None:
            return
        for path in self.spool.pending():
            claimed = self.spool.claim(path)
            if claimed is None:
                continue
            records = self.spool.read(claimed)
            items = [r["item"] for r in records if r.get("kind") == "item" and r.get("item")]
            logger.info("Replaying %d spooled records from %s", len(records), path.name)
            try:
                for start in range(0, len(items), self.batch_size):
                    self.write_batch(items[start : start + self.batch_size])
                for record in records:
                    if record.get("kind") == "quarantine":
                        self.repository.quarantine(
                            record.get("url") or "",
                            record.get("reason") or "unknown",
                            record.get("excerpt") or "",
                            record.get("run_id") or self.run_id,
                        )
                    elif record.get("kind") == "finish_run" and record.get("run_id"):
                        self.repository.finish_run(
                            record["run_id"],
                            record.get("outcome") or "failed",
                            record.get("counts") or {},
                            record.get("stats") or {},
                        )
            except Exception as exc:
                logger.error("Replaying %s failed (%s); kept for the next run", path.name, exc)
                self.spool.release(claimed)
                self.stats.inc_value("finews/errors")
                return
            self.spool.remove(claimed)
            self.stats.inc_value("finews/spool/replayed", len(items))
