"""Backups of the SQLite store while crawls write to it, and their restore.

`backup_sqlite` copies the database with SQLite's online backup API in one step: one read
transaction, so the copy is the consistent snapshot of one moment, taken without stopping a
crawl (in WAL mode readers never block the writer). The copy is written under a temporary name,
switched to a self-contained file (rollback journal, no WAL beside it), checked with
`PRAGMA integrity_check`, then renamed into place: a backup that exists is complete.

`restore_sqlite` checks a backup the same way, then copies it into the database with the same
API, which takes SQLite's write lock on it, so no other connection ever reads half of it.

PostgreSQL has its own tools: `pg_dump_command` and `pg_restore_command` say which to run.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from finews_crawler.store.engine import SQLITE_BUSY_TIMEOUT_MS

logger = logging.getLogger(__name__)


class BackupError(Exception):
    """A backup or restore that cannot be done, in words."""


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def integrity_check(path: Path) -> str:
    """`PRAGMA integrity_check` of a SQLite file: "ok", or what is wrong."""
    if not path.is_file():
        raise BackupError(f"no such file: {path}")
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"not a SQLite database: {exc}"
    finally:
        connection.close()
    return "; ".join(str(row[0]) for row in rows)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy the SQLite database `source` to the new file `target` while others may write to
    it; returns the backup's size in bytes. Raises BackupError when it cannot."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; give a new file (or remove it first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        reader = _connect(source)
        writer = _connect(temporary)
        try:
            # pages=-1: the whole database in one step, under one read transaction (a snapshot);
            # copying in steps would restart whenever the crawl commits.
            reader.backup(writer, pages=-1)
            # One self-contained file: no WAL beside the backup to lose when it is copied.
            writer.execute("PRAGMA journal_mode = DELETE")
        finally:
            writer.close()
            reader.close()
        verdict = integrity_check(temporary)
        if verdict != "ok":
            raise BackupError(f"the backup failed its integrity check: {verdict}")
        _fsync(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    logger.info("Backed up %s to %s", source, target)
    return target.stat().st_size


def restore_sqlite(backup: Path, target: Path) -> None:
    """Replace the content of the SQLite database `target` (created if missing) by the backup
    `backup`, after checking it. Raises BackupError when the backup is not sound."""
    verdict = integrity_check(backup)
    if verdict != "ok":
        raise BackupError(f"{backup} failed its integrity check: {verdict}")
    reader = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in reader.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise BackupError(f"{backup} is not a finews database (it has no schema version)")
        target.parent.mkdir(parents=True, exist_ok=True)
        writer = _connect(target)
        try:
            reader.backup(writer, pages=-1)
            # The store runs in WAL mode (the engine sets it on every connection anyway).
            writer.execute("PRAGMA journal_mode = WAL")
        finally:
            writer.close()
    finally:
        reader.close()
    logger.info("Restored %s from %s", target, backup)


def pg_dump_command(database_url: str | URL, path: str) -> str:
    """The command that backs up a PostgreSQL store (without the URL's password: give it
    through PGPASSWORD or ~/.pgpass)."""
    return f"pg_dump --format=custom --file={path} '{_libpq_url(database_url)}'"


def pg_restore_command(database_url: str | URL, path: str) -> str:
    """The command that restores a PostgreSQL store from `pg_dump_command`'s file."""
    return f"pg_restore --clean --if-exists --no-owner --dbname='{_libpq_url(database_url)}' {path}"


def _libpq_url(database_url: str | URL) -> str:
    # libpq knows postgresql://, not SQLAlchemy's driver suffix; a password is never printed.
    url = make_url(database_url) if isinstance(database_url, str) else database_url
    # (URL.set takes None as "unchanged", so the tuple's own _replace drops the password.)
    bare = url._replace(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False)


__all__ = [
    "BackupError",
    "backup_sqlite",
    "integrity_check",
    "pg_dump_command",
    "pg_restore_command",
    "restore_sqlite",
]
