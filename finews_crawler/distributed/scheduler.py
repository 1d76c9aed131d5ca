"""The scheduler of a shared run: scrapy-redis's Scheduler, with run keys and a close protocol.

`RedisScheduler` is what the `RedisFrontier` add-on (`finews_crawler.distributed.addon`)
installs as `SCHEDULER` when FINEWS_REDIS_URL is set; docs/distributed.md describes the run.
Compared with `scrapy_redis.scheduler.Scheduler` it

- names its keys after the run (`spider.run_id`, or a fresh id) from FINEWS_REDIS_KEY;
- pops through `WorkerQueue`, which marks the worker busy in the same step;
- never flushes the shared queue or dupefilter when one worker closes: the last one out of a
  finished run deletes them (`WorkerRegistry.leave`);
- keeps the worker open on `spider_idle` while requests are queued or other workers are busy,
  and heartbeats every FINEWS_REDIS_HEARTBEAT seconds;
- is the spider's `Frontier` (`spider.frontier`): `others_busy()`.

Settings: FINEWS_REDIS_KEY, FINEWS_REDIS_KEY_TTL, FINEWS_REDIS_HEARTBEAT,
FINEWS_REDIS_WORKER_TIMEOUT, FINEWS_REDIS_DONE_TTL (defaults in `finews_crawler.defaults`);
scrapy-redis's REDIS_URL, REDIS_PARAMS, SCHEDULER_SERIALIZER, DUPEFILTER_CLASS, DUPEFILTER_DEBUG.
Stats: `scheduler/enqueued/redis`, `scheduler/dequeued/redis` and `finews/redis/...` (listed in
docs/distributed.md).
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.misc import load_object
from scrapy_redis import connection
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from finews_crawler import defaults
from finews_crawler.distributed.addon import DUPEFILTER
from finews_crawler.distributed.frontier import RUN_ALREADY_DONE
from finews_crawler.distributed.keys import RunKeys, fresh_run_id, run_keys
from finews_crawler.distributed.queue import WorkerQueue
from finews_crawler.distributed.workers import (
    BUSY,
    HOLDING,
    IDLE,
    Snapshot,
    WorkerRegistry,
    new_worker_id,
)

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class RedisScheduler(Scheduler):
    """A scrapy-redis scheduler shared by the workers of one run (see module docstring).

    Implements `finews_crawler.distributed.Frontier` for the spider.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.key_pattern: str = settings.get("FINEWS_REDIS_KEY") or defaults.REDIS_KEY
        self.key_ttl = settings.getint("FINEWS_REDIS_KEY_TTL", defaults.REDIS_KEY_TTL)
        self.heartbeat_interval = settings.getfloat(
            "FINEWS_REDIS_HEARTBEAT", defaults.REDIS_HEARTBEAT
        )
        self.worker_timeout = settings.getfloat(
            "FINEWS_REDIS_WORKER_TIMEOUT", defaults.REDIS_WORKER_TIMEOUT
        )
        self.done_ttl = settings.getint("FINEWS_REDIS_DONE_TTL", defaults.REDIS_DONE_TTL)
        if self.heartbeat_interval <= 0 or self.worker_timeout < 3 * self.heartbeat_interval:
            raise ValueError(
                "FINEWS_REDIS_HEARTBEAT must be > 0 and FINEWS_REDIS_WORKER_TIMEOUT at least"
                f" three heartbeats (got {self.heartbeat_interval} and {self.worker_timeout})"
            )
        dupefilter_cls = load_object(settings.get("DUPEFILTER_CLASS") or DUPEFILTER)
        if not (isinstance(dupefilter_cls, type) and issubclass(dupefilter_cls, RFPDupeFilter)):
            raise ValueError(
                f"DUPEFILTER_CLASS {dupefilter_cls!r} is not a scrapy-redis RFPDupeFilter"
            )
        self.dupefilter_class: type[RFPDupeFilter] = dupefilter_cls
        serializer = settings.get("SCHEDULER_SERIALIZER")
        if isinstance(serializer, str):
            serializer = importlib.import_module(serializer)
        server = connection.from_settings(settings)
        server.ping()
        super().__init__(server, persist=True, serializer=serializer)
        self.stats = crawler.stats
        self.worker_id = new_worker_id()
        self.keys: RunKeys | None = None
        self.registry: WorkerRegistry | None = None
        #: The state this worker last wrote (busy, holding, idle).
        self.state = BUSY
        #: The spider asked `others_busy()` in the current idle round: it holds requests back.
        self._holding = False
        #: The run had finished before this worker joined: it does nothing and closes.
        self.run_done = False
        self._redis_down_since: float | None = None
        #: Warned already that this Scrapy offers no way to wake the engine.
        self._wake_unavailable = False
        self._heartbeat = create_looping_call(self.heartbeat)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        return cls(crawler)

    # -- Scrapy scheduler interface ----------------------------------------------------------

    def open(self, spider: Spider) -> None:
        self.spider = spider
        run_id = str(getattr(spider, "run_id", None) or fresh_run_id())
        self.keys = keys = run_keys(run_id, self.key_pattern, spider.name)
        self.registry = WorkerRegistry(
            self.server,
            keys,
            self.worker_id,
            key_ttl=self.key_ttl,
            worker_timeout=self.worker_timeout,
            done_ttl=self.done_ttl,
        )
        self.queue = WorkerQueue(
            self.server, spider, keys.requests, self.serializer, registry=self.registry
        )
        self.df = self.dupefilter_class(
            self.server, key=keys.dupefilter, debug=spider.settings.getbool("DUPEFILTER_DEBUG")
        )
        self.stats.set_value("finews/redis/run_id", run_id)
        if not self.registry.join():
            # Closing here, before the item pipelines open, leaves the run's records alone.
            # (Scrapy 2.19 then logs "Scraper close failure": it closes a scraper it never
            # opened. Harmless; closing later would let the store reopen the finished run.)
            self.run_done = True
            self.stats.set_value("finews/redis/run_already_done", 1)
            logger.warning(
                "Run %s already finished (%s is set): this worker has nothing to do",
                run_id,
                keys.done,
            )
            raise CloseSpider(RUN_ALREADY_DONE)
        spider.frontier = self
        self.crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        self._heartbeat.start(self.heartbeat_interval, now=False)
        logger.info(
            "Worker %s joined run %s (%d requests queued; keys %s)",
            self.worker_id,
            run_id,
            self.registry.queued(),
            keys.match,
        )

    def close(self, reason: str) -> None:
        if self._heartbeat.running:
            self._heartbeat.stop()
        if self.registry is None or self.run_done:
            return
        departure = self.registry.leave()
        self._count_stale(departure.stale)
        run_id = self.registry.keys.run_id
        if departure.removed:
            self.stats.set_value("finews/redis/last_out", 1)
            logger.info("Run %s finished: last worker out, its Redis keys removed", run_id)
        elif departure.last_out:
            self.stats.set_value("finews/redis/left_queued", departure.queued)
            logger.warning(
                "Run %s left unfinished (%s) with %d requests queued: a worker started with"
                " -a run_id=%s resumes it within FINEWS_REDIS_KEY_TTL (%ds)",
                run_id,
                reason,
                departure.queued,
                run_id,
                self.key_ttl,
            )
        else:
            logger.info("Worker %s left run %s (%s)", self.worker_id, run_id, reason)

    def enqueue_request(self, request: Request) -> bool:
        if self.run_done:
            return False
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            self.stats.inc_value("finews/redis/filtered")
            return False
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.run_done or self.registry is None:
            return None
        request = self.queue.pop()
        if request is None:
            return None
        self.state = BUSY
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return not self.run_done and self.registry is not None and len(self.queue) > 0

    # -- the close protocol ------------------------------------------------------------------

    def spider_idle(self) -> None:
        """This worker is idle: stay while requests are queued or other workers are active."""
        if self.registry is None or self.run_done:
            return
        state = HOLDING if self._holding else IDLE
        self._holding = False
        snapshot = self._beat(state)
        if snapshot is None:
            if self._redis_down_for() > self.worker_timeout:
                raise CloseSpider("redis_unavailable")
            raise DontCloseSpider
        if not snapshot.run_idle:
            self.stats.inc_value("finews/redis/idle_waits")
            logger.debug(
                "Idle; run %s not done: %d queued, others %s",
                self.registry.keys.run_id,
                snapshot.queued,
                snapshot.others,
            )
            raise DontCloseSpider

    def others_busy(self) -> bool:
        """For a spider that holds requests back until the whole crawl is idle.

        Marks this worker `holding` (others stay open for it) and says whether requests are
        queued or another worker is busy. Holders do not wait for each other.
        """
        if self.registry is None or self.run_done:
            return False
        self._holding = True
        snapshot = self._beat(HOLDING)
        busy = snapshot is None or snapshot.queued > 0 or snapshot.others_busy
        if busy:
            self.stats.inc_value("finews/redis/holds")
        return busy

    def heartbeat(self) -> None:
        """Refresh this worker's entry and the run's TTL; wake the engine while idle."""
        try:
            self._beat(self.state)
            if self.state != BUSY:
                self._wake_engine()
        except Exception:  # a looping call stops at the first exception: keep beating
            logger.exception("Heartbeat of worker %s failed", self.worker_id)

    # -- helpers -----------------------------------------------------------------------------

    def _beat(self, state: str) -> Snapshot | None:
        assert self.registry is not None
        try:
            snapshot = self.registry.beat(state)
        except RedisError as exc:
            self.stats.inc_value("finews/redis/errors")
            self._redis_down_since = self._redis_down_since or time.monotonic()
            logger.warning("Redis heartbeat failed (%s) for %.0fs", exc, self._redis_down_for())
            return None
        self._redis_down_since = None
        self.state = state
        self.stats.max_value("finews/redis/workers_max", len(snapshot.others) + 1)
        self._count_stale(snapshot.stale)
        return snapshot

    def _redis_down_for(self) -> float:
        """Seconds since Redis last failed a heartbeat with no success since (0: it answers)."""
        if self._redis_down_since is None:
            return 0.0
        return time.monotonic() - self._redis_down_since

    def _count_stale(self, stale: tuple[str, ...]) -> None:
        for worker in stale:
            self.stats.inc_value("finews/redis/stale_workers")
            logger.warning(
                "Worker %s sent no heartbeat for %ss: taken for dead, its requests in flight"
                " are left to the next run",
                worker,
                self.worker_timeout,
            )

    def _wake_engine(self) -> None:
        """Run the engine's scheduling round now instead of at its own 5 s heartbeat.

        Scrapy has no public call for this (docs/distributed.md, "Waking the engine"): this is
        the call `ExecutionEngine.crawl()` makes. Without it an idle worker still works, only
        picking up other workers' requests, and closing, at the engine's 5 s pace.
        """
        engine = self.crawler.engine
        nextcall = getattr(getattr(engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()
        elif engine is not None and engine.running and not self._wake_unavailable:
            # A running engine without the scheduling round we know: a change in Scrapy.
            self._wake_unavailable = True
            self.stats.set_value("finews/redis/wake_unavailable", 1)
            logger.warning(
                "This Scrapy's engine has no _slot.nextcall: idle workers react every 5 s"
                " instead of every FINEWS_REDIS_HEARTBEAT (%ss)",
                self.heartbeat_interval,
            )
