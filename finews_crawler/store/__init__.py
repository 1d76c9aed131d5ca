"""The article store: SQLAlchemy models, Alembic migrations and the `Repository`.

Use `Repository(database_url)`; it migrates the database on first use. `mask_url` shows a
database URL without its password.
"""

from finews_crawler.store.engine import mask_url, normalize_url
from finews_crawler.store.merge import article_key, content_hash
from finews_crawler.store.repository import Repository

__all__ = ["Repository", "article_key", "content_hash", "mask_url", "normalize_url"]
