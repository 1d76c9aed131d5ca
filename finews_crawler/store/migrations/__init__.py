"""Alembic migration environment of the article store (applied by `finews_crawler.store.migrate`)."""
