"""Crawls killed with SIGKILL at random moments (issue 14), on SQLite and PostgreSQL.

`finews crawl` over the bundled mirror, slowed by a small download delay so that the kills land
mid-crawl, with a parser process and the store's writer process; each crawl is killed at a
random moment after both children started (the seed is in every assertion message). After each
kill: no process of the crawl (its children, found by parent pid and process group before the
kill) outlives it by more than a second, and nothing holds the database (SQLite: a write lock is
taken at once; PostgreSQL: the store's write lock is free). Then a last crawl: it is not kept
waiting by any lock, every killed run that got its row is shown `killed` by `finews runs`, and
the export equals what a clean crawl stores (tests/fixtures/truth.jsonl).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from support.cli_runner import finews_background, finews_cli
from support.db_fixtures import PG_SERVER_URL, fresh_pg_database, pg_unavailable_reason
from support.fault_runs import export_records, setting_args
from support.truth import assert_matches_truth

from finews_crawler.processes.liveness import pid_alive
from finews_crawler.store.engine import normalize_url
from finews_crawler.store.repository import PG_WRITE_LOCK

pytestmark = pytest.mark.slow

#: How long a process of the crawl may outlive the crawl process (the issue's bound).
GRACE_SECONDS = 1.0
#: Kill n lands at a random moment in the n-th window of this many seconds after both child
#: processes started: early (the writer still starting) to late (batches stored).
KILL_WINDOW = 1.0
CRAWL_SETTINGS = {
    "FINEWS_PARSER_PROCESSES": "1",
    "FINEWS_STORE_PROCESS": "true",
    "FINEWS_STORE_BATCH_SIZE": "3",
    "FINEWS_PROGRESS": "off",
    "CONCURRENT_REQUESTS": "2",
    # ~150 requests (pages and share links) at one per ~0.1 s: a crawl of about 15 s, so every
    # kill lands mid-way even on a fast, quiet machine (a crawl after a kill has less to fetch).
    "DOWNLOAD_DELAY": "0.1",
}
CHILD_MODULES = ("finews_crawler.processes.parser_worker", "finews_crawler.processes.store_writer")


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, process group) of `pid`, or None when it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[2])


def processes_of(root: int) -> dict[int, str]:
    """Every process descending from `root` or in its process group: pid -> command line."""
    stats = {
        int(p.name): s
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
        if (s := _stat(int(p.name)))
    }
    found: set[int] = set()
    frontier = {root}
    while frontier:
        children = {pid for pid, (ppid, _) in stats.items() if ppid in frontier} - found
        found |= children
        frontier = children
    found |= {pid for pid, (_, group) in stats.items() if group == root and pid != root}
    commands = {}
    for pid in found:
        try:
            commands[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return commands


def finews_crawl(env: dict[str, str], tmp_path: Path, name: str) -> subprocess.Popen:
    args = ["crawl", "finews", "--lock-file", str(tmp_path / "crawl.lock")]
    args += ["--log-file", str(tmp_path / f"{name}.log"), *setting_args(CRAWL_SETTINGS)]
    return finews_background(args, env, own_session=True)


def kill_mid_crawl(env: dict[str, str], tmp_path: Path, name: str, delay: float) -> dict[int, str]:
    """Start a crawl, SIGKILL it `delay` seconds after its children started; its children."""
    process = finews_crawl(env, tmp_path, name)
    try:

        def children_started() -> bool:
            assert process.poll() is None, f"{name} ended before its children started"
            commands = " ".join(processes_of(process.pid).values())
            return all(module in commands for module in CHILD_MODULES)

        assert wait_for(children_started, 60), f"{name}: no parser and writer process"
        time.sleep(delay)
        children = processes_of(process.pid)
        assert process.poll() is None, f"{name} finished before it was killed"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return children


def survivors(processes: dict[int, str]) -> list[int]:
    return [pid for pid in processes if pid_alive(pid)]


def run_killed_crawls(
    env: dict[str, str],
    tmp_path: Path,
    database_free: Callable[[], bool],
    seed: int,
    kills: int,
) -> None:
    moments = random.Random(seed)
    for n in range(kills):
        delay = round(moments.uniform(n * KILL_WINDOW, (n + 1) * KILL_WINDOW), 3)
        what = f"seed {seed}, kill {n} at {delay} s after the children started"
        children = kill_mid_crawl(env, tmp_path, f"killed{n}", delay)
        assert any("store_writer" in command for command in children.values()), what
        assert wait_for(lambda c=children: not survivors(c), GRACE_SECONDS), (
            f"{what}: outlived the crawl: {[children[pid] for pid in survivors(children)]}"
        )
        assert database_free(), f"{what}: the database is still held"

    final = finews_crawl(env, tmp_path, "final")
    _, err = final.communicate(timeout=180)
    assert final.returncode == 0, f"seed {seed}: {err[-3000:]}"
    log = (tmp_path / "final.log").read_text(encoding="utf-8")
    # Nothing of the killed crawls held it up: no lock waited out, no write retried or spooled.
    for trace in ("database is locked", "retry 1/", "spooled"):
        assert trace not in log, f"seed {seed}: {trace!r} in the last run's log"


def check_runs_and_export(database_url: str, seed: int) -> None:
    shown = finews_cli(["runs", "--json", "--database-url", database_url])
    assert shown.returncode == 0, shown.stderr
    runs = [json.loads(line) for line in shown.stdout.splitlines()]
    final, killed = runs[0], runs[1:]
    assert (final["outcome"], final["verdict"]) == ("finished", "healthy"), seed
    # A kill before the store opened leaves no row; every row it left is `killed`.
    assert killed and all(
        (run["outcome"], run["verdict"]) == ("killed", "killed") for run in killed
    ), (seed, [(run["id"], run["outcome"]) for run in killed])
    assert all(run["health_reasons"][0].startswith("its process (pid") for run in killed)
    assert all(run["finished_at"] is not None for run in killed)
    table = finews_cli(["runs", "--database-url", database_url]).stdout
    assert all(f"run {run['id']}: killed: its process" in table for run in killed)
    assert_matches_truth(export_records(database_url))


def test_sigkill_at_random_moments_sqlite(run_scrapy, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    database = run_scrapy.database_path

    def sqlite_free() -> bool:
        if not database.exists():
            return True
        with sqlite3.connect(database, timeout=0, isolation_level=None) as connection:
            connection.execute("BEGIN IMMEDIATE")  # raises "database is locked" when held
            connection.execute("ROLLBACK")
        return True

    run_killed_crawls(run_scrapy.environment(), tmp_path, sqlite_free, seed, kills=3)
    check_runs_and_export(run_scrapy.database_url, seed)


@pytest.mark.postgres
def test_sigkill_at_random_moments_postgresql(run_scrapy, tmp_path: Path) -> None:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    seed = random.randrange(1 << 30)
    with fresh_pg_database(PG_SERVER_URL) as url:
        admin = create_engine(normalize_url(url))

        def write_lock_free() -> bool:
            with admin.begin() as connection:
                query = text("SELECT pg_try_advisory_xact_lock(:key)")
                return connection.execute(query, {"key": PG_WRITE_LOCK}).scalar()

        def pg_free() -> bool:
            # The server notices a dead client's connection when it next reads from it.
            return wait_for(write_lock_free, GRACE_SECONDS)

        env = run_scrapy.environment({"FINEWS_DATABASE_URL": url})
        try:
            # Two kills (early, mid-crawl): the file stays near a minute.
            run_killed_crawls(env, tmp_path, pg_free, seed, kills=2)
            check_runs_and_export(url, seed)
        finally:
            admin.dispose()
