"""Database URLs and engines: which driver, which pragmas, and how a URL is shown in logs.

`FINEWS_DATABASE_URL` takes either SQLite (`sqlite:///data/finews.sqlite3`, the default; the parent
directory is created, WAL mode and a busy timeout (FINEWS_SQLITE_BUSY_TIMEOUT_MS, an environment
variable) are set on every connection) or PostgreSQL
(`postgresql://user:pass@host/db`, always driven by psycopg 3). Passwords never reach the logs:
use `mask_url` whenever a URL is shown.

SQLite transactions are begun explicitly (the driver's own implicit transactions are turned off),
so a write transaction can start with `BEGIN IMMEDIATE` and take the write lock up front instead
of failing half-way with "database is locked". Ask for it with the execution option
`finews_write=True` (see `write_engine`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from finews_crawler import defaults

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

#: Seconds a PostgreSQL connection attempt may take.
PG_CONNECT_TIMEOUT = 10
#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
WRITE_OPTION = "finews_write"


def normalize_url(url: str | URL) -> URL:
    """The URL SQLAlchemy should use: `postgresql://` and `postgres://` run on psycopg 3."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver and driver != "psycopg":
            logger.info("Using psycopg 3 instead of %s for PostgreSQL", driver)
        return parsed.set(drivername="postgresql+psycopg")
    if backend != "sqlite":
        raise ValueError(f"Unsupported database (only SQLite and PostgreSQL): {mask_url(parsed)}")
    return parsed


def mask_url(url: str | URL) -> str:
    """The URL as it may be logged or printed: any password is replaced by `***`."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        return "<unparsable database URL>"
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for another database, or SQLite in memory."""
    parsed = make_url(url) if isinstance(url, str) else url
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite":
        return None
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_db_engine(url: str | URL, **kwargs: Any) -> Engine:
    """A configured engine for a SQLite or PostgreSQL URL."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT)
    return create_engine(parsed, connect_args=connect_args, **kwargs)


def _create_sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        # An in-memory database lives as long as its one connection.
        kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    engine = create_engine(url, **kwargs)
    in_memory = path is None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            timeout = (
                os.environ.get("FINEWS_SQLITE_BUSY_TIMEOUT_MS") or defaults.SQLITE_BUSY_TIMEOUT_MS
            )
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout)}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def write_engine(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take the SQLite write lock at BEGIN."""
    return engine.execution_options(**{WRITE_OPTION: True})
