"""`RedisScheduler` (`finews_crawler.distributed.scheduler`) in one process against the real
Redis: its settings, the run it joins, the shared queue and dupefilter, `others_busy()`, the
idle rounds, and the heartbeat that wakes the engine. Skips, saying so, when Redis is absent."""

# ruff: noqa: F811 - pytest fixtures imported from support.redis_runs are redefined as arguments
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.core.engine import ExecutionEngine
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.utils.test import get_crawler
from support.redis_runs import REDIS_URL, redis_client, run_id  # noqa: F401 - fixtures

from finews_crawler.distributed import RUN_ALREADY_DONE
from finews_crawler.distributed.addon import DUPEFILTER
from finews_crawler.distributed.keys import run_keys
from finews_crawler.distributed.scheduler import RedisScheduler
from finews_crawler.distributed.workers import BUSY, HOLDING, IDLE, WorkerRegistry
from finews_crawler.spiders.finews import SiteSpider

BASE = "http://127.0.0.1:8000"


def crawler_for(run: str | None, **settings):
    """A crawler with the settings the add-on writes (and `settings`), its spider of run `run`."""
    settings = {"DUPEFILTER_CLASS": DUPEFILTER, **settings}
    crawler = get_crawler(SiteSpider, {"REDIS_URL": REDIS_URL, "FINEWS_BASE_URL": BASE, **settings})
    crawler.spider = SiteSpider.from_crawler(crawler, run_id=run)
    return crawler


def in_event_loop(test: Callable[..., None]) -> Callable[..., None]:
    """Run `test` inside a running asyncio loop, as in a crawl: the scheduler's heartbeat is a
    looping call on it (started, never reached: the tests call `heartbeat()` themselves)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async def body() -> None:
            test(*args, **kwargs)

        asyncio.run(body())

    return run


@contextmanager
def opened(run: str | None, **settings: Any) -> Iterator[RedisScheduler]:
    """An open scheduler of run `run`, closed afterwards."""
    crawler = crawler_for(run, **settings)
    scheduler = RedisScheduler.from_crawler(crawler)
    scheduler.open(crawler.spider)
    try:
        yield scheduler
    finally:
        scheduler.close("finished")


def other_worker(redis_client, run: str, worker: str = "other") -> WorkerRegistry:
    registry = WorkerRegistry(
        redis_client, run_keys(run), worker, key_ttl=600, worker_timeout=60.0, done_ttl=30
    )
    assert registry.join()
    return registry


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"FINEWS_REDIS_HEARTBEAT": 0}, "FINEWS_REDIS_HEARTBEAT must be > 0"),
        ({"FINEWS_REDIS_HEARTBEAT": 1, "FINEWS_REDIS_WORKER_TIMEOUT": 2}, "three heartbeats"),
        ({"DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter"}, "not a scrapy-redis"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(settings, message):
    with pytest.raises(ValueError, match=message):
        RedisScheduler.from_crawler(crawler_for("r1", **settings))


@in_event_loop
def test_a_worker_joins_its_run_and_shares_queue_and_dupefilter(redis_client, run_id):
    with opened(run_id) as scheduler:
        worker_joins_and_shares(redis_client, run_id, scheduler)


def worker_joins_and_shares(redis_client, run_id: str, scheduler: RedisScheduler) -> None:
    spider = scheduler.spider
    assert spider.frontier is scheduler
    stats = scheduler.stats
    assert stats.get_value("finews/redis/run_id") == run_id
    keys = run_keys(run_id)
    assert scheduler.keys == keys
    assert redis_client.hget(keys.workers, scheduler.worker_id).startswith(b"busy ")

    listing = Request(f"{BASE}/category/a/", priority=10)
    article = Request(f"{BASE}/a/2024/01/01/NW1.html")
    assert scheduler.enqueue_request(article)
    assert scheduler.enqueue_request(listing)
    assert not scheduler.enqueue_request(Request(listing.url))  # seen by the shared dupefilter
    assert scheduler.enqueue_request(Request(listing.url, dont_filter=True))
    assert stats.get_value("scheduler/enqueued/redis") == 3
    assert stats.get_value("finews/redis/filtered") == 1
    assert redis_client.zcard(keys.requests) == 3
    assert redis_client.scard(keys.dupefilter) == 2
    assert scheduler.has_pending_requests()

    popped = [scheduler.next_request() for _ in range(3)]
    assert [r.url for r in popped] == [listing.url, listing.url, article.url]  # by priority
    assert scheduler.next_request() is None
    assert not scheduler.has_pending_requests()
    assert stats.get_value("scheduler/dequeued/redis") == 3


@in_event_loop
def test_idle_rounds_wait_for_the_others_and_holders_do_not_block(redis_client, run_id):
    with opened(run_id) as scheduler:
        idle_rounds(redis_client, run_id, scheduler)


def idle_rounds(redis_client, run_id: str, scheduler: RedisScheduler) -> None:
    other = other_worker(redis_client, run_id)
    # Another worker busy: stay open, and a spider holding requests back must wait.
    with pytest.raises(DontCloseSpider):
        scheduler.spider_idle()
    assert scheduler.others_busy()
    assert scheduler.stats.get_value("finews/redis/holds") == 1
    assert other.beat(IDLE).others == {scheduler.worker_id: HOLDING}
    # The holder's idle round keeps it `holding`, so the other worker stays open for it; the
    # scheduler itself does not wait (no one is busy): the spider's own handler keeps it open.
    scheduler.spider_idle()
    assert other.beat(IDLE).others == {scheduler.worker_id: HOLDING}
    assert not other.beat(IDLE).run_idle
    # The next round without a hold: idle; both idle is the end of the run.
    scheduler.spider_idle()
    snapshot = other.beat(IDLE)
    assert snapshot.others == {scheduler.worker_id: IDLE} and snapshot.run_idle
    assert not scheduler.others_busy()
    assert scheduler.stats.get_value("finews/redis/idle_waits") == 1
    assert scheduler.stats.get_value("finews/redis/workers_max") == 2
    other.leave()


@in_event_loop
def test_the_last_worker_out_removes_the_run_and_a_late_one_closes_at_once(redis_client, run_id):
    crawler = crawler_for(run_id, FINEWS_REDIS_DONE_TTL=30)
    first = RedisScheduler.from_crawler(crawler)
    first.open(crawler.spider)
    first.spider_idle()  # alone, nothing queued: the run is done
    first.close("finished")
    assert first.stats.get_value("finews/redis/last_out") == 1
    assert [key.decode() for key in redis_client.scan_iter(f"finews:{run_id}:*")] == [
        f"finews:{run_id}:done"
    ]

    late_crawler = crawler_for(run_id)
    late = RedisScheduler.from_crawler(late_crawler)
    with pytest.raises(CloseSpider) as closed:
        late.open(late_crawler.spider)
    assert closed.value.reason == RUN_ALREADY_DONE
    assert late.stats.get_value("finews/redis/run_already_done") == 1
    assert late_crawler.spider.frontier is None
    assert not late.enqueue_request(Request(f"{BASE}/"))
    assert late.next_request() is None and not late.has_pending_requests()
    late.close(RUN_ALREADY_DONE)
    assert late.stats.get_value("finews/redis/last_out") is None


@in_event_loop
def test_a_worker_without_run_id_starts_a_run_of_its_own(redis_client):
    crawler = crawler_for(None)
    scheduler = RedisScheduler.from_crawler(crawler)
    scheduler.open(crawler.spider)
    try:
        run = scheduler.stats.get_value("finews/redis/run_id")
        assert run and scheduler.keys.run_id == run
    finally:
        scheduler.close("finished")
        redis_client.delete(*run_keys(run).all())


class Round:
    """Stands in for the engine's scheduling round (`CallLaterOnce`)."""

    def __init__(self) -> None:
        self.scheduled = 0

    def schedule(self) -> None:
        self.scheduled += 1


@in_event_loop
def test_the_heartbeat_wakes_the_engine_only_while_idle(run_id):
    with opened(run_id) as scheduler:
        heartbeat_wakes(scheduler)


def heartbeat_wakes(scheduler: RedisScheduler) -> None:
    nextcall = Round()
    scheduler.crawler.engine = SimpleNamespace(
        running=True, _slot=SimpleNamespace(nextcall=nextcall)
    )
    scheduler.heartbeat()
    assert (scheduler.state, nextcall.scheduled) == (BUSY, 0)  # busy: its engine runs anyway
    scheduler.others_busy()  # -> holding
    scheduler.heartbeat()
    assert nextcall.scheduled == 1
    assert scheduler.stats.get_value("finews/redis/wake_unavailable") is None


@in_event_loop
def test_without_the_engine_round_the_worker_warns_once_and_goes_on(run_id, caplog):
    with (
        opened(run_id) as scheduler,
        caplog.at_level(logging.WARNING, logger="finews_crawler.distributed.scheduler"),
    ):
        scheduler.crawler.engine = SimpleNamespace(running=True)  # a Scrapy without _slot
        scheduler.others_busy()
        scheduler.heartbeat()
        scheduler.heartbeat()
        assert scheduler.state == HOLDING  # the heartbeat itself still beats
    assert scheduler.stats.get_value("finews/redis/wake_unavailable") == 1
    assert sum("no _slot.nextcall" in r.getMessage() for r in caplog.records) == 1


def test_this_scrapy_still_runs_its_scheduling_round_where_the_heartbeat_wakes_it():
    """The private call the heartbeat makes is the one the engine's public `crawl()` makes; if a
    Scrapy release changes it, this fails and docs/distributed.md ("Waking the engine") needs a
    new answer."""
    assert "self._slot.nextcall.schedule()" in inspect.getsource(ExecutionEngine.crawl)
    opening = inspect.getsource(ExecutionEngine.open_spider_async)
    assert "nextcall = CallLaterOnce(self._start_scheduled_requests)" in opening
    assert "self._slot = _Slot(" in opening
