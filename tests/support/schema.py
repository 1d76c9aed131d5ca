"""How the migrated schema of a database differs from the ORM models (empty: they agree)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from finews_crawler.store.models import Base
from finews_crawler.store.search import include_name


def schema_differences(connection: Connection) -> list[Any]:
    """Alembic's autogenerate diff, leaving out the search index (the migration's own tables)."""
    context = MigrationContext.configure(connection, opts={"include_name": include_name})
    return compare_metadata(context, Base.metadata)
