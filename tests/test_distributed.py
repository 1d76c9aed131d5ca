"""Distributed crawl (issue 6): run keys, the RedisFrontier add-on, the worker protocol, and whole
runs of several `scrapy crawl finews -a run_id=ID` workers against the real Redis and PostgreSQL.

Servers: Redis at $FINEWS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) and PostgreSQL at
$FINEWS_TEST_PG_URL (see db_fixtures). Tests that need one skip, saying why, when it is absent.
Every run id is fresh, so the tests share the Redis database with anything else safely.
"""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.settings import Settings
from scrapy.signalmanager import SignalManager
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, text
from support.db_fixtures import fresh_pg_database, pg_server, truth_rows  # noqa: F401 - fixtures

from finews_crawler import defaults
from finews_crawler.distributed import (
    DUPEFILTER,
    SCHEDULER,
    RedisFrontier,
    check_run_id,
    fresh_run_id,
    run_keys,
)
from finews_crawler.distributed.workers import BUSY, HOLDING, IDLE, WorkerRegistry
from finews_crawler.site import normalize_info_code
from finews_crawler.spiders.finews import SiteSpider
from finews_crawler.store.engine import normalize_url
from localsite.server import MirrorServer, serve

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "tests" / "fixtures" / "site"
REDIS_URL = os.environ.get("FINEWS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Bound for one crawl process; the whole mirror takes a few seconds.
WORKER_TIMEOUT_S = 60
#: Settings of test workers: no autothrottle; a small delay so that the crawl lasts long enough
#: for both workers to take part (each worker has its own download slot).
TEST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0.05",
    "FINEWS_REDIS_DONE_TTL": "30",
    "LOG_LEVEL": "INFO",
}
STAT_RE = re.compile(r"^\s*'([\w/.:-]+)': (\d+|'[^']*'),?$", re.M)


def new_run_id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not available at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def run_id(redis_client) -> Iterator[str]:
    """A fresh run id; whatever a test leaves under it in Redis is removed afterwards."""
    run = new_run_id()
    yield run
    keys = list(redis_client.scan_iter(match=f"finews:{run}:*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped after the test."""
    with fresh_pg_database(pg_server) as url:
        yield url


@pytest.fixture
def mirror() -> Iterator[MirrorServer]:
    with serve(SITE) as server:
        yield server


# --- helpers ----------------------------------------------------------------------------------


class Worker:
    """One `scrapy crawl finews` process, logging to its own file."""

    def __init__(
        self,
        tmp_path: Path,
        name: str,
        mirror: MirrorServer,
        database_url: str,
        run_id: str | None,
        **settings: str,
    ) -> None:
        self.name = name
        self.log = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "SCRAPY_SETTINGS_MODULE": "finews_crawler.settings",
            "FINEWS_REDIS_URL": REDIS_URL,
            "FINEWS_BASE_URL": mirror.url,
            "FINEWS_SHARE_BASE_URL": mirror.url,
            "FINEWS_DATABASE_URL": database_url,
            "FINEWS_SPOOL_DIR": str(tmp_path / "spool"),
        }
        command = [sys.executable, "-m", "scrapy", "crawl", "finews"]
        if run_id:
            command += ["-a", f"run_id={run_id}"]
        for key, value in {**TEST_SETTINGS, **settings, "LOG_FILE": str(self.log)}.items():
            command += ["-s", f"{key}={value}"]
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=tmp_path,  # nothing is written into the repository
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.finished: float | None = None

    def wait(self, timeout: float = WORKER_TIMEOUT_S) -> int:
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            pytest.fail(f"worker {self.name} still running after {timeout}s:\n{self.log_tail()}")
        self.finished = time.monotonic()
        if self.process.returncode != 0:
            print(output.decode(errors="replace"))
        return self.process.returncode

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stats(self) -> dict[str, int | str]:
        """The numbers and strings of the stats dump at the end of the log."""
        text = self.log_text()
        dump = text[text.rfind("Dumping Scrapy stats") :]
        return {
            name: int(value) if value.isdigit() else value.strip("'")
            for name, value in STAT_RE.findall(dump)
        }


def fetches(mirror: MirrorServer) -> Counter[str]:
    """GET requests per path (with query) the mirror answered, robots.txt left out."""
    counts = mirror.requests.counter("GET")
    return Counter({path: n for (_, path), n in counts.items() if path != "/robots.txt"})


def truth_pages() -> set[str]:
    return {row["url"] for row in truth_rows()}


def expected_article_count() -> int:
    """Articles the bundled site holds: one per infoCode (either form), plus one per page
    without any."""
    codes = [normalize_info_code(row["info_code"]) for row in truth_rows()]
    return len({code for code in codes if code}) + sum(1 for code in codes if not code)


def stored(database_url: str) -> dict[str, int]:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as connection:

            def scalar(sql: str) -> int:
                return int(connection.execute(text(sql)).scalar_one())

            return {
                "pages": scalar("SELECT count(*) FROM article_pages"),
                "distinct_paths": scalar("SELECT count(DISTINCT path) FROM article_pages"),
                "articles": scalar("SELECT count(*) FROM articles"),
                "info_codes": scalar("SELECT count(DISTINCT info_code) FROM articles"),
                "without_code": scalar("SELECT count(*) FROM articles WHERE info_code IS NULL"),
            }
    finally:
        engine.dispose()


def stored_paths(database_url: str) -> set[str]:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT path FROM article_pages")).scalars())
    finally:
        engine.dispose()


def run_redis_keys(redis_client, run: str) -> dict[str, int]:
    """The run's keys and their TTLs."""
    return {
        key.decode(): redis_client.ttl(key) for key in redis_client.scan_iter(f"finews:{run}:*")
    }


def assert_only_done_marker(redis_client, run: str) -> None:
    keys = run_redis_keys(redis_client, run)
    assert list(keys) == [f"finews:{run}:done"], keys
    assert 0 < keys[f"finews:{run}:done"] <= int(TEST_SETTINGS["FINEWS_REDIS_DONE_TTL"])


# --- run keys and the add-on (no server needed) -----------------------------------------------


def test_run_keys_come_from_one_pattern():
    keys = run_keys("2024-05-01")
    assert keys.requests == "finews:2024-05-01:requests"
    assert keys.dupefilter == "finews:2024-05-01:dupefilter"
    assert keys.workers == "finews:2024-05-01:workers"
    assert keys.done == "finews:2024-05-01:done"
    assert keys.all() == (keys.requests, keys.dupefilter, keys.workers, keys.done)
    assert defaults.REDIS_KEY == "finews:%(run_id)s:%(name)s"

    custom = run_keys("r1", "crawl:%(spider)s:%(run_id)s:%(name)s", spider="finews")
    assert custom.requests == "crawl:finews:r1:requests"


@pytest.mark.parametrize("pattern", ["finews:%(name)s", "finews:%(run_id)s", "finews"])
def test_key_pattern_must_name_the_run_and_the_key(pattern: str):
    with pytest.raises(ValueError, match="FINEWS_REDIS_KEY"):
        run_keys("r1", pattern)


@pytest.mark.parametrize("bad", ["", "a b", "50%", "x" * 129, "a/b", "run*"])
def test_run_ids_are_checked(bad: str):
    with pytest.raises(ValueError, match="run id"):
        check_run_id(bad)


def test_fresh_run_ids_are_unique_and_valid():
    ids = {fresh_run_id() for _ in range(50)}
    assert len(ids) == 50
    for run in ids:
        assert check_run_id(run) == run
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", run)


def test_addon_is_off_without_a_redis_url():
    for url in ("", "  ", None):
        settings = Settings({"FINEWS_REDIS_URL": url})
        with pytest.raises(NotConfigured):
            RedisFrontier().update_settings(settings)
        assert settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
        assert settings["DUPEFILTER_CLASS"] == "scrapy.dupefilters.RFPDupeFilter"


def test_addon_switches_scheduler_dupefilter_and_redis_url():
    settings = Settings({"FINEWS_REDIS_URL": "redis://example:6379/3"})
    RedisFrontier().update_settings(settings)
    assert settings["SCHEDULER"] == SCHEDULER
    assert settings["DUPEFILTER_CLASS"] == DUPEFILTER
    assert settings["REDIS_URL"] == "redis://example:6379/3"
    # What is given on the command line still wins over the add-on.
    settings = Settings({"FINEWS_REDIS_URL": "redis://example"})
    settings.set("SCHEDULER", "my.Scheduler", priority="cmdline")
    RedisFrontier().update_settings(settings)
    assert settings["SCHEDULER"] == "my.Scheduler"


def test_crawler_settings_follow_finews_redis_url():
    """Through ADDONS in the project settings, as a crawler sees them."""
    from finews_crawler import settings as project

    base = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    on = get_crawler(SiteSpider, {**base, "FINEWS_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert on.settings["SCHEDULER"] == SCHEDULER
    assert on.settings["DUPEFILTER_CLASS"] == DUPEFILTER
    off = get_crawler(SiteSpider, {**base, "FINEWS_REDIS_URL": ""})
    assert off.settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"


def test_environment_variable_switches_it_on():
    code = (
        "from scrapy.crawler import Crawler;"
        "from scrapy.utils.project import get_project_settings;"
        "from finews_crawler.spiders.finews import SiteSpider;"
        "crawler = Crawler(SiteSpider, get_project_settings());"
        "crawler.addons.load_settings(crawler.settings);"
        "print(crawler.settings['SCHEDULER'])"
    )
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "finews_crawler.settings"}
    for url, expected in (("redis://127.0.0.1:6379/0", SCHEDULER), ("", "scrapy.core.scheduler")):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "FINEWS_REDIS_URL": url},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert result.stdout.strip().startswith(expected), result.stdout + result.stderr


def test_idle_handlers_run_in_the_order_they_were_connected():
    """The spider connects its spider_idle handler (from_crawler) before the scheduler opens and
    connects its own, so the spider's `others_busy()` call is seen in the same idle round."""
    signals_ = SignalManager()
    calls: list[str] = []
    signal_ = object()
    signals_.connect(lambda: calls.append("spider"), signal=signal_, weak=False)
    signals_.connect(lambda: calls.append("scheduler"), signal=signal_, weak=False)
    signals_.send_catch_log(signal_)
    assert calls == ["spider", "scheduler"]


class FakeFrontier:
    def __init__(self, busy: bool) -> None:
        self.busy = busy
        self.asked = 0

    def others_busy(self) -> bool:
        self.asked += 1
        return self.busy


def test_finews_spider_holds_deferred_articles_while_other_workers_are_busy():
    crawler = get_crawler(SiteSpider, {"FINEWS_BASE_URL": "http://127.0.0.1:8000"})
    spider = SiteSpider.from_crawler(crawler, refresh="1")
    crawler.spider = spider
    crawled: list = []
    crawler.engine = SimpleNamespace(crawl=crawled.append)
    assert spider.frontier is None and not spider.others_busy()  # one process: never busy
    held = sorted(truth_pages())[:2]
    spider.deferred_articles.update(dict.fromkeys(held))

    spider.frontier = FakeFrontier(busy=True)
    with pytest.raises(DontCloseSpider):
        spider.request_deferred_articles()
    assert crawled == [] and list(spider.deferred_articles) == held

    spider.frontier.busy = False
    with pytest.raises(DontCloseSpider):
        spider.request_deferred_articles()
    assert [urlsplit(r.url).path for r in crawled] == held
    assert all(not r.dont_filter for r in crawled)
    assert not spider.deferred_articles

    asked = spider.frontier.asked
    spider.request_deferred_articles()  # nothing held: the worker may close, others not asked
    assert spider.frontier.asked == asked


def test_start_requests_go_through_the_shared_dupefilter():
    crawler = get_crawler(SiteSpider, {"FINEWS_BASE_URL": "http://127.0.0.1:8000"})
    spider = SiteSpider.from_crawler(crawler, refresh="1")
    crawler.spider = spider
    spider.load_stored_pages = frozenset  # no database here

    async def collect() -> list:
        return [request async for request in spider.start()]

    requests = asyncio.run(collect())
    assert [urlsplit(r.url).path for r in requests] == ["/", "/feed.xml", "/emnews/"]
    assert not any(r.dont_filter for r in requests)


# --- the worker protocol on the real Redis ----------------------------------------------------


def registry(redis_client, run: str, worker: str, **kwargs) -> WorkerRegistry:
    options = {"key_ttl": 600, "worker_timeout": 60.0, "done_ttl": 30, **kwargs}
    return WorkerRegistry(redis_client, run_keys(run), worker, **options)


def test_pop_marks_busy_and_the_run_closes_only_when_all_are_idle(redis_client, run_id):
    a, b = registry(redis_client, run_id, "a"), registry(redis_client, run_id, "b")
    assert a.join() and b.join()
    assert b.beat(IDLE).others == {"a": BUSY}
    a.beat(IDLE)
    a.push(b"listing", -10)
    a.push(b"article", 0)
    assert redis_client.ttl(run_keys(run_id).requests) > 0

    assert b.pop() == b"listing"  # highest priority first; b is busy from the same step
    snapshot = a.beat(IDLE)
    assert (snapshot.queued, snapshot.others) == (1, {"b": BUSY})
    assert not snapshot.run_idle
    assert a.pop() == b"article"
    assert a.pop() is None
    snapshot = b.beat(IDLE)
    assert (snapshot.queued, snapshot.others) == (0, {"a": BUSY})
    assert not snapshot.run_idle
    snapshot = a.beat(IDLE)
    assert snapshot.run_idle

    # A holder keeps the others open, but does not stop another holder from releasing.
    snapshot = a.beat(HOLDING)
    assert b.beat(HOLDING).others == {"a": HOLDING}
    b_view = b.beat(IDLE)
    assert b_view.others_active and not b_view.others_busy
    assert not a.beat(HOLDING).others_busy

    first = a.leave()
    assert (first.last_out, first.removed) == (False, False)
    last = b.leave()
    assert (last.last_out, last.removed, last.queued) == (True, True, 0)
    assert_only_done_marker(redis_client, run_id)
    # A worker that comes late finds the run done and writes nothing.
    assert not registry(redis_client, run_id, "late").join()
    assert_only_done_marker(redis_client, run_id)


def test_a_dead_worker_is_dropped_after_the_timeout(redis_client, run_id):
    a = registry(redis_client, run_id, "a", worker_timeout=0.3)
    b = registry(redis_client, run_id, "b", worker_timeout=0.3)
    a.join()
    b.join()
    assert b.beat(IDLE).others == {"a": BUSY}
    time.sleep(0.5)  # a stops beating, as if killed
    snapshot = b.beat(IDLE)
    assert snapshot.stale == ("a",)
    assert snapshot.others == {}
    assert snapshot.run_idle


def test_the_last_worker_out_of_an_unfinished_run_keeps_it_for_a_resume(redis_client, run_id):
    a = registry(redis_client, run_id, "a", done_ttl=0)
    a.join()
    a.push(b"left over", 0)
    departure = a.leave()
    assert (departure.last_out, departure.removed, departure.queued) == (True, False, 1)
    keys = run_redis_keys(redis_client, run_id)
    assert set(keys) == {f"finews:{run_id}:requests"}
    assert 0 < keys[f"finews:{run_id}:requests"] <= 600
    resumed = registry(redis_client, run_id, "b")
    assert resumed.join()
    assert resumed.pop() == b"left over"


# --- whole runs: several workers, the mirror, Redis and PostgreSQL ----------------------------


def test_two_workers_share_one_run(tmp_path, mirror, redis_client, run_id, pg_url):
    pages = truth_pages()
    workers = [Worker(tmp_path, f"worker{i}", mirror, pg_url, run_id) for i in (1, 2)]
    for worker in workers:
        assert worker.wait() == 0, worker.log_tail()

    # Every page fetched once across both workers (the share links too: none is shared by two
    # pages on this site); robots.txt is per process and left out.
    first = fetches(mirror)
    twice = {path: n for path, n in first.items() if n > 1}
    assert sum(n - 1 for n in twice.values()) <= 0.05 * len(first), twice
    assert pages <= set(first), sorted(pages - set(first))[:5]
    listings = {path for path in first if path not in pages and "NewsShare" not in path}
    assert {"/", "/feed.xml", "/emnews/"} <= listings
    assert any(path.startswith("/category/") for path in listings)

    # Both took part, each closed when the frontier was empty, within moments of each other.
    stats = [worker.stats() for worker in workers]
    for worker, stat in zip(workers, stats, strict=True):
        assert stat.get("finish_reason") == "finished", worker.log_tail()
        assert stat.get("scheduler/dequeued/redis", 0) > 0, worker.log_tail()
        assert stat.get("finews/redis/run_id") == run_id
    assert sum(s.get("finews/pages", 0) for s in stats) == len(pages)
    assert sum(s.get("finews/redis/last_out", 0) for s in stats) == 1
    assert abs(workers[0].finished - workers[1].finished) < 10

    # Each article stored once: one row per page, one per article (pages merged by infoCode).
    counts = stored(pg_url)
    assert counts["pages"] == counts["distinct_paths"] == len(pages) == 106
    assert counts["articles"] == expected_article_count()
    assert counts["articles"] == counts["info_codes"] + counts["without_code"]
    assert counts["without_code"] == 1

    # The run's keys are gone; only the short-lived `done` marker stays.
    assert_only_done_marker(redis_client, run_id)

    # A worker started late for the same run finds it done: it fetches nothing, stores nothing.
    mirror.requests.clear()
    late = Worker(tmp_path, "late", mirror, pg_url, run_id)
    assert late.wait() == 0, late.log_tail()
    assert late.stats().get("finish_reason") == "run_already_done"
    assert not fetches(mirror)
    assert stored(pg_url) == counts

    # A new run (no run id: a fresh one) reads the listing pages again and skips stored pages.
    mirror.requests.clear()
    rerun = Worker(tmp_path, "rerun", mirror, pg_url, None)
    assert rerun.wait() == 0, rerun.log_tail()
    second = fetches(mirror)
    assert listings <= set(second), sorted(listings - set(second))
    assert not (set(second) & pages), sorted(set(second) & pages)[:5]
    assert max(second.values()) == 1
    fresh_run = str(rerun.stats()["finews/redis/run_id"])
    assert fresh_run != run_id
    try:
        assert_only_done_marker(redis_client, fresh_run)
    finally:
        redis_client.delete(f"finews:{fresh_run}:done")
    assert stored(pg_url) == counts


def test_a_killed_worker_loses_nothing_the_next_run_does_not_pick_up(
    tmp_path, mirror, redis_client, run_id, pg_url
):
    pages = truth_pages()
    timeout = {"FINEWS_REDIS_WORKER_TIMEOUT": "3"}
    victim = Worker(tmp_path, "victim", mirror, pg_url, run_id, **timeout)
    survivor = Worker(tmp_path, "survivor", mirror, pg_url, run_id, **timeout)
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while time.monotonic() < deadline and not (
        "joined run" in victim.log_text() and sum(fetches(mirror).values()) >= 40
    ):
        time.sleep(0.05)
    victim.kill()  # SIGKILL: no heartbeat, no leave, its buffered items never written
    assert survivor.wait() == 0, survivor.log_tail()
    stat = survivor.stats()
    assert stat.get("finish_reason") == "finished"
    assert stat.get("finews/redis/stale_workers") == 1, survivor.log_tail()
    assert stat.get("finews/redis/last_out") == 1
    assert_only_done_marker(redis_client, run_id)
    first = fetches(mirror)
    assert sum(n - 1 for n in first.values()) <= 0.05 * len(first)

    # The next run fetches exactly the article pages not stored yet, and then all are stored.
    kept = stored_paths(pg_url)
    assert kept < pages
    mirror.requests.clear()
    nxt = Worker(tmp_path, "next", mirror, pg_url, new_run_id())
    assert nxt.wait() == 0, nxt.log_tail()
    assert set(fetches(mirror)) & pages == pages - kept
    counts = stored(pg_url)
    assert counts["pages"] == len(pages)
    assert counts["articles"] == expected_article_count()
    redis_client.delete(*redis_client.scan_iter(f"finews:{nxt.stats()['finews/redis/run_id']}:*"))
