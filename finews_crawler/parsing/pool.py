"""Article parsing in parser processes, driven from the crawl's event loop.

Parsing is a third of what the crawl process does per article page, and it is pure, so it can run
on another core. Not in a thread: the reactor thread would queue behind it for the GIL on every
poll (a writer thread made the crawl 48% slower). Not in a `ProcessPoolExecutor` either: its
feeder and manager threads contend the same way. So each parser is a child process
(`finews_crawler.parsing.worker`) whose pipes the event loop reads and writes itself.

A parser that dies (a page crashed lxml, the OOM killer) fails only the pages it held; each is
tried once more in a fresh process, and `ParserDied` is raised if that one dies too (the spider
then quarantines the page). With
`processes=0`, or when no parser process can be started, pages are parsed in this process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from collections import deque
from collections.abc import Sequence

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.worker import HEADER_BYTES, frame

logger = logging.getLogger(__name__)

#: Seconds a parser process gets to exit after its input is closed, before it is killed.
CLOSE_TIMEOUT = 5.0


#: The module each parser process runs.
WORKER_MODULE = "finews_crawler.parsing.worker"


class ParserDied(RuntimeError):
    """A parser process exited while it held the page."""


class ParserProcess:
    """One child process; answers come back in the order requests were sent."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.waiting: deque[asyncio.Future] = deque()
        self.alive = True
        self.reader = asyncio.ensure_future(self._read_answers())

    @classmethod
    async def start(cls, module: str = WORKER_MODULE) -> ParserProcess:
        # The children import what this process imports (a scrapyd egg included).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def parse(self, args: tuple) -> ArticleItem | None:
        assert self.process.stdin is not None
        if not self.alive:
            raise ParserDied("the parser process exited")
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        try:
            self.process.stdin.write(frame(args))
            await self.process.stdin.drain()
        except ConnectionError as exc:
            raise ParserDied("the parser process exited") from exc
        return await answer

    async def _read_answers(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        try:
            while True:
                size = int.from_bytes(await stdout.readexactly(HEADER_BYTES), "little")
                ok, value = pickle.loads(await stdout.readexactly(size))
                answer = self.waiting.popleft()
                if ok:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.alive = False
            while self.waiting:
                answer = self.waiting.popleft()
                if not answer.done():
                    answer.set_exception(ParserDied("the parser process exited"))

    async def close(self) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), CLOSE_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self.reader


class ParserPool:
    """`parse_article` in `processes` child processes (0: in this process)."""

    def __init__(self, processes: int, module: str = WORKER_MODULE) -> None:
        self.processes = max(0, processes)
        self.module = module
        self.parsers: list[ParserProcess] = []
        self.started = 0
        self.restarts = 0
        self._ready: asyncio.Future | None = None

    async def parse_article(
        self, html: str, url: str, listing_categories: Sequence[str] = ()
    ) -> ArticleItem | None:
        return await self._parse((html, url, tuple(listing_categories)), retries=1)

    async def _parse(self, args: tuple, retries: int) -> ArticleItem | None:
        parser = await self._parser()
        if parser is None:
            return parse_article(*args)
        try:
            return await parser.parse(args)
        except ParserDied:
            if not retries:
                raise
            # Once more in a fresh process: this page may not be what killed the last one.
            return await self._parse(args, retries - 1)

    async def _parser(self) -> ParserProcess | None:
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
                *(ParserProcess.start(self.module) for _ in range(missing))
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
