"""Full-text search index over articles' title, digest and body text (`store/search.py`).

SQLite: an FTS5 table with the trigram tokenizer (`article_search`) whose content is the view
`article_search_source` (each column followed by two U+0001 characters, so every occurrence of a
one- or two-character term starts a trigram and can be found through the index vocabulary,
`article_search_vocab`), kept current by triggers on `articles`: every insert, upsert, merge,
revision and delete, whoever writes. PostgreSQL: pg_trgm GIN indexes on the three columns
(current by construction); without the extension search still works, by a table scan.
SQLite also gets the view `article_list` (one row per article, with its day) for `finews browse`.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger(__name__)

#: What each indexed column holds (`{row}` is `new.`/`old.` in triggers): the column, then the
#: padding that ends it.
_PADDED = {
    "title": "{row}title || char(1, 1)",
    "digest": "coalesce({row}digest, '') || char(1, 1)",
    "body_text": "{row}body_text || char(1, 1)",
}


def _values(row: str) -> str:
    """The indexed values of `row` (`new` or `old`), as the view computes them."""
    return ", ".join(expression.format(row=f"{row}.") for expression in _PADDED.values())


#: One row per article for `finews browse` (Datasette facets on day, media and the categories
#: list): the day and time the site shows (GMT+8), the categories as a JSON list.
ARTICLE_LIST = """CREATE VIEW article_list AS SELECT id,
    date(published_at, '+8 hours') AS day,
    strftime('%Y-%m-%d %H:%M:%S', published_at, '+8 hours') AS published_at,
    title, media, categories, info_code, url
    FROM articles"""

SQLITE_UPGRADE = (
    "CREATE VIEW article_search_source AS SELECT id, "
    + ", ".join(
        f"{expression.format(row='')} AS {column}" for column, expression in _PADDED.items()
    )
    + " FROM articles",
    "CREATE VIRTUAL TABLE article_search USING fts5(title, digest, body_text, "
    "content='article_search_source', content_rowid='id', tokenize='trigram case_sensitive 0')",
    "CREATE VIRTUAL TABLE article_search_vocab USING fts5vocab(article_search, row)",
    "INSERT INTO article_search(article_search) VALUES ('rebuild')",
    f"""CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search(rowid, title, digest, body_text)
        VALUES (new.id, {_values("new")});
    END""",
    f"""CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO article_search(article_search, rowid, title, digest, body_text)
        VALUES ('delete', old.id, {_values("old")});
    END""",
    f"""CREATE TRIGGER article_search_update AFTER UPDATE OF title, digest, body_text
    ON articles BEGIN
        INSERT INTO article_search(article_search, rowid, title, digest, body_text)
        VALUES ('delete', old.id, {_values("old")});
        INSERT INTO article_search(rowid, title, digest, body_text)
        VALUES (new.id, {_values("new")});
    END""",
    ARTICLE_LIST,
)

SQLITE_DOWNGRADE = (
    "DROP VIEW IF EXISTS article_list",
    "DROP TRIGGER IF EXISTS article_search_update",
    "DROP TRIGGER IF EXISTS article_search_delete",
    "DROP TRIGGER IF EXISTS article_search_insert",
    "DROP TABLE IF EXISTS article_search_vocab",
    "DROP TABLE IF EXISTS article_search",
    "DROP VIEW IF EXISTS article_search_source",
)

#: PostgreSQL: one trigram index per searched column.
PG_UPGRADE = (
    "CREATE INDEX IF NOT EXISTS ix_articles_title_trgm ON articles USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_articles_digest_trgm ON articles "
    "USING gin (digest gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_articles_body_text_trgm ON articles "
    "USING gin (body_text gin_trgm_ops)",
)
PG_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_articles_title_trgm",
    "DROP INDEX IF EXISTS ix_articles_digest_trgm",
    "DROP INDEX IF EXISTS ix_articles_body_text_trgm",
)


def _pg_trgm_available() -> bool:
    bind = op.get_bind()
    installed = bind.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    ).scalar()
    if installed:
        return True
    can_create = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm' "
            "AND (SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user)"
        )
    ).scalar()
    if not can_create:
        logger.warning(
            "pg_trgm is not installed and this role cannot create it: `finews search` scans "
            "the table (exact, slower). See the README (Search) for the indexes to create."
        )
        return False
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
        return
    if _pg_trgm_available():
        for statement in PG_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
        return
    for statement in PG_DOWNGRADE:
        op.execute(statement)
