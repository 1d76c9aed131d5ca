"""A killed crawl leaves nothing behind (issue 14, part 1), short of a whole crawl
(tests/test_faults_kill.py kills real crawls).

- Child processes die with the process that started them, even while blocked in a database
  write with SQLite locked (the parent-death signal, and the watcher thread used where there is
  none), and a child whose parent died before it could arm itself ends at once.
- crawl_runs records each run's host and pid (migration 0005, up and down).
- When a run starts, runs left `running` whose process is gone are marked `killed` with the
  reason, announced, and shown by `finews runs`; runs whose process may be alive are left alone.
"""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import scrapy
from sqlalchemy import inspect, update
from support.cli_runner import dead_pid, finews_cli
from support.db_fixtures import (  # noqa: F401 - fixtures
    database_url,
    empty_url,
    pg_database,
    pg_server,
    truth_rows,
)
from support.paths import PROJECT_ROOT
from support.schema import downgrade, schema_differences

from finews_crawler.processes.child import PARENT_PID_ENV
from finews_crawler.processes.liveness import pid_alive, this_process, why_gone
from finews_crawler.signals import runs_killed
from finews_crawler.store import Repository
from finews_crawler.store.engine import create_db_engine
from finews_crawler.store.migrate import head_revision, upgrade
from finews_crawler.store.models import CrawlRun, utcnow
from pipelines.run_record import RunRecord

TESTS = PROJECT_ROOT / "tests"
#: How long a child may outlive its parent.
GRACE_SECONDS = 1.0

#: A crawl process in miniature: starts a child with `ChildProcess.start`, prints its pid, and
#: has it write a batch (blocked: the test holds the SQLite database locked).
PARENT = """
import asyncio, json, sys
from finews_crawler.processes.child import ChildProcess

async def main(module, database_url, item):
    child = await ChildProcess.start(module, database_url)
    print(child.pid, flush=True)
    await child.call(([item], None))

asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
"""


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def in_busy_wait(pid: int) -> bool:
    """Whether process `pid`'s main thread sleeps in SQLite's busy handler (waiting for the lock
    inside a write), rather than reading its requests from the pipe."""
    try:
        return "nanosleep" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


@pytest.mark.parametrize(
    "module",
    ["finews_crawler.processes.store_writer", "support.watched_writer"],
    ids=["parent-death-signal", "watcher-thread"],
)
def test_a_writer_blocked_in_a_write_dies_with_its_parent(tmp_path: Path, module: str) -> None:
    database = tmp_path / "finews.sqlite3"
    url = f"sqlite:///{database}"
    Repository(url).close()  # migrated: the writer does not migrate
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(TESTS)])}
    env["FINEWS_SQLITE_BUSY_TIMEOUT_MS"] = "60000"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, module, url, json.dumps(truth_rows()[0])],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert parent.stdout is not None
        writer = int(parent.stdout.readline())
        # The writer waits for the lock inside its write, not for its next request (the end of
        # its input would end it too).
        assert wait_for(lambda: in_busy_wait(writer), 30)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_for(lambda: not pid_alive(writer), GRACE_SECONDS), "the writer outlived it"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        if parent.poll() is None:
            parent.kill()
    # Nothing holds the database any more.
    with sqlite3.connect(database, timeout=0) as connection:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")


def test_a_child_whose_parent_is_already_gone_ends_at_once() -> None:
    # The pid it was told is not its parent's: the parent died before the child armed itself.
    child = subprocess.Popen(
        [sys.executable, "-m", "finews_crawler.processes.parser_worker"],
        stdin=subprocess.PIPE,  # kept open: only the parent check can end it
        env={**os.environ, PARENT_PID_ENV: "1", "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert child.wait(timeout=30) == 1
    finally:
        if child.poll() is None:
            child.kill()
        assert child.stdin is not None
        child.stdin.close()


# --- migration 0005 ------------------------------------------------------------------------


def test_migration_0005_adds_and_removes_host_and_pid(empty_url: str) -> None:
    with Repository(empty_url) as repo:
        run_id = repo.start_run("finews", host="crawler-1", pid=4321)
        assert (repo.get_run(run_id)["host"], repo.get_run(run_id)["pid"]) == ("crawler-1", 4321)
    downgrade(empty_url, "0004")
    engine = create_db_engine(empty_url)
    try:
        columns = {column["name"] for column in inspect(engine).get_columns("crawl_runs")}
        assert {"host", "pid"}.isdisjoint(columns) and {"outcome", "verdict"} <= columns
        assert upgrade(engine) == head_revision() == "0006"
        with engine.connect() as connection:
            assert schema_differences(connection) == []
            rows = connection.exec_driver_sql("SELECT id, host, pid FROM crawl_runs").all()
        assert [tuple(row) for row in rows] == [(run_id, None, None)]  # the run kept, unknown
    finally:
        engine.dispose()


# --- marking killed runs -------------------------------------------------------------------


def test_why_gone() -> None:
    host, pid = this_process()
    now = utcnow()
    assert "is gone" in why_gone(host, dead_pid(), now, now=now, stale_age=60)
    # This process, for a run it started: alive.
    assert why_gone(host, pid, now, now=now, stale_age=60) is None
    # A run started long before this process: its pid now belongs to another process.
    reused = why_gone(host, pid, now - timedelta(days=1), now=now, stale_age=60)
    assert "that pid now belongs to a process started at" in reused
    # Another host: only a run older than the stale age.
    assert why_gone("elsewhere", 1, now - timedelta(seconds=30), now=now, stale_age=60) is None
    old = why_gone("elsewhere", 1, now - timedelta(hours=3), now=now, stale_age=60)
    assert "3.0 hours ago on elsewhere and never finished" in old
    unknown = why_gone(None, None, now - timedelta(hours=3), now=now, stale_age=60)
    assert "by a process not recorded" in unknown


def test_a_starting_run_marks_runs_whose_process_is_gone(database_url: str) -> None:
    from scrapy.utils.test import get_crawler

    host, pid = this_process()
    with Repository(database_url) as repo:
        killed = repo.start_run("finews", host=host, pid=dead_pid())
        alive = repo.start_run("finews", run_key="shared", host=host, pid=pid)
        elsewhere = repo.start_run("finews", host="crawler-2", pid=77)
        stale = repo.start_run("finews", host="crawler-3", pid=78)
        finished = repo.start_run("finews", host=host, pid=dead_pid())
        repo.finish_run(finished, "finished", {"pages": 3}, verdict="healthy")
        with repo.engine.begin() as connection:
            connection.execute(
                update(CrawlRun)
                .where(CrawlRun.id == stale)
                .values(started_at=utcnow() - timedelta(hours=30))
            )

        crawler = get_crawler(scrapy.Spider, {"FINEWS_DATABASE_URL": database_url})
        crawler.spider = scrapy.Spider(name="finews")
        announced = []

        def on_runs_killed(runs: list[dict]) -> None:
            announced.extend(runs)

        crawler.signals.connect(on_runs_killed, signal=runs_killed)
        record = RunRecord(crawler, max_error_ratio=0.2, stale_age=24 * 3600)
        this_run = record.start(repo, crawler.stats)

        outcomes = {run["id"]: run for run in repo.recent_runs()}
        assert {run_id: outcomes[run_id]["outcome"] for run_id in outcomes} == {
            killed: "killed",
            alive: "running",
            elsewhere: "running",
            stale: "killed",
            finished: "finished",
            this_run: "running",
        }
        assert outcomes[this_run]["host"] == host and outcomes[this_run]["pid"] == pid
        assert crawler.stats.get_value("finews/runs_killed") == 2
        assert sorted(run["id"] for run in announced) == [killed, stale]
        dead = outcomes[killed]
        assert dead["verdict"] == "killed" and dead["finished_at"] is not None
        assert dead["health_reasons"][0].startswith(f"its process (pid {dead['pid']} on")
        assert "noticed at" in dead["health_reasons"][0]
        assert "on crawler-3 and never finished" in outcomes[stale]["health_reasons"][0]
        # A run that finished meanwhile is not marked.
        assert repo.mark_killed(finished, "late") is False

    shown = finews_cli(["runs", "--database-url", database_url])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split()[:1] == [str(killed)] and " killed " in line for line in lines)
    assert f"run {killed}: killed: its process (pid" in shown.stdout
