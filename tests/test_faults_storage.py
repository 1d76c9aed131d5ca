"""Storage faults and crashes (issue 5), on real crawls of the bundled site.

- SQLite locked by another writer mid-run: writes are retried, then spooled; the next run
  replays the spool (against a dead site, so only the replay can bring the items back).
- PostgreSQL connections terminated mid-run: writes retried or spooled; nothing lost.
- SIGKILL at a few moments: the database stays consistent, the `finews crawl` lock does not block
  the next run, which completes the data.
- SIGTERM: the crawl stops after flushing its pending batch; the run is `interrupted`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.cli_runner import PROJECT_ROOT, finews_background
from support.db_fixtures import fresh_pg_database, pg_unavailable_reason
from support.fault_runs import export_records, setting_args
from support.truth import assert_matches_truth

from finews_crawler.store.engine import normalize_url

pytestmark = pytest.mark.slow


def dead_url() -> str:
    """A loopback URL nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def start_crawl(runner, env: dict[str, str], settings: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "finews", *setting_args(settings)],
        cwd=PROJECT_ROOT,
        env=runner.environment(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(condition: Callable[[], bool], process: subprocess.Popen, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, "the crawl ended before the moment came"
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def sqlite_count(path: Path, sql: str) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # no schema yet


def replay_only(runner, log_file: Path, env: dict[str, str] | None = None) -> None:
    """A run against a dead site: what it stores can only come from the spool."""
    env = {"FINEWS_BASE_URL": dead_url(), "FINEWS_SHARE_BASE_URL": "", **(env or {})}
    result = runner(["crawl", "finews", *setting_args({"LOG_FILE": str(log_file)})], env=env)
    log = log_file.read_text(encoding="utf-8")
    assert "Replaying" in log, log[-3000:]
    assert not result.returncode or "no page was fetched" in log, log[-3000:]


def spooled_count(log: str) -> int:
    return sum(int(n) for n in re.findall(r"Database unavailable: (\d+) items spooled", log))


def test_sqlite_locked_mid_run_is_spooled_then_replayed(mirror, run_scrapy, tmp_path: Path) -> None:
    log1 = tmp_path / "run1.log"
    env = {"FINEWS_SQLITE_BUSY_TIMEOUT_MS": "200"}
    settings = {
        "LOG_FILE": str(log1),
        "FINEWS_STORE_BATCH_SIZE": "5",
        "FINEWS_STORE_RETRIES": "1",
        "CONCURRENT_REQUESTS": "2",
    }
    process = start_crawl(run_scrapy, env, settings)
    database = run_scrapy.database_path
    try:
        wait_until(lambda: sqlite_count(database, "SELECT count(*) FROM articles") >= 10, process)
        locker = sqlite3.connect(database, isolation_level=None, timeout=5)
        locker.execute("BEGIN EXCLUSIVE")
        stored_before = sqlite_count(database, "SELECT count(*) FROM articles")
        try:
            assert process.wait(timeout=120) is not None
        finally:
            locker.execute("ROLLBACK")
            locker.close()
    finally:
        if process.poll() is None:
            process.kill()
    log = log1.read_text(encoding="utf-8")
    spooled = spooled_count(log)
    assert spooled > 0, log[-3000:]
    assert "retry 1/1" in log  # retried before spooling
    assert list(run_scrapy.spool_dir.glob("*")), "nothing in the spool folder"
    assert 10 <= stored_before < 76

    replay_only(run_scrapy, tmp_path / "run2.log")
    assert_matches_truth(export_records(run_scrapy.database_url))
    assert not [p for p in run_scrapy.spool_dir.rglob("*") if p.is_file()]


@pytest.mark.postgres
def test_postgres_connections_terminated_mid_run_lose_nothing(
    mirror, run_scrapy, tmp_path: Path
) -> None:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from support.db_fixtures import PG_SERVER_URL

    with fresh_pg_database(PG_SERVER_URL) as url:
        admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
        env = {"FINEWS_DATABASE_URL": url}
        settings = {
            "LOG_FILE": str(tmp_path / "run1.log"),
            "FINEWS_STORE_BATCH_SIZE": "5",
            "CONCURRENT_REQUESTS": "2",
        }

        def articles() -> int:
            try:
                with admin.connect() as connection:
                    return connection.execute(text("SELECT count(*) FROM articles")).scalar()
            except Exception:
                return 0

        def terminate() -> int:
            with admin.connect() as connection:
                return connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar()

        process = start_crawl(run_scrapy, env, settings)
        try:
            killed = 0
            for threshold in (10, 30, 50):
                wait_until(lambda t=threshold: articles() >= t, process)
                killed += terminate()
            assert process.wait(timeout=120) == 0
        finally:
            if process.poll() is None:
                process.kill()
        assert killed >= 1
        log = (tmp_path / "run1.log").read_text(encoding="utf-8")
        if spooled_count(log):
            replay_only(run_scrapy, tmp_path / "run2.log", env)
        assert_matches_truth(export_records(url))
        admin.dispose()


def check_consistent(database: Path) -> None:
    """No half-written article: each has its pages and categories, no page lacks its article."""
    with sqlite3.connect(database) as connection:
        orphans = connection.execute(
            "SELECT count(*) FROM article_pages p LEFT JOIN articles a ON a.id = p.article_id "
            "WHERE a.id IS NULL"
        ).fetchone()[0]
        without_pages = connection.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS "
            "(SELECT 1 FROM article_pages p WHERE p.article_id = a.id)"
        ).fetchone()[0]
        without_categories = connection.execute(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS "
            "(SELECT 1 FROM article_categories c WHERE c.article_id = a.id)"
        ).fetchone()[0]
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    assert (orphans, without_pages, without_categories, integrity) == (0, 0, 0, "ok")


def test_sigkill_leaves_a_consistent_database_and_no_stuck_lock(
    mirror, run_scrapy, tmp_path: Path
) -> None:
    lock_file = tmp_path / "crawl.lock"
    database = run_scrapy.database_path
    environment = run_scrapy.environment()

    def finews_crawl(log_name: str) -> subprocess.Popen:
        args = ["crawl", "finews", "--lock-file", str(lock_file)]
        args += ["--log-file", str(tmp_path / log_name)]
        args += setting_args({"FINEWS_STORE_BATCH_SIZE": "3", "CONCURRENT_REQUESTS": "2"})
        return finews_background(args, environment)

    # Killed right after start, then after some articles, then after more were stored.
    for n, threshold in enumerate((0, 5, 40)):
        process = finews_crawl(f"killed{n}.log")
        try:
            wait_until(
                lambda t=threshold: (
                    sqlite_count(database, "SELECT count(*) FROM articles") >= t
                    and (t or lock_file.exists())
                ),
                process,
            )
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        if database.exists():
            check_consistent(database)

    final = finews_crawl("final.log")
    _, err = final.communicate(timeout=120)
    assert final.returncode != 75, err  # the killed runs' lock does not block this one
    assert "another crawl holds" not in err
    check_consistent(database)
    assert_matches_truth(export_records(run_scrapy.database_url))


def test_sigterm_flushes_pending_writes(mirror, run_scrapy, tmp_path: Path) -> None:
    log_file = tmp_path / "run.log"
    settings = {
        "LOG_FILE": str(log_file),
        "LOG_LEVEL": "DEBUG",
        "FINEWS_STORE_BATCH_SIZE": "1000",  # nothing is written before the close
        "FINEWS_FOLLOW_SHARE": "false",  # items are scraped from their article page
        "CONCURRENT_REQUESTS": "1",
        "DOWNLOAD_DELAY": "0.05",
    }
    process = start_crawl(run_scrapy, {}, settings)

    def scraped() -> int:
        if not log_file.exists():
            return 0
        return log_file.read_text(encoding="utf-8", errors="replace").count("Scraped from")

    try:
        wait_until(lambda: scraped() >= 15, process)
        assert sqlite_count(run_scrapy.database_path, "SELECT count(*) FROM articles") == 0
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    log = log_file.read_text(encoding="utf-8", errors="replace")
    pages = set(re.findall(r"Scraped from <200 https?://[^/\s]+(/\S*)>", log))
    pages |= set(re.findall(r"already in this run's feed \(page (/\S+?)\)", log))
    assert len(pages) >= 15
    with sqlite3.connect(run_scrapy.database_path) as connection:
        stored = {row[0] for row in connection.execute("SELECT path FROM article_pages")}
        outcome = connection.execute("SELECT outcome FROM crawl_runs").fetchall()
    assert pages <= stored, sorted(pages - stored)[:5]
    assert len(stored) < 106, "the crawl was not interrupted"
    assert outcome == [("interrupted",)]
    check_consistent(run_scrapy.database_path)
