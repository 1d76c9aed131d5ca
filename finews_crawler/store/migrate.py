"""Apply the Alembic migration history, with the configuration built in code (no alembic.ini).

`ensure_schema(engine)` runs on first use of a database in a process (`Repository` calls it) and
is cheap when the schema is current; `upgrade(engine)` is what `finews db upgrade` runs. Both
hold a lock while migrating (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock), so two
processes starting at once do not race to create the tables.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from finews_crawler.store.engine import WRITE_OPTION, mask_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "finews_crawler.store.migrations"
#: pg_advisory_xact_lock key held while migrating ("finews" + 1).
PG_MIGRATION_LOCK = 0x66696E657701

VERSION_TABLE = "alembic_version"

_checked: set[str] = set()
_checked_lock = threading.Lock()


@cache
def migrations_dir() -> Path:
    """The packaged migrations as a folder Alembic can list.

    Installed as files, that is the package's own folder. From a zipped egg (scrapyd deploys
    those) the files are copied out once per process into a temporary folder.
    """
    package = resources.files(MIGRATIONS_PACKAGE)
    if isinstance(package, Path):
        return package
    target = Path(tempfile.mkdtemp(prefix="finews-migrations-"))
    _copy_tree(package, target)
    return target


def _copy_tree(source: Traversable, target: Path) -> None:
    for entry in source.iterdir():
        if entry.is_dir():
            if entry.name != "__pycache__":
                (target / entry.name).mkdir()
                _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not migrated yet)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision`; returns the revision it is at afterwards."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            _lock(connection)
            before = MigrationContext.configure(connection).get_current_revision()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            after = MigrationContext.configure(connection).get_current_revision()
    if before != after:
        logger.info("Migrated %s from %s to %s", mask_url(engine.url), before, after)
    return after


def ensure_schema(engine: Engine) -> None:
    """Bring the schema to head once per database and process."""
    key = engine.url.render_as_string(hide_password=False)
    with _checked_lock:
        if key in _checked:
            return
        head = head_revision()
        if current_revision(engine) != head:
            upgrade(engine)
        _checked.add(key)
