"""The store pipeline's writer process (FINEWS_STORE_PROCESS): the same rows as writing in the
crawl process, a dead writer costs nothing, and items wait when too many batches are in flight."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from support.db_fixtures import SEED_CODE, database_url, pg_database, pg_server  # noqa: F401
from support.pipeline_runs import items, make_crawler, open_pipelines, pretend_fetched
from support.pipeline_runs import store_settings as plain_store_settings

from finews_crawler.store import Repository
from pipelines.dedupe import DedupePipeline
from pipelines.errors import DuplicateItem
from pipelines.store import StorePipeline


def store_settings(url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return plain_store_settings(url, tmp_path, FINEWS_STORE_PROCESS=True, **extra)


async def feed(crawler: Crawler, dedupe: DedupePipeline, store: StorePipeline, batch: list) -> None:
    """Items through dedupe and store as the engine does (awaiting an item held back)."""
    for item in batch:
        try:
            result = store.process_item(dedupe.process_item(item))
        except DuplicateItem as exc:
            await crawler.signals.send_catch_log_async(
                signal=signals.item_dropped,
                item=item,
                response=None,
                exception=exc,
                spider=crawler.spider,
            )
            continue
        if inspect.isawaitable(result):
            result = await result
        assert result is item


async def close(crawler: Crawler, store: StorePipeline) -> None:
    closing = store.close_spider()
    if closing is not None:
        await closing
    await crawler.signals.send_catch_log_async(
        signal=signals.spider_closed, spider=crawler.spider, reason="finished"
    )


def test_writer_process_stores_what_the_crawl_process_would(
    database_url: str, tmp_path: Path
) -> None:
    crawler = make_crawler(store_settings(database_url, tmp_path))

    async def crawl() -> str:
        dedupe, store = open_pipelines(crawler)
        await feed(crawler, dedupe, store, items())
        writer = await store.writer
        command_line = Path(f"/proc/{writer.pid}/cmdline").read_bytes().decode()
        pretend_fetched(crawler)
        await close(crawler, store)
        assert writer.process.returncode == 0
        return command_line

    command_line = asyncio.run(crawl())
    assert database_url not in command_line  # the URL (and its password) went over the pipe
    stats = crawler.stats
    assert stats.get_value("finews/store/writer_batches") == 11  # 106 items, 10 per batch
    assert stats.get_value("finews/store/batches") == 11
    assert stats.get_value("finews/new") == 76 and stats.get_value("finews/merged") == 30
    assert stats.get_value("finews/store/writer_failed") is None
    with Repository(database_url) as repository:
        assert repository.article_count() == 76
        seed = repository.get_article(SEED_CODE)
        run = repository.get_run(stats.get_value("finews/run_id"))
    assert seed["categories"] == ["emnews", "shanghaifabu"] and len(seed["urls"]) == 2
    assert run["outcome"] == "finished" and (run["new"], run["merged"]) == (76, 30)


def test_a_killed_writer_loses_nothing(database_url: str, tmp_path: Path) -> None:
    crawler = make_crawler(store_settings(database_url, tmp_path))
    everything = items()

    async def crawl() -> None:
        dedupe, store = open_pipelines(crawler)
        await feed(crawler, dedupe, store, everything[:50])
        writer = await store.writer
        os.kill(writer.pid, signal.SIGKILL)
        await feed(crawler, dedupe, store, everything[50:])
        pretend_fetched(crawler)
        await close(crawler, store)

    asyncio.run(crawl())
    stats = crawler.stats
    assert stats.get_value("finews/store/writer_failed") >= 1
    assert stats.get_value("finews/store/batches") == 11
    with Repository(database_url) as repository:
        assert repository.article_count() == 76
        assert len(repository.stored_page_paths()) == 106


def test_items_wait_while_too_many_batches_are_in_flight(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    crawler = make_crawler(store_settings(url, tmp_path, FINEWS_STORE_MAX_PENDING=1))

    async def crawl() -> tuple[list, list]:
        dedupe, store = open_pipelines(crawler)
        held, in_flight = [], []
        for item in items():
            try:
                result = store.process_item(dedupe.process_item(item))
            except DuplicateItem:
                continue
            in_flight.append(len(store.pending))
            if inspect.isawaitable(result):
                held.append(await result is item)
        await close(crawler, store)
        return held, in_flight

    held, in_flight = asyncio.run(crawl())
    assert held and all(held)  # items were held back, then passed on
    assert max(in_flight) == 1
    with Repository(url) as repository:
        assert repository.article_count() == 76


def test_the_writer_process_imports_neither_scrapy_nor_alembic() -> None:
    """The writer gets dicts and an already migrated database: Scrapy (through itemadapter) and
    Alembic would be 35 MiB of its memory for nothing (bench/archive.py)."""
    code = (
        "import sys, finews_crawler.processes.store_writer as w;"
        "print(sorted({m.partition('.')[0] for m in sys.modules} & {'scrapy', 'alembic'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
