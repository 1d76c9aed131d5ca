"""Alembic migration environment of the article store (applied by `store.migrate`)."""
