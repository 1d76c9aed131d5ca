"""`finews db backup` / `finews db restore`: a backup taken while a crawl writes is a consistent
snapshot that restores to the same data; PostgreSQL gets the pg_dump/pg_restore commands."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli_runner import finews_background, finews_cli
from support.db_fixtures import fresh_pg_database, pg_server, truth_rows  # noqa: F401 - fixtures

from finews_crawler.store import Repository
from finews_crawler.store.backup import integrity_check
from localsite.server import setting_args

#: A crawl of the bundled mirror slowed to ~20 s, committing every few items: a backup lands
#: half-way through it.
SLOW = [
    "-s",
    "DOWNLOAD_DELAY=0.1",
    "-s",
    "CONCURRENT_REQUESTS=1",
    "-s",
    "FINEWS_STORE_BATCH_SIZE=5",
]


def export(database_url: str, cwd: Path) -> list[dict]:
    result = finews_cli(["export", "--database-url", database_url], cwd=cwd)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def stored_articles(path: Path) -> int:
    """Articles in a SQLite store another process writes (0 before its schema exists)."""
    if not path.is_file():
        return 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
    try:
        return connection.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # no such table yet
        return 0
    finally:
        connection.close()


@pytest.mark.slow
def test_backup_during_a_crawl_restores_to_the_data_at_backup_time(tmp_path, mirror):
    source = tmp_path / "finews.sqlite3"
    db = f"sqlite:///{source}"
    backup = tmp_path / "backups" / "finews-backup.sqlite3"
    crawl = finews_background(
        [
            "crawl",
            "finews",
            "--database-url",
            db,
            "--lock-file",
            str(tmp_path / "crawl.lock"),
            *setting_args(mirror.crawl_settings()),
            *SLOW,
        ],
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        while stored_articles(source) < 10:
            assert crawl.poll() is None, crawl.communicate()
            assert time.monotonic() < deadline, "the crawl stored nothing"
            time.sleep(0.2)
        taken = finews_cli(["db", "backup", str(backup), "--database-url", db], cwd=tmp_path)
        still_running = crawl.poll() is None
        out, err = crawl.communicate(timeout=180)
    finally:
        if crawl.poll() is None:
            crawl.kill()
            crawl.wait()
    assert taken.returncode == 0, taken.stderr
    assert "integrity check ok" in taken.stdout
    assert still_running, "the crawl ended before the backup did: not a backup during a crawl"
    assert crawl.returncode == 0, out + err

    # A consistent snapshot, one self-contained file, of a moment half-way through the crawl.
    assert integrity_check(backup) == "ok"
    assert not Path(f"{backup}-wal").exists()
    snapshot = sqlite3.connect(backup)
    try:
        assert snapshot.execute("PRAGMA foreign_key_check").fetchall() == []
        # Every stored page belongs to a stored article, and the run was caught running.
        orphans = (
            "SELECT count(*) FROM article_pages WHERE article_id NOT IN (SELECT id FROM articles)"
        )
        assert snapshot.execute(orphans).fetchone() == (0,)
        assert snapshot.execute("SELECT outcome FROM crawl_runs").fetchall() == [("running",)]
    finally:
        snapshot.close()
    at_backup = export(f"sqlite:///{backup}", tmp_path)
    final = export(db, tmp_path)
    assert 10 <= len(at_backup) < len(final)

    # Restored into a new database, and over the live one: the data at backup time.
    fresh = tmp_path / "restored.sqlite3"
    restored = finews_cli(
        ["db", "restore", str(backup), "--database-url", f"sqlite:///{fresh}"], cwd=tmp_path
    )
    assert restored.returncode == 0, restored.stderr
    assert export(f"sqlite:///{fresh}", tmp_path) == at_backup
    refused = finews_cli(["db", "restore", str(backup), "--database-url", db], cwd=tmp_path)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert export(db, tmp_path) == final
    forced = finews_cli(
        ["db", "restore", str(backup), "--force", "--database-url", db], cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr
    assert export(db, tmp_path) == at_backup
    assert integrity_check(source) == "ok"
    # The restored store takes the next crawl as any other: it fills in what came after.
    again = finews_cli(
        [
            "crawl",
            "finews",
            "--database-url",
            db,
            "--lock-file",
            str(tmp_path / "crawl.lock"),
            *setting_args(mirror.crawl_settings()),
        ],
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert {a["url"] for a in export(db, tmp_path)} == {a["url"] for a in final}


def test_backup_never_overwrites_and_needs_a_database(tmp_path):
    db = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    missing = finews_cli(["db", "backup", str(tmp_path / "b.sqlite3"), "--database-url", db])
    assert missing.returncode == 1 and "no SQLite database" in missing.stderr
    with Repository(db) as repository:
        repository.write_items(truth_rows()[:3])
    existing = tmp_path / "existing.sqlite3"
    existing.write_text("keep me", encoding="utf-8")
    refused = finews_cli(["db", "backup", str(existing), "--database-url", db])
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert existing.read_text(encoding="utf-8") == "keep me"
    no_path = finews_cli(["db", "backup", "--database-url", db])
    assert no_path.returncode == 2 and "needs a PATH" in no_path.stderr


def test_restore_refuses_a_bad_backup_and_a_running_crawl(tmp_path):
    db = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    with Repository(db) as repository:
        repository.write_items(truth_rows()[:3])
    backup = tmp_path / "b.sqlite3"
    assert finews_cli(["db", "backup", str(backup), "--database-url", db]).returncode == 0
    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    lock = tmp_path / "crawl.lock"

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    bad = finews_cli(["db", "restore", str(garbage), "--database-url", target])
    assert bad.returncode == 1 and "integrity check" in bad.stderr
    foreign = tmp_path / "foreign.sqlite3"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    other = finews_cli(["db", "restore", str(foreign), "--database-url", target])
    assert other.returncode == 1 and "not a finews database" in other.stderr

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a');"
            "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        busy = finews_cli(
            ["db", "restore", str(backup), "--lock-file", str(lock), "--database-url", target]
        )
        assert busy.returncode == 75 and "a crawl holds" in busy.stderr
    finally:
        holder.kill()
        holder.wait()
    done = finews_cli(
        ["db", "restore", str(backup), "--lock-file", str(lock), "--database-url", target]
    )
    assert done.returncode == 0, done.stderr
    assert export(target, tmp_path) == export(db, tmp_path)


@pytest.mark.postgres
def test_postgresql_backup_and_restore_name_pg_dump_and_pg_restore(tmp_path, pg_server):
    with fresh_pg_database(pg_server) as source, fresh_pg_database(pg_server) as target:
        with Repository(source) as repository:
            repository.write_items(truth_rows()[:5])
        dump = tmp_path / "finews.dump"
        backup = finews_cli(["db", "backup", str(dump), "--database-url", source])
        assert backup.returncode == 2 and not dump.exists()
        dump_command = backup.stderr.strip().splitlines()[-1].strip()
        assert dump_command.startswith("pg_dump ")
        restore = finews_cli(["db", "restore", str(dump), "--database-url", target])
        assert restore.returncode == 2
        restore_command = restore.stderr.strip().splitlines()[-1].strip()
        assert restore_command.startswith("pg_restore ")
        if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
            pytest.skip("pg_dump/pg_restore are not installed: the commands were not run")
        # The commands printed are the real thing: they copy the store.
        subprocess.run(shlex.split(dump_command), check=True, timeout=120)
        subprocess.run(shlex.split(restore_command), check=True, timeout=120)
        assert export(target, tmp_path) == export(source, tmp_path)
