"""The archive spider: the site's Jekyll posts (`old_post/`) through the crawl's pipelines.

    scrapy crawl archive -a path=old_post/
    scrapy crawl archive -a path=a.md,b.md,old_post/     # several paths, comma-separated

A path is a post file or a folder searched recursively for `*.md` (`find_posts`; a path holding
a comma cannot be given this way: `finews import-archive` takes a list). Nothing is downloaded:
`start()` reads the posts (`parsing.post.read_posts`) in batches in the parser processes
(`FINEWS_PARSER_PROCESSES`, as crawled pages are) and yields their items, so an import meets the
same engine, pipelines (validation, dedupe/merge, store), signals, stats, `crawl_runs` row and
run health (`finews_crawler.extensions.RunHealth`) as a crawl. A post that cannot be read is
logged with its file and reason and quarantined (`page_quarantined`, URL = the file's path); the
import goes on.

The spider knows its total (`progress_total`: the post files), so the progress bar shows how far
it is. Items in the pipelines are bounded (MAX_IN_FLIGHT: reading waits for the store), so
memory stays flat however big the archive. `source_of(item)` gives an item's post file while
the item is in the pipelines (the import command names the file of a quarantined post with it).

Stats: finews/offline (true: nothing is fetched; see `finews_crawler.health`), finews/pages
(posts read), finews/import/posts (post files), finews/import/unreadable, and the parser's
finews/parser/processes_started and finews/parser/restarts.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.logformatter import LogFormatter, LogFormatterResult

from finews_crawler import defaults
from finews_crawler.parsing.post import PostItem, UnreadablePost
from finews_crawler.processes.parser_pool import ParserDied, ParserPool
from finews_crawler.signals import page_quarantined

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: Posts per request to a parser process: one round trip per post cost more than the reading
#: (bench/archive.py).
POSTS_PER_READ = 100
#: Batches being read ahead of the pipelines (per parser process), so a parser never waits.
READS_AHEAD = 2
#: Items yielded but not yet through the pipelines before reading waits (bounded memory), and
#: how long it waits before it looks again.
MAX_IN_FLIGHT = 500
BACKLOG_PAUSE = 0.01
#: Items whose post file the spider remembers (`source_of`).
SOURCES_KEPT = 2 * MAX_IN_FLIGHT


def find_posts(paths: Iterable[str | Path]) -> Iterator[str]:
    """Every `*.md` under the given paths (files as given, folders recursively, sorted; symlinked
    folders not followed), each once. Only the given paths are resolved (to skip a folder given
    twice, or a file inside a folder given too), and folders are listed with `os.scandir`, whose
    entries know their type: a `Path` or a `stat` per post cost more than reading it
    (bench/archive.py)."""
    seen: set[str] = set()
    for raw in paths:
        root = os.path.realpath(raw)
        if not os.path.isdir(root):
            found = [(root, str(raw))]
        else:
            found = [
                (os.path.join(root, *parts), os.path.join(raw, *parts))
                for parts in sorted(_post_files(root, ()))
            ]
        for key, post in found:
            if key not in seen:
                seen.add(key)
                yield post


def _post_files(folder: str, parts: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The `*.md` files under `folder`, as path parts relative to where the walk began."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _post_files(entry.path, (*parts, entry.name))
            elif entry.name.endswith(".md") and entry.is_file():
                yield (*parts, entry.name)


class ArchiveLogFormatter(LogFormatter):
    """Scrapy's log lines, but none at DEBUG per item (scraped, or dropped as a duplicate): an
    archive yields tens of thousands of items at once, a log record each cost ~5% of an import
    (bench/archive.py), and the stats count them."""

    def scraped(self, item: Any, response: Any, spider: scrapy.Spider) -> LogFormatterResult:
        return None

    def dropped(
        self, item: Any, exception: BaseException, response: Any, spider: scrapy.Spider
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        return None if result is not None and result["level"] == logging.DEBUG else result


class ArchiveSpider(scrapy.Spider):
    """Posts in, no requests. Arguments: `path` (comma-separated, or a list when started from
    code), `run_id` (names the run, as for the crawl spiders)."""

    name = "archive"
    custom_settings: ClassVar[dict[str, Any]] = {
        # Items only: the spider middlewares look at requests, and nothing is downloaded (the
        # retry middlewares load the HTTP and TLS stack: 0.4 s of start-up). Each spider
        # middleware is a generator layer every start item passes through (bench/).
        "SPIDER_MIDDLEWARES_BASE": {},
        "DOWNLOADER_MIDDLEWARES_BASE": {},
        "DOWNLOADER_MIDDLEWARES": {},
        "LOG_FORMATTER": f"{__name__}.ArchiveLogFormatter",
        # Bigger transactions: the posts are all there, none waits for a page to download.
        "FINEWS_STORE_BATCH_SIZE": defaults.ARCHIVE_STORE_BATCH_SIZE,
        "FINEWS_STORE_MAX_PENDING": defaults.ARCHIVE_STORE_MAX_PENDING,
    }

    def __init__(
        self, *args: Any, path: str | Sequence[str] = "", run_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        raw = path.split(",") if isinstance(path, str) else list(path)
        self.paths = [p for p in raw if str(p).strip()]
        if not self.paths:
            raise ValueError("the archive spider needs -a path=FILE_OR_FOLDER[,...]")
        self.run_id = run_id
        #: The post files, listed now: the progress bar needs the total as the spider opens.
        self.files = list(find_posts(self.paths))
        self.progress_total = len(self.files)
        #: id(item) -> its post file, for the latest SOURCES_KEPT items yielded (which include
        #: every item still in the pipelines: no more than MAX_IN_FLIGHT + a batch are).
        self.sources: dict[int, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.parser = ParserPool(
            crawler.settings.getint("FINEWS_PARSER_PROCESSES", defaults.PARSER_PROCESSES)
        )
        crawler.signals.connect(spider.close_parser, signal=signals.spider_closed)
        # Started now, the parser processes import while the engine and the store open.
        spider.parser.warm_up()
        return spider

    async def start(self) -> AsyncIterator[PostItem]:
        stats = self.crawler.stats
        stats.set_value("finews/offline", True)
        files = self.files
        stats.set_value("finews/import/posts", len(files))
        stats.set_value("finews/import/unreadable", 0)
        reads: deque[tuple[list[str], asyncio.Future[list[PostItem | UnreadablePost]]]] = deque()
        ahead = READS_AHEAD * max(1, self.parser.processes)
        for first in range(0, len(files), POSTS_PER_READ):
            batch = files[first : first + POSTS_PER_READ]
            reads.append((batch, asyncio.ensure_future(self.parser.read_posts(batch))))
            if len(reads) >= ahead:
                for item in await self._settle(*reads.popleft()):
                    yield item
        while reads:
            for item in await self._settle(*reads.popleft()):
                yield item

    async def _settle(
        self, batch: list[str], read: asyncio.Future[list[PostItem | UnreadablePost]]
    ) -> list[PostItem]:
        """The items of a batch read, once the pipelines have room; unreadable posts are
        quarantined."""
        try:
            results = await read
        except ParserDied:
            results = await self._read_one_by_one(batch)
        # The scraper's count of items in the pipelines (a public attribute of its slot): a
        # signal handler per item to count them would cost more than the waiting saves.
        slot = self.crawler.engine.scraper.slot
        while slot is not None and slot.itemproc_size >= MAX_IN_FLIGHT:
            await asyncio.sleep(BACKLOG_PAUSE)
        items = []
        sources = self.sources
        for path, result in zip(batch, results, strict=True):
            if isinstance(result, UnreadablePost):
                self.unreadable(result)
                continue
            key = id(result)
            sources.pop(key, None)  # an id freed by an item gone, now another's
            sources[key] = path
            items.append(result)
        while len(sources) > SOURCES_KEPT:
            del sources[next(iter(sources))]
        self.crawler.stats.inc_value("finews/pages", len(items))
        return items

    async def _read_one_by_one(self, batch: list[str]) -> list[PostItem | UnreadablePost]:
        """A batch that killed its parser twice: each post on its own, so only a post that
        kills it again is lost to quarantine."""
        results: list[PostItem | UnreadablePost] = []
        for path in batch:
            try:
                results += await self.parser.read_posts([path])
            except ParserDied as exc:
                results.append(
                    UnreadablePost(path, f"the parser process died reading it ({exc})", "")
                )
        return results

    def unreadable(self, post: UnreadablePost) -> None:
        logger.warning("Unreadable post %s: %s", post.path, post.reason)
        self.crawler.stats.inc_value("finews/import/unreadable")
        self.crawler.signals.send_catch_log(
            page_quarantined, url=post.path, reason=post.reason, excerpt=post.excerpt
        )

    def source_of(self, item: Any) -> str | None:
        """The post file of an item still in the pipelines (e.g. from an `item_dropped`
        handler)."""
        return self.sources.get(id(item))

    async def close_parser(self) -> None:
        await self.parser.close()
        self.crawler.stats.set_value("finews/parser/processes_started", self.parser.started)
        self.crawler.stats.set_value("finews/parser/restarts", self.parser.restarts)
