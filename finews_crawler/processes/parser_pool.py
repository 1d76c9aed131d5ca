"""Parsing in parser processes (`finews_crawler.processes.parser_worker`).

Parsing is a third of what the crawl process does per article page, and it is pure, so it can run
on another core: see `finews_crawler.processes.child` for why a child process and not a thread.
Article pages (`parse_article`, for the crawl spiders) and batches of Jekyll posts (`read_posts`,
for the archive spider) go to the same processes: each request names the pure parsing function to
call and its arguments.

A parser that dies (a page crashed lxml, the OOM killer) fails only the pages it held; each is
tried once more in a fresh process, and `ParserDied` is raised if that one dies too (the spider
then quarantines the page). With `processes=0`, or when no parser process can be started, pages
are parsed in this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.post import PostItem, UnreadablePost, read_posts
from finews_crawler.parsing.readers import read_article
from finews_crawler.processes.child import ChildDied, ChildProcess

logger = logging.getLogger(__name__)

#: The module each parser process runs.
WORKER_MODULE = "finews_crawler.processes.parser_worker"

T = TypeVar("T")


class ParserDied(ChildDied):
    """A page's parser process died twice: the page is not parsed."""


class ParserPool:
    """Pure parsing functions in `processes` child processes (0: in this process)."""

    def __init__(self, processes: int, module: str = WORKER_MODULE) -> None:
        self.processes = max(0, processes)
        self.module = module
        self.parsers: list[ChildProcess] = []
        self.started = 0
        self.restarts = 0
        self._ready: asyncio.Future | None = None

    async def parse_article(
        self, html: str, url: str, listing_categories: Sequence[str] = ()
    ) -> ArticleItem | None:
        """`read_article`: raises `LayoutRefused` for an article URL whose page no reader
        accepts."""
        return await self.call(read_article, (html, url, tuple(listing_categories)), url)

    async def read_posts(self, paths: Sequence[str]) -> list[PostItem | UnreadablePost]:
        """`parsing.post.read_posts`: each post's item, or why it cannot be read."""
        return await self.call(read_posts, (list(paths),), f"{len(paths)} posts")

    async def call(
        self, function: Callable[..., T], args: tuple[Any, ...], what: str, retries: int = 1
    ) -> T:
        """`function(*args)` in a parser process; `function` is a module-level pure function
        (it travels by name) and `what` names the work in errors."""
        parser = await self._parser()
        if parser is None:
            return function(*args)
        try:
            return await parser.call((function, args))
        except ChildDied as exc:
            if not retries:
                raise ParserDied(f"{exc} twice while parsing {what}") from exc
            # Once more in a fresh process: this work may not be what killed the last one.
            return await self.call(function, args, what, retries - 1)

    def warm_up(self) -> None:
        """Start the parser processes now, without waiting for them (from a running event loop;
        without one, they start on first use)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if len(self.parsers) < self.processes and (self._ready is None or self._ready.done()):
            self._ready = asyncio.ensure_future(self._start_missing())

    async def _parser(self) -> ChildProcess | None:
        """The least busy live parser process, started or replaced as needed."""
        if self.processes == 0:
            return None
        live = [parser for parser in self.parsers if parser.alive]
        if len(live) < len(self.parsers):
            self.restarts += len(self.parsers) - len(live)
            self.parsers = live
        if len(self.parsers) < self.processes:
            if self._ready is None or self._ready.done():
                self._ready = asyncio.ensure_future(self._start_missing())
            await asyncio.shield(self._ready)
            if not self.parsers:
                return None
        return min(self.parsers, key=lambda parser: len(parser.waiting))

    async def _start_missing(self) -> None:
        missing = self.processes - len(self.parsers)
        try:
            started = await asyncio.gather(
                *(ChildProcess.start(self.module) for _ in range(missing))
            )
        except OSError as exc:
            logger.error("could not start a parser process (%s); parsing in this process", exc)
            self.processes = 0
            return
        self.parsers.extend(started)
        self.started += len(started)

    async def close(self) -> None:
        """Close every parser process (each finishes what it holds first)."""
        parsers, self.parsers = self.parsers, []
        self.processes = 0
        await asyncio.gather(*(parser.close() for parser in parsers), return_exceptions=True)
