"""A crawl shared by several worker processes through Redis (scrapy-redis), switched by one setting.

Setting `FINEWS_REDIS_URL` (setting or environment variable; empty = off) turns on the add-on
`RedisFrontier` (listed in `ADDONS` in `finews_crawler.settings`). It points `SCHEDULER` at
`finews_crawler.distributed.scheduler.RedisScheduler` (a scrapy-redis `Scheduler`) and
`DUPEFILTER_CLASS` at scrapy-redis's `RFPDupeFilter`, and sets scrapy-redis's `REDIS_URL`. Then any
number of processes started with the same run id share one crawl::

    FINEWS_REDIS_URL=redis://127.0.0.1:6379/0 \\
    FINEWS_DATABASE_URL=postgresql://crawler@db/finews \\
    scrapy crawl finews -a run_id=2024-05-01   # on as many machines as you like

Keys (`FINEWS_REDIS_KEY`, default `finews:%(run_id)s:%(name)s`; `%(spider)s` may be used too):

- `finews:<run>:requests`: the request queue, a sorted set by priority (scrapy-redis
  `PriorityQueue`, pickled requests);
- `finews:<run>:dupefilter`: fingerprints of every request scheduled in the run (a set);
- `finews:<run>:workers`: a hash worker id -> `<state> <milliseconds>` (Redis server time), the
  state being `busy`, `holding` or `idle`;
- `finews:<run>:done`: set for `FINEWS_REDIS_DONE_TTL` seconds when the run finished, so that a
  worker started late does not crawl a finished run over again (it closes at once, reason
  `run_already_done`, without touching the database).

Every key gets a TTL of `FINEWS_REDIS_KEY_TTL` seconds (default one day), refreshed on each push
and heartbeat: keys of a run whose workers all died simply expire. Run ids are unique per run
(`-a run_id=ID`; a process without one makes up a fresh id and is a run of its own), so a new
run starts with an empty queue and dupefilter and reads the listing pages again.

How the run closes (`distributed_workers.WorkerRegistry` holds the Lua scripts):

- Joining marks the worker `busy`. Popping a request marks it `busy` in the same script (an
  atomic `ZPOPMIN` + `HSET`), so no request is ever off the queue without a busy worker holding it.
- A worker writes `idle` (or `holding`, below) only in its `spider_idle` handler, i.e. when its
  own engine has nothing in flight and every request it derived is already pushed.
- In the same script it reads the queue length and the other workers' states. While the queue
  is not empty or another live worker is `busy` or `holding`, it raises `DontCloseSpider`
  (`finews/redis/idle_waits`); a heartbeat every `FINEWS_REDIS_HEARTBEAT` seconds refreshes its
  entry and wakes its engine, so it picks up new requests or closes within about that time.
- Otherwise the run is done: the worker closes. On close it leaves the hash; the last worker out
  deletes the queue, dupefilter and hash and sets the `done` marker (`finews/redis/last_out`).
  A last worker that leaves an unfinished run (shut down, or stopped by CLOSESPIDER_*) keeps the
  queue and dupefilter: starting a worker with the same run id resumes it (until the TTL).
- Work held back until the crawl is idle: the `finews` spider keeps the articles seen only on `/`
  and in the feed until the category pages are done. In a shared run it asks
  `spider.others_busy()` first; asking marks its worker `holding`, which keeps the other workers
  open but does not stop other holders from releasing (no deadlock). It requests them (into the
  shared queue, where the dupefilter drops those other workers already requested) once no other
  worker is busy. Only the worker that read `/` holds them; it stays until they are requested.
- A worker whose entry is older than `FINEWS_REDIS_WORKER_TIMEOUT` seconds is taken for dead and
  removed (`finews/redis/stale_workers`). Start requests need no care: every worker yields the
  same listing pages, none with `dont_filter`, and the shared dupefilter drops all but the first.

A worker killed mid-run (SIGKILL, machine lost) loses the requests it had popped and the items
it had not written yet; the others go on (waiting up to FINEWS_REDIS_WORKER_TIMEOUT for its entry
to go stale) and close normally. What it lost is not stored, and a crawl skips only stored
article pages, so the next run fetches it. Items go to `FINEWS_DATABASE_URL`: with several
workers use PostgreSQL (the store serializes writers and merges pages by infoCode).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from finews_crawler import defaults

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

#: Close reason of a worker that joined a run which had already finished.
RUN_ALREADY_DONE = "run_already_done"

SCHEDULER = "finews_crawler.distributed.scheduler.RedisScheduler"
DUPEFILTER = "scrapy_redis.dupefilter.RFPDupeFilter"

_RUN_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True)
class RunKeys:
    """The Redis keys of one run, all built from one pattern."""

    run_id: str
    requests: str
    dupefilter: str
    workers: str
    done: str

    def all(self) -> tuple[str, ...]:
        return (self.requests, self.dupefilter, self.workers, self.done)


def check_run_id(run_id: str) -> str:
    """`run_id` if it is fit for a key (letters, digits, `_.:-`, at most 128), else ValueError."""
    if not _RUN_ID_RE.fullmatch(run_id):
        raise ValueError(
            f"run id {run_id!r}: use 1 to 128 letters, digits and '_', '.', ':', '-' only"
        )
    return run_id


def fresh_run_id() -> str:
    """A new run id: UTC time and a random suffix, e.g. `20240501T101500Z-3f9a2c1b`."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def run_keys(run_id: str, pattern: str = defaults.REDIS_KEY, spider: str = "") -> RunKeys:
    """The keys of run `run_id` from `pattern` (see `defaults.REDIS_KEY`)."""
    check_run_id(run_id)
    if "%(run_id)s" not in pattern or "%(name)s" not in pattern:
        raise ValueError(f"FINEWS_REDIS_KEY {pattern!r} must hold %(run_id)s and %(name)s")

    def key(name: str) -> str:
        return pattern % {"run_id": run_id, "name": name, "spider": spider}

    return RunKeys(run_id, key("requests"), key("dupefilter"), key("workers"), key("done"))


class RedisFrontier:
    """Add-on: share the scheduler and dupefilter through Redis when FINEWS_REDIS_URL is set.

    Settings it writes (at add-on priority, so `-s` still wins): `SCHEDULER`, `DUPEFILTER_CLASS`
    and `REDIS_URL`. scrapy-redis's `SCHEDULER_PERSIST`, `SCHEDULER_FLUSH_ON_START`,
    `SCHEDULER_IDLE_BEFORE_CLOSE`, `SCHEDULER_QUEUE_KEY`, `SCHEDULER_DUPEFILTER_KEY` and
    `SCHEDULER_QUEUE_CLASS` are not used: run ids, FINEWS_REDIS_KEY and the close protocol
    (module docstring) replace them. `SCHEDULER_SERIALIZER` and `REDIS_PARAMS` are honoured.
    """

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisFrontier:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        url = str(settings.get("FINEWS_REDIS_URL") or "").strip()
        if not url:
            raise NotConfigured  # off: Scrapy's own scheduler and dupefilter
        settings.set("REDIS_URL", url, priority="addon")
        settings.set("SCHEDULER", SCHEDULER, priority="addon")
        settings.set("DUPEFILTER_CLASS", DUPEFILTER, priority="addon")
