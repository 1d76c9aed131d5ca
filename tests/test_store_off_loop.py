"""A write retrying against a locked database does not hold up the crawl's event loop.

The store pipeline runs its blocking writes (and the pauses between retries) in its store thread:
while a batch waits for a SQLite database another connection has locked, requests driven by the
same event loop keep completing; once the lock goes, the batch lands, nothing spooled.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import scrapy
from scrapy.utils.test import get_crawler
from support.db_fixtures import truth_rows

from finews_crawler.items import ArticleItem
from finews_crawler.processes.child import ChildProcess
from finews_crawler.store import Repository
from localsite.server import MirrorServer
from pipelines import batch_writer
from pipelines import store as store_pipeline
from pipelines.batch_writer import BatchWriter
from pipelines.store import StorePipeline


class _Spider(scrapy.Spider):
    name = "finews"


async def fetch(url: str) -> bytes:
    """GET `url` (http://127.0.0.1:PORT/path) over a connection the event loop drives."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /{path} HTTP/1.0\r\nHost: {host_port}\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return response


def test_requests_complete_while_a_write_retries_against_a_locked_database(
    tmp_path: Path,
    mirror: MirrorServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("FINEWS_SQLITE_BUSY_TIMEOUT_MS", "50")
    path = tmp_path / "locked.sqlite3"
    settings: dict[str, Any] = {
        "EXTENSIONS_BASE": {"scrapy.extensions.corestats.CoreStats": 0},
        "FINEWS_DATABASE_URL": f"sqlite:///{path}",
        "FINEWS_SPOOL_DIR": str(tmp_path / "spool"),
        "FINEWS_STORE_PROCESS": False,
        "FINEWS_STORE_BATCH_SIZE": 10,
        # Pauses of 0.05 s doubling: the batch would be spooled after ~13 s of retries.
        "FINEWS_STORE_RETRIES": 8,
        "FINEWS_STORE_RETRY_DELAY": 0.05,
    }
    crawler = get_crawler(_Spider, settings)
    crawler.spider = _Spider.from_crawler(crawler)
    batch = [ArticleItem(**row) for row in truth_rows()[:10]]
    caplog.set_level(logging.WARNING, logger="pipelines.batch_writer")

    async def crawl() -> tuple[int, bool, int]:
        store = StorePipeline.from_crawler(crawler)
        store.open_spider()
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            replaying = set(store.pending)
            for item in batch:
                store.process_item(item)
            (write,) = store.pending - replaying
            while not any("retry" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.01)  # the loop runs while the write waits for the lock
            pages = [await fetch(f"{mirror.url}/{name}") for name in ("index.html", "feed.xml")]
            pages += [await fetch(f"{mirror.url}{row['url']}") for row in truth_rows()[:20]]
            still_retrying = not write.done()
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await store.close_spider()
        await store.spider_closed(crawler.spider, "finished")
        fetched = sum(page.split(b"\r\n", 1)[0].endswith(b" 200 OK") for page in pages)
        return fetched, still_retrying, len(pages)

    fetched, still_retrying, requested = asyncio.run(crawl())
    assert fetched == requested == 22
    assert still_retrying, "every request completed while the batch was still being retried"
    assert crawler.stats.get_value("finews/store/retries") >= 1
    assert crawler.stats.get_value("finews/spooled") is None
    assert crawler.stats.get_value("finews/new") == 10
    with Repository(f"sqlite:///{path}") as repository:
        assert len(repository.stored_page_paths()) == 10


@pytest.mark.parametrize("writer", ["off", "cannot start", "dies"])
def test_retry_pauses_never_run_on_the_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    """Every way a batch reaches `BatchWriter` in a crawl (no writer process, a writer that
    cannot start, a writer that died) pauses between retries in the store thread, and the run's
    finish record is written there too."""
    monkeypatch.setenv("FINEWS_SQLITE_BUSY_TIMEOUT_MS", "50")
    if writer == "cannot start":

        async def cannot_start(*args: Any, **kwargs: Any) -> ChildProcess:
            raise OSError("cannot fork")

        monkeypatch.setattr(ChildProcess, "start", cannot_start)
    elif writer == "dies":
        # A real child process that exits on its first frame (tests/dying_parser.py).
        monkeypatch.setattr(store_pipeline, "WRITER_MODULE", "dying_parser")
    loop_thread = threading.get_ident()
    paused_on: list[int] = []

    def pause(seconds: float) -> None:
        paused_on.append(threading.get_ident())
        time.sleep(seconds)

    monkeypatch.setattr(batch_writer, "time", SimpleNamespace(sleep=pause))
    finished_on: list[int] = []
    finish_run = BatchWriter.finish_run

    def recorded_finish_run(self: BatchWriter, finish: Any) -> None:
        finished_on.append(threading.get_ident())
        finish_run(self, finish)

    monkeypatch.setattr(BatchWriter, "finish_run", recorded_finish_run)
    path = tmp_path / "locked.sqlite3"
    settings: dict[str, Any] = {
        "EXTENSIONS_BASE": {"scrapy.extensions.corestats.CoreStats": 0},
        "FINEWS_DATABASE_URL": f"sqlite:///{path}",
        "FINEWS_SPOOL_DIR": str(tmp_path / "spool"),
        "FINEWS_STORE_PROCESS": writer != "off",
        "FINEWS_STORE_BATCH_SIZE": 10,
        "FINEWS_STORE_RETRIES": 8,
        "FINEWS_STORE_RETRY_DELAY": 0.02,
    }
    crawler = get_crawler(_Spider, settings)
    crawler.spider = _Spider.from_crawler(crawler)

    async def crawl() -> None:
        store = StorePipeline.from_crawler(crawler)
        store.open_spider()
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            for row in truth_rows()[:10]:
                store.process_item(ArticleItem(**row))
            while not paused_on:
                await asyncio.sleep(0.01)  # the loop runs while the batch waits for the lock
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await store.close_spider()
        await store.spider_closed(crawler.spider, "finished")

    asyncio.run(crawl())
    assert paused_on and loop_thread not in paused_on
    assert finished_on and loop_thread not in finished_on
    assert crawler.stats.get_value("finews/new") == 10
    assert crawler.stats.get_value("finews/spooled") is None
    if writer == "dies":
        assert crawler.stats.get_value("finews/store/writer_failed") == 1
    with Repository(f"sqlite:///{path}") as repository:
        assert len(repository.stored_page_paths()) == 10
        (run,) = repository.recent_runs()
        assert run["outcome"] is not None
