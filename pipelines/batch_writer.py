"""Writes to the article store that lose nothing: retries, batch splitting, spool and replay.

`BatchWriter` is what the store pipeline writes through: batches of items, quarantine entries and
the crawl run's finish record. Its methods are plain, blocking calls (a locked database, a
connection that times out and the pauses between retries all wait right there); in a crawl the
store pipeline runs them in its store thread, never on the event loop (`pipelines.store`).

- The database is opened on first use (`Repository`, which migrates the schema), retried like a
  write; when it cannot be opened, writes are spooled. `on_open` is called once it is open (the
  pipeline starts the crawl run then).
- A write that fails on the connection (`is_transient`: database gone, SQLite locked) is retried
  FINEWS_STORE_RETRIES times with exponential backoff from FINEWS_STORE_RETRY_DELAY seconds; then
  the batch is spooled as JSONL under FINEWS_SPOOL_DIR and replayed by the next run (`replay`).
- A batch the database rejects for its data is split, and an item that still fails is
  quarantined with the reason.

Stats (through `ThreadStats`, applied to the crawler's stats on the event loop): finews/new,
finews/updated, finews/unchanged, finews/merged (per item written), finews/store/batches,
finews/store/retries, finews/spooled, finews/spool/replayed, finews/errors, finews/quarantined.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from finews_crawler.store.engine import mask_url
from finews_crawler.store.repository import EXCERPT_MAX, Repository
from finews_crawler.store.spool import Spool

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Stats(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...

    def set_value(self, key: str, value: Any) -> None: ...


class ThreadStats:
    """Stat changes made in the store thread, applied to the crawler's stats on the event loop.

    Scrapy's stats collector is a plain dict: two threads incrementing one key may lose a count,
    and a key added while the event loop walks the stats breaks the walk.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._values: dict[str, Any] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        with self._lock:
            self._counts[key] += count

    def set_value(self, key: str, value: Any) -> None:
        with self._lock:
            self._values[key] = value

    def apply_to(self, stats: Stats) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            values, self._values = self._values, {}
        for key, count in counts.items():
            stats.inc_value(key, count)
        for key, value in values.items():
            stats.set_value(key, value)


def is_transient(exc: BaseException) -> bool:
    """A failure of the connection (worth retrying), not of the data."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def describe(exc: BaseException) -> str:
    """`Type: first line of the message` (a database error carries its SQL after that)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def excerpt_of(record: Mapping[str, Any]) -> str:
    """What a quarantine entry shows of an item: its title and text, bounded."""
    text = "\n".join(str(record.get(name) or "") for name in ("title", "body_text"))
    return text.strip()[:EXCERPT_MAX]


class BatchWriter:
    """Every write of the store pipeline to the database (see the module docstring)."""

    def __init__(
        self,
        database_url: str,
        spool: Spool,
        stats: Stats,
        *,
        retries: int,
        retry_delay: float,
        on_open: Callable[[Repository], None] | None = None,
    ) -> None:
        self.database_url = database_url
        self.spool = spool
        self.stats = stats
        self.retries = retries
        self.retry_delay = retry_delay
        self.on_open = on_open
        self.repository: Repository | None = None
        #: The crawl run the writes belong to (revisions, quarantine entries and spool lines
        #: name it); set when the run is recorded.
        self.run_id: int | None = None

    # --- the database ----------------------------------------------------------------------

    def open(self, *, retry: bool = True) -> Repository | None:
        """The repository, opened on first use; None when the database cannot be opened."""
        if self.repository is not None:
            return self.repository
        try:
            self.repository = self._retried(
                lambda: Repository(self.database_url), "Opening the database", retry=retry
            )
        except Exception as exc:
            logger.error(
                "Cannot open the database %s (%s); what cannot be written is spooled to %s",
                mask_url(self.database_url),
                exc,
                self.spool.directory,
            )
            self.stats.inc_value("finews/errors")
            return None
        if self.on_open is not None:
            self.on_open(self.repository)
        return self.repository

    def close(self) -> None:
        if self.repository is not None:
            self.repository.close()

    def _retried(self, call: Callable[[], T], what: str, *, retry: bool = True) -> T:
        """`call()`, again after a pause (doubling) while it fails on the connection."""
        attempt = 0
        while True:
            try:
                return call()
            except Exception as exc:
                if not retry or not is_transient(exc) or attempt >= self.retries:
                    raise
                delay = self.retry_delay * (2**attempt)
                attempt += 1
                self.stats.inc_value("finews/store/retries")
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.1fs",
                    what,
                    describe(exc),
                    attempt,
                    self.retries,
                    delay,
                )
                time.sleep(delay)  # in the store thread during a crawl

    # --- items -----------------------------------------------------------------------------

    def write(self, batch: list[dict[str, Any]]) -> None:
        """Write a batch: retried, split on bad data, spooled when the database stays away."""
        if self.open() is None:
            self.spool_items(batch)
            return
        try:
            self._write_retried(batch)
        except Exception as exc:
            if is_transient(exc):
                self.spool_items(batch)
                return
            if len(batch) == 1:
                self._quarantine_unstorable(batch[0], exc)
                return
            logger.warning("A batch of %d items failed (%s); writing one by one", len(batch), exc)
            for position, record in enumerate(batch):
                try:
                    self._write_retried([record])
                except Exception as single_exc:
                    if is_transient(single_exc):
                        self.spool_items(batch[position:])
                        return
                    self._quarantine_unstorable(record, single_exc)

    def _write_retried(self, batch: list[dict[str, Any]]) -> None:
        assert self.repository is not None
        repository = self.repository
        counts = self._retried(
            lambda: repository.write_items(batch, self.run_id), f"Writing {len(batch)} items"
        )
        self.count_written(counts)

    def count_written(self, counts: Mapping[str, int]) -> None:
        """Count a written batch and what became of its items (`finews/new`, ...)."""
        self.stats.inc_value("finews/store/batches")
        for status, count in counts.items():
            if count:
                self.stats.inc_value(f"finews/{status}", count)

    def spool_items(self, batch: list[dict[str, Any]]) -> None:
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
        self.quarantine(record.get("url") or "", reason, excerpt_of(record))

    # --- quarantine and the run ------------------------------------------------------------

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

    def finish_run(self, finish: Mapping[str, Any]) -> None:
        """Record how the run ended (`Repository.finish_run` arguments); spooled on failure."""
        if self.repository is not None and self.run_id is not None:
            try:
                self.repository.finish_run(self.run_id, **finish)
                return
            except Exception as exc:
                logger.error("Could not finish crawl run %s (%s); spooled", self.run_id, exc)
        if self.run_id is not None:
            self.spool.write([{"kind": "finish_run", "run_id": self.run_id, **finish}])

    # --- replay ----------------------------------------------------------------------------

    def replay(self, batch_size: int) -> None:
        """Write what earlier runs spooled; a file is removed once all of it is handled."""
        repository = self.open()
        if repository is None:
            return
        for path in self.spool.pending():
            claimed = self.spool.claim(path)
            if claimed is None:
                continue
            records = self.spool.read(claimed)
            items = [r["item"] for r in records if r.get("kind") == "item" and r.get("item")]
            logger.info("Replaying %d spooled records from %s", len(records), path.name)
            try:
                for start in range(0, len(items), batch_size):
                    self.write(items[start : start + batch_size])
                for record in records:
                    if record.get("kind") == "quarantine":
                        repository.quarantine(
                            record.get("url") or "",
                            record.get("reason") or "unknown",
                            record.get("excerpt") or "",
                            record.get("run_id") or self.run_id,
                        )
                    elif record.get("kind") == "finish_run" and record.get("run_id"):
                        repository.finish_run(
                            record["run_id"],
                            record.get("outcome") or "failed",
                            record.get("counts") or {},
                            record.get("stats") or {},
                            record.get("verdict"),
                            record.get("reasons") or (),
                        )
            except Exception as exc:
                logger.error("Replaying %s failed (%s); kept for the next run", path.name, exc)
                self.spool.release(claimed)
                self.stats.inc_value("finews/errors")
                return
            self.spool.remove(claimed)
            self.stats.inc_value("finews/spool/replayed", len(items))
