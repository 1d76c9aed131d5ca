"""Layouts and run health: which layout read each page and article, readings held for review,
and each run's health verdict.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("layout", sa.String(length=64), nullable=True))
    op.add_column("article_pages", sa.Column("layout", sa.String(length=64), nullable=True))
    op.add_column("crawl_runs", sa.Column("verdict", sa.String(length=32), nullable=True))
    op.add_column("crawl_runs", sa.Column("health_reasons", sa.JSON(), nullable=True))

    op.create_table(
        "pending_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("page_path", sa.String(length=1024), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("layout", sa.String(length=64), nullable=True),
        sa.Column("proposed", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_pending_revisions_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_pending_revisions_run_id_crawl_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_revisions")),
    )
    op.create_index(
        op.f("ix_pending_revisions_article_id"), "pending_revisions", ["article_id"], unique=False
    )
    op.create_index(
        op.f("ix_pending_revisions_status"), "pending_revisions", ["status"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_revisions_status"), table_name="pending_revisions")
    op.drop_index(op.f("ix_pending_revisions_article_id"), table_name="pending_revisions")
    op.drop_table("pending_revisions")
    # Plain DROP COLUMN (SQLite >= 3.35 has it): rebuilding `articles` in batch mode would drop
    # a table that other tables' foreign keys point to, which SQLite refuses.
    op.drop_column("crawl_runs", "health_reasons")
    op.drop_column("crawl_runs", "verdict")
    op.drop_column("article_pages", "layout")
    op.drop_column("articles", "layout")
