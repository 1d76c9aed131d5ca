"""Alembic environment: runs the migrations on the connection `migrate.upgrade` hands over.

There is no alembic.ini: `finews_crawler.store.migrate.alembic_config` builds the configuration in
code, so migrations run the same from a checkout and from an installed package. Used directly
(`alembic -x` style tooling), the URL comes from the `sqlalchemy.url` main option.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from finews_crawler.store.engine import create_db_engine
from finews_crawler.store.models import Base
from finews_crawler.store.search import include_name

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_db_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _configure(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
