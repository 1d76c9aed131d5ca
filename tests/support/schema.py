"""How the migrated schema of a database differs from the ORM models (empty: they agree), and
a downgrade to an older revision (for the tests of what a migration converts)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from finews_crawler.store.engine import WRITE_OPTION, create_db_engine
from finews_crawler.store.migrate import alembic_config
from finews_crawler.store.models import Base
from finews_crawler.store.search import include_name


def schema_differences(connection: Connection) -> list[Any]:
    """Alembic's autogenerate diff, leaving out the search index (the migration's own tables)."""
    context = MigrationContext.configure(connection, opts={"include_name": include_name})
    return compare_metadata(context, Base.metadata)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision`."""
    engine = create_db_engine(url)
    config = alembic_config(engine)
    try:
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                config.attributes["connection"] = connection
                command.downgrade(config, revision)
    finally:
        engine.dispose()
