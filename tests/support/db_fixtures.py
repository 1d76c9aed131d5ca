"""Database fixtures for tests on SQLite and on PostgreSQL (import them into a test module).

    from support.db_fixtures import database_url, pg_database, pg_server, repository  # noqa: F401

- `database_url` is parametrized: `sqlite` (a file in tmp_path) and `postgresql` (a throwaway
  database created once per test session and emptied before each test).
- PostgreSQL: $FINEWS_TEST_PG_URL, default `postgresql://postgres@127.0.0.1:5432/postgres`
  (trust auth). The database is named `finews_test_<random>` and dropped after the session.
  When no server answers, PostgreSQL tests are skipped, saying why.
- `fresh_pg_database(server_url)` makes one more empty database for a test that needs its own;
  `empty_url` (parametrized `sqlite`/`postgresql`) is such a database, without any schema
  (migration tests).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from finews_crawler.store import Repository
from finews_crawler.store.engine import normalize_url
from support.truth import truth_rows  # test modules import it from here too, with truth_row

PG_SERVER_URL = os.environ.get(
    "FINEWS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SEED_CODE = "NW202203302328599218"


def truth_row(url_or_name: str) -> dict[str, Any]:
    for row in truth_rows():
        if url_or_name in (row["url"], row["name"]):
            return row
    raise KeyError(url_or_name)


def _admin_engine(server_url: str):
    return create_engine(normalize_url(server_url), isolation_level="AUTOCOMMIT")


def pg_unavailable_reason(server_url: str = PG_SERVER_URL) -> str | None:
    """Why PostgreSQL tests cannot run, or None when the server answers."""
    try:
        engine = create_engine(normalize_url(server_url), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"PostgreSQL not available at {make_url(server_url).render_as_string()}: {first_line}"
        )
    return None


@contextmanager
def fresh_pg_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block; its URL."""
    name = f"finews_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(server_url)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_database(url: str) -> None:
    """Delete every row (the schema stays); ids restart."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
            if tables:
                names = ", ".join(f'"{table}"' for table in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return PG_SERVER_URL


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[str]:
    with fresh_pg_database(pg_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite in tmp_path, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    url = request.getfixturevalue("pg_database")
    empty_database(url)
    return url


@pytest.fixture
def repository(database_url: str) -> Iterator[Repository]:
    repo = Repository(database_url)
    yield repo
    repo.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, without any schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    with fresh_pg_database(request.getfixturevalue("pg_server")) as url:
        yield url
