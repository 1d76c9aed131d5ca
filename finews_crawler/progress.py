"""Live progress on a terminal, nothing under cron or in a pipe (rich).

`CrawlProgress`, a Scrapy extension (`EXTENSIONS`), shows a crawl's pages, items, errors and rate
from the crawler's stats, refreshed every `FINEWS_PROGRESS_INTERVAL` seconds; a spider that knows
how much work it has sets `progress_total` (the archive spider: the number of post files) and
gets a bar with an estimate of the time left, counting items, dropped items (quarantined ones
included) and the post files that gave no item (unreadable) as done; an archive run counts posts,
not pages. `FINEWS_PROGRESS`: `auto` (the default) shows it only when stderr is a terminal, `on`
always, `off` never. While it shows, log lines that went to stderr are printed above it.
Stats: none of its own (it only reads them).

`ExportProgress` is the same for the exports: records written, rate, and a bar with an estimate
when the number of records to export is known.
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import AsyncioLoopingCall, create_looping_call

from finews_crawler import defaults

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from twisted.internet.task import LoopingCall

logger = logging.getLogger(__name__)

MODES = ("auto", "on", "off")
#: Stats counted as errors in the crawl's progress line.
ERROR_STATS = ("finews/errors", "log_count/ERROR")
#: Stats counted as done work against a spider's `progress_total`. Not finews/quarantined: an
#: item validation quarantines is a dropped item already.
DONE_STATS = ("item_scraped_count", "item_dropped_count", "finews/import/unreadable")


def progress_mode(value: Any) -> str:
    """`auto`, `on` or `off` from a setting (booleans and 1/0 too); ValueError otherwise."""
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return "on"
    if text in ("0", "false", "no", "off", ""):
        return "off"
    if text == "auto":
        return "auto"
    raise ValueError(f"FINEWS_PROGRESS must be one of {', '.join(MODES)}, not {value!r}")


def stderr_console(stream: IO[str] | None = None, force: bool = False) -> Console:
    return Console(file=stream or sys.stderr, force_terminal=True if force else None)


def _columns(known_total: bool) -> list[Any]:
    columns: list[Any] = [TextColumn("[bold]{task.description}")]
    if known_total:
        columns += [BarColumn(), MofNCompleteColumn(), TextColumn("{task.percentage:>3.0f}%")]
    columns += [TextColumn("{task.fields[status]}"), TimeElapsedColumn()]
    if known_total:
        columns.append(TimeRemainingColumn())
    return columns


class ExportProgress:
    """Records written by an export: `advance()` per record; drawn only on a terminal."""

    def __init__(
        self,
        total: int | None = None,
        label: str = "exported",
        stream: IO[str] | None = None,
        enabled: bool | None = None,
    ) -> None:
        console = stderr_console(stream, force=bool(enabled))
        self.enabled = console.is_terminal if enabled is None else enabled
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self._progress: Progress | None = None
        if self.enabled:
            self._progress = Progress(*_columns(total is not None), console=console)
            self._task = self._progress.add_task(label, total=total, status="")
            self._progress.start()

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self._progress is not None:
            elapsed = max(time.monotonic() - self.started, 1e-9)
            status = "" if self.total is not None else f"{self.count:,} records"
            self._progress.update(
                self._task, advance=n, status=f"{status} {self.count / elapsed:,.0f}/s".strip()
            )

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ExportProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class CrawlProgress:
    """Pages, items, errors and rate of a running crawl, on the terminal that started it."""

    def __init__(self, crawler: Crawler, console: Console, interval: float) -> None:
        self.crawler = crawler
        self.console = console
        self.interval = interval
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._loop: AsyncioLoopingCall | LoopingCall | None = None
        self._rerouted: list[logging.StreamHandler[Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        settings = crawler.settings
        mode = progress_mode(settings.get("FINEWS_PROGRESS", defaults.PROGRESS))
        console = stderr_console(force=mode == "on")
        if mode == "off" or not console.is_terminal:
            # Under cron or a pipe: the usual case, not a warning (Scrapy logs a NotConfigured
            # message at WARNING).
            logger.debug(
                "No live progress: FINEWS_PROGRESS=%s, stderr a terminal: %s",
                mode,
                console.is_terminal,
            )
            raise NotConfigured
        interval = settings.getfloat("FINEWS_PROGRESS_INTERVAL", defaults.PROGRESS_INTERVAL)
        extension = cls(crawler, console, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        total = getattr(spider, "progress_total", None)
        self._progress = Progress(
            *_columns(total is not None), console=self.console, redirect_stderr=True
        )
        self._task = self._progress.add_task(spider.name, total=total, status="")
        self._progress.start()
        self._reroute_logging()
        # asyncio's when there is a loop (`finews import-archive` runs without a reactor).
        self._loop = create_looping_call(self.refresh, spider)
        self._loop.start(self.interval, now=True)

    def spider_closed(self, spider: Spider) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._progress is not None:
            self.refresh(spider)
            self._progress.stop()
            self._progress = None
        self._restore_logging()

    def status(self) -> str:
        """`pages 120 · items 80 · errors 0 · 35.2 pages/s` from the stats (`posts` for an
        archive run, which fetches no page)."""
        stats = self.crawler.stats
        assert stats is not None
        unit, pages = "pages", stats.get_value("response_received_count", 0)
        if stats.get_value("finews/offline"):
            unit, pages = "posts", stats.get_value("finews/pages", 0)
        items = stats.get_value("item_scraped_count", 0)
        errors = sum(stats.get_value(name, 0) for name in ERROR_STATS)
        rate = pages / max(time.monotonic() - self.started, 1e-9)
        return f"{unit} {pages:,} · items {items:,} · errors {errors:,} · {rate:,.1f} {unit}/s"

    def refresh(self, spider: Spider) -> None:
        if self._progress is None or self._task is None:
            return
        stats = self.crawler.stats
        assert stats is not None
        total = getattr(spider, "progress_total", None)
        done = sum(stats.get_value(name, 0) for name in DONE_STATS)
        self._progress.update(self._task, total=total, completed=done, status=self.status())

    def _reroute_logging(self) -> None:
        """Log handlers writing to the real stderr write through rich (above the live lines)."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__:
                handler.setStream(sys.stderr)
                self._rerouted.append(handler)

    def _restore_logging(self) -> None:
        for handler in self._rerouted:
            handler.setStream(sys.__stderr__)
        self._rerouted.clear()
