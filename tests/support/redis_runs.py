"""Helpers of the distributed-crawl tests: the local Redis, throwaway run ids, and worker
processes of `scrapy crawl finews` sharing a run (import the fixtures into a test module).

    from support.redis_runs import redis_client, run_id  # noqa: F401 - fixtures

Redis is $FINEWS_TEST_REDIS_URL (default redis://127.0.0.1:6379/0); tests that need it skip,
saying why, when it does not answer. Every run id is fresh, so the tests share the Redis
database with anything else safely.
"""

from __future__ import annotations

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

import pytest
from sqlalchemy import create_engine, text

from finews_crawler.distributed.keys import run_keys
from finews_crawler.site import normalize_info_code
from finews_crawler.store.engine import normalize_url
from localsite.server import MirrorServer, setting_args
from support.cli_runner import clean_environment
from support.truth import truth_rows

REDIS_URL = os.environ.get("FINEWS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Seconds a finished test run's `done` marker stays.
DONE_TTL = 30
#: Bound for one crawl process; the whole mirror takes a few seconds.
WORKER_TIMEOUT_S = 60
#: Settings of test workers: no autothrottle; a small delay so that the crawl lasts long enough
#: for both workers to take part (each worker has its own download slot).
TEST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0.05",
    "FINEWS_REDIS_DONE_TTL": str(DONE_TTL),
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
    keys = list(redis_client.scan_iter(match=run_keys(run).match))
    if keys:
        redis_client.delete(*keys)


# --- what a run left in Redis -----------------------------------------------------------------


def run_redis_keys(redis_client, run: str) -> dict[str, int]:
    """The run's keys and their TTLs."""
    return {
        key.decode(): redis_client.ttl(key) for key in redis_client.scan_iter(run_keys(run).match)
    }


def assert_only_done_marker(redis_client, run: str) -> None:
    keys = run_redis_keys(redis_client, run)
    assert list(keys) == [run_keys(run).done], keys
    assert 0 < keys[run_keys(run).done] <= DONE_TTL


# --- the bundled site and what a run stored ---------------------------------------------------


def truth_pages() -> set[str]:
    return {row["url"] for row in truth_rows()}


def expected_article_count() -> int:
    """Articles the bundled site holds: one per infoCode (either form), plus one per page
    without any."""
    codes = [normalize_info_code(row["info_code"]) for row in truth_rows()]
    return len({code for code in codes if code}) + sum(1 for code in codes if not code)


def fetches(mirror: MirrorServer) -> Counter[str]:
    """GET requests per path (with query) the mirror answered, robots.txt left out."""
    counts = mirror.requests.counter("GET")
    return Counter({path: n for (_, path), n in counts.items() if path != "/robots.txt"})


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


# --- worker processes -------------------------------------------------------------------------


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
        env = clean_environment(
            {
                "SCRAPY_SETTINGS_MODULE": "finews_crawler.settings",
                "FINEWS_REDIS_URL": REDIS_URL,
                "FINEWS_BASE_URL": mirror.url,
                "FINEWS_SHARE_BASE_URL": mirror.url,
                "FINEWS_DATABASE_URL": database_url,
                "FINEWS_SPOOL_DIR": str(tmp_path / "spool"),
            }
        )
        command = [sys.executable, "-m", "scrapy", "crawl", "finews"]
        if run_id:
            command += ["-a", f"run_id={run_id}"]
        command += setting_args({**TEST_SETTINGS, **settings, "LOG_FILE": str(self.log)})
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
