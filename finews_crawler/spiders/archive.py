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
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals

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
#: Items yielded but not yet through the pipelines before reading waits (bounded memory).
MAX_IN_FLIGHT = 2_000


def find_posts(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every `*.md` under the given paths (files as given, folders recursively, sorted)."""
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        found = sorted(p for p in path.rglob("*.md") if p.is_file()) if path.is_dir() else [path]
        for post in found:
            key = post.resolve()
            if key not in seen:
                seen.add(key)
                yield post


class ArchiveSpider(scrapy.Spider):
    """Posts in, no requests. Arguments: `path` (comma-separated, or a list when started from
    code), `run_id` (names the run, as for the crawl spiders)."""

    name = "archive"

    def __init__(
        self, *args: Any, path: str | Sequence[str] = "", run_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        raw = path.split(",") if isinstance(path, str) else list(path)
        self.paths = [p for p in raw if str(p).strip()]
        if not self.paths:
            raise ValueError("the archive spider needs -a path=FILE_OR_FOLDER[,...]")
        self.run_id = run_id
        #: Post files to read; known once `start()` has listed them.
        self.progress_total: int | None = None
        #: id(item) -> its post file, for the items in the pipelines.
        self.in_flight: dict[int, str] = {}
        self.room = asyncio.Event()
        self.room.set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArchiveSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.parser = ParserPool(
            crawler.settings.getint("FINEWS_PARSER_PROCESSES", defaults.PARSER_PROCESSES)
        )
        crawler.signals.connect(spider.item_done, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_done, signal=signals.item_dropped)
        crawler.signals.connect(spider.item_done, signal=signals.item_error)
        crawler.signals.connect(spider.close_parser, signal=signals.spider_closed)
        return spider

    async def start(self) -> AsyncIterator[PostItem]:
        stats = self.crawler.stats
        stats.set_value("finews/offline", True)
        files = [str(path) for path in find_posts(self.paths)]
        self.progress_total = len(files)
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
        await self.room.wait()
        items = []
        for path, result in zip(batch, results, strict=True):
            if isinstance(result, UnreadablePost):
                self.unreadable(result)
            else:
                self.in_flight[id(result)] = path
                items.append(result)
        self.crawler.stats.inc_value("finews/pages", len(items))
        if len(self.in_flight) >= MAX_IN_FLIGHT:
            self.room.clear()
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
        """The post file of an item still in the pipelines. Signal handlers connected before
        the crawl started run before this spider's, so theirs may still ask."""
        return self.in_flight.get(id(item))

    def item_done(self, item: Any, **kwargs: Any) -> None:
        """An item left the pipelines (stored, merged, quarantined or failed)."""
        self.in_flight.pop(id(item), None)
        if len(self.in_flight) < MAX_IN_FLIGHT // 2:
            self.room.set()

    async def close_parser(self) -> None:
        await self.parser.close()
        self.crawler.stats.set_value("finews/parser/processes_started", self.parser.started)
        self.crawler.stats.set_value("finews/parser/restarts", self.parser.restarts)
