"""Store pipeline: items go to the database in batches, without holding up the crawl.

- At open: opens `Repository(FINEWS_DATABASE_URL)` (which migrates the schema) and records the
  crawl run (`pipelines.run_record`), once and without a pause, on the event loop: Scrapy
  awaits the pipelines' `open_spider` before any request goes out; when that fails the first
  write opens the database, with retries, in the store thread. What earlier runs spooled is
  replayed in the store thread.
- Items are buffered and written every FINEWS_STORE_BATCH_SIZE items, and at close, one
  transaction per batch (merge and dedupe by infoCode happen in the repository). With
  FINEWS_STORE_PROCESS (default on a machine with more than one core) batches are written by a
  writer process (`finews_crawler.processes.store_writer`), so the crawl's core keeps crawling.
  Otherwise (FINEWS_STORE_PROCESS off, the writer could not start), and for a batch the writer
  could not write (after the writer died, for every batch), the batch goes through
  `pipelines.batch_writer.BatchWriter` (retries, splitting, quarantine, spool) in the store
  thread: a locked or vanished database, and the pauses between retries, never
  block the crawl's event loop. At most FINEWS_STORE_MAX_PENDING batches are in flight (then
  items wait), and the spider closes only when every one has landed. Without an event loop (a
  caller driving the pipeline by hand, as unit tests do; archive imports run on Scrapy's engine)
  every write happens at once, in the caller.
- Through Scrapy's `item_dropped` signal it also stores items other pipelines dropped with
  `DuplicateItem` (a later page of an article the feed already has: merged, not lost) and
  quarantines items dropped with `QuarantineItem`; `item_error` (a pipeline crashed on an item)
  and the `page_quarantined` signal quarantine too (see `pipelines.errors`).
- At `spider_closed`: finishes the run row with its outcome, counts and stats
  (`pipelines.run_record`), in the store thread as well.

Stats: those of `pipelines.batch_writer`, finews/store/writer_batches (written by the writer
process), finews/store/writer_failed (batches it handed back), finews/errors and
finews/quarantined (for what this pipeline quarantines itself).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import NotConfigured

from finews_crawler import defaults
from finews_crawler.items import ArticleItem
from finews_crawler.processes.child import ChildDied, ChildProcess
from finews_crawler.signals import page_quarantined
from finews_crawler.store.repository import Repository
from finews_crawler.store.spool import Spool
from pipelines.batch_writer import BatchWriter, ThreadStats, describe, excerpt_of
from pipelines.errors import DuplicateItem, QuarantineItem
from pipelines.run_record import RunRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

WRITER_MODULE = "finews_crawler.processes.store_writer"


def _event_loop_running() -> bool:
    """Whether an event loop runs here (a crawl, an archive import); a caller driving the
    pipeline by hand may have none, and then it writes at once."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_crawl_or_now(work: Coroutine[Any, Any, None]) -> Coroutine[Any, Any, None] | None:
    """In a crawl, `work` for Scrapy to await; without an event loop, done here and now."""
    if _event_loop_running():
        return work
    asyncio.run(work)
    return None


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
        self.run = RunRecord(
            crawler,
            settings.getfloat("FINEWS_MAX_ERROR_RATIO", defaults.MAX_ERROR_RATIO),
            settings.getfloat("FINEWS_STALE_RUN_AGE", defaults.STALE_RUN_AGE),
        )
        #: Stats counted by writes in the store thread, applied here on the event loop.
        self.thread_stats = ThreadStats()
        self.writes = BatchWriter(
            self.database_url,
            Spool(settings.get("FINEWS_SPOOL_DIR") or defaults.SPOOL_DIR),
            self.thread_stats,
            retries=max(0, settings.getint("FINEWS_STORE_RETRIES", defaults.STORE_RETRIES)),
            retry_delay=max(
                0.0, settings.getfloat("FINEWS_STORE_RETRY_DELAY", defaults.STORE_RETRY_DELAY)
            ),
            on_open=self._start_run,
        )
        self.use_writer = settings.getbool("FINEWS_STORE_PROCESS", defaults.STORE_PROCESS)
        max_pending = settings.getint("FINEWS_STORE_MAX_PENDING", defaults.STORE_MAX_PENDING)
        self.max_pending = max(1, max_pending)
        self.writer: asyncio.Future[ChildProcess | None] | None = None
        #: Writes in flight (in the writer process or the store thread).
        self.pending: set[asyncio.Future] = set()
        #: One thread, so writes land in the order they were made.
        self.thread: ThreadPoolExecutor | None = None
        self.buffer: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(pipeline.item_error, signal=signals.item_error)
        crawler.signals.connect(pipeline.page_quarantined, signal=page_quarantined)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    @property
    def repository(self) -> Repository | None:
        """The article store, once open."""
        return self.writes.repository

    @property
    def run_id(self) -> int | None:
        """The crawl run's id in `crawl_runs`, once recorded."""
        return self.writes.run_id

    # --- Scrapy component methods -----------------------------------------------------------

    def open_spider(self) -> None:
        # One attempt, no pause: nothing is downloading yet. When it fails, the first write
        # opens the database (with retries, in the store thread).
        if self.writes.open(retry=False) is not None:
            self._off_loop(partial(self.writes.replay, self.batch_size))
        self._apply_thread_stats()

    def process_item(self, item: Any) -> Any:
        self.add(item)
        if len(self.pending) >= self.max_pending:
            return self._when_written(item)
        return item

    def close_spider(self) -> Coroutine[Any, Any, None] | None:
        """Write what is buffered; in a crawl, an awaitable of the last writes."""
        self.flush()
        self.run.publish()
        return _in_crawl_or_now(self._written())

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
                exception.excerpt if exception.excerpt is not None else excerpt_of(record),
            )

    def item_error(
        self, item: Any, response: Response | None, spider: Spider, failure: Failure
    ) -> None:
        record = self._record(item)
        self.stats.inc_value("finews/errors")
        self.stats.inc_value("finews/quarantined")
        reason = f"pipeline error: {failure.type.__name__}: {failure.getErrorMessage()}"
        self.quarantine(record.get("url") or "", reason, excerpt_of(record))

    def page_quarantined(self, url: str, reason: str, excerpt: str | None = None) -> None:
        self.stats.inc_value("finews/quarantined")
        self.quarantine(url, reason, excerpt or "")

    def spider_closed(self, spider: Spider, reason: str) -> Coroutine[Any, Any, None] | None:
        """Finish the run row once every write has landed; then close the database."""
        return _in_crawl_or_now(self._finish_run(reason))

    async def _finish_run(self, reason: str) -> None:
        await self._written()
        self._apply_thread_stats()
        finish = self.run.finish(reason)
        # In the store thread too: a locked database must not hold the event loop, which other
        # crawls of the same process (and Scrapy's own shutdown) still run on.
        await self._in_thread(partial(self._finish_and_close, finish))
        assert self.thread is not None
        self.thread.shutdown()

    def _finish_and_close(self, finish: dict[str, Any]) -> None:
        self.writes.finish_run(finish)
        self.writes.close()

    def _start_run(self, repository: Repository) -> None:
        """Record the crawl run, once the database is open."""
        if self.writes.run_id is None:
            self.writes.run_id = self.run.start(repository, self.thread_stats)

    # --- buffering -------------------------------------------------------------------------

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
        self.run.count(record)
        self.buffer.append(record)
        if len(self.buffer) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write whatever is buffered: in the writer process when there is one, else in the
        store thread."""
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        if self.use_writer and self.writes.repository is not None and _event_loop_running():
            self._track(asyncio.ensure_future(self._write_in_writer(batch)))
        else:
            self._off_loop(partial(self.writes.write, batch))

    def quarantine(self, url: str, reason: str, excerpt: str = "") -> None:
        """Record a quarantined page (in the store thread during a crawl)."""
        self._off_loop(partial(self.writes.quarantine, url, reason, excerpt))

    # --- where writes run ------------------------------------------------------------------

    def _off_loop(self, write: Callable[[], None]) -> None:
        """A blocking write: in a crawl, run in the store thread and tracked until it lands;
        without an event loop, run here."""
        if _event_loop_running():
            self._track(asyncio.ensure_future(self._in_thread(write)))
        else:
            write()
            self._apply_thread_stats()

    async def _in_thread(self, write: Callable[[], None]) -> None:
        if self.thread is None:
            self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finews-store")
        try:
            await asyncio.get_running_loop().run_in_executor(self.thread, write)
        finally:
            self._apply_thread_stats()

    def _apply_thread_stats(self) -> None:
        self.thread_stats.apply_to(self.stats)

    def _track(self, write: asyncio.Future) -> None:
        self.pending.add(write)
        write.add_done_callback(self.pending.discard)

    async def _when_written(self, item: Any) -> Any:
        """Hold an item while FINEWS_STORE_MAX_PENDING batches are in flight (bounded memory)."""
        while len(self.pending) >= self.max_pending:
            await asyncio.wait(set(self.pending), return_when=asyncio.FIRST_COMPLETED)
        return item

    async def _written(self) -> None:
        """Wait for every write in flight; then stop the writer process."""
        while self.pending:
            await asyncio.wait(set(self.pending))
        if self.writer is not None and (writer := await self.writer) is not None:
            self.writer = None
            await writer.close()

    # --- the writer process ------------------------------------------------------------------

    async def _write_in_writer(self, batch: list[dict[str, Any]]) -> None:
        writer = await self._writer()
        if writer is None:
            await self._in_thread(partial(self.writes.write, batch))
            return
        try:
            counts = await writer.call((batch, self.writes.run_id))
        except Exception as exc:
            if isinstance(exc, ChildDied):
                self.use_writer = False  # later batches are written here, without a detour
            self.stats.inc_value("finews/store/writer_failed")
            logger.warning(
                "The writer process could not write %d items (%s); writing them here",
                len(batch),
                describe(exc),
            )
            await self._in_thread(partial(self.writes.write, batch))
            return
        self.stats.inc_value("finews/store/writer_batches")
        self.writes.count_written(counts)
        self._apply_thread_stats()

    def _writer(self) -> asyncio.Future[ChildProcess | None]:
        """The writer process, started on first use (None when it cannot start)."""
        if self.writer is None:
            self.writer = asyncio.ensure_future(self._start_writer())
        return self.writer

    async def _start_writer(self) -> ChildProcess | None:
        try:
            return await ChildProcess.start(WRITER_MODULE, self.database_url)
        except OSError as exc:
            logger.error("Could not start the writer process (%s); writing here", exc)
            self.use_writer = False
            return None
