"""SQLite's search index re-reads an article only when its indexed text changed.

The update trigger of `0004` fired on every upsert that set title, digest or body text, which
the store does whenever an article is merged (another page, category or tag): FTS5 then deleted
and re-tokenized the whole text for nothing, about a sixth of the writer's time in an archive
import (bench/archive.py). It now fires only when one of the three differs. PostgreSQL: nothing
(its trigram indexes follow the table by themselves).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("title", "digest", "body_text")
_TEXT_CHANGED = " OR ".join(f"old.{column} IS NOT new.{column}" for column in _COLUMNS)


def _values(row: str) -> str:
    """The indexed values of `row` (`old` or `new`), padded as 0004's view pads them."""
    return f"{row}.title || char(1, 1), coalesce({row}.digest, '') || char(1, 1), " + (
        f"{row}.body_text || char(1, 1)"
    )


def _update_trigger(condition: str) -> str:
    return f"""CREATE TRIGGER article_search_update AFTER UPDATE OF title, digest, body_text
    ON articles {condition}BEGIN
        INSERT INTO article_search(article_search, rowid, title, digest, body_text)
        VALUES ('delete', old.id, {_values("old")});
        INSERT INTO article_search(rowid, title, digest, body_text)
        VALUES (new.id, {_values("new")});
    END"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS article_search_update")
        op.execute(_update_trigger(f"WHEN {_TEXT_CHANGED} "))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS article_search_update")
        op.execute(_update_trigger(""))
