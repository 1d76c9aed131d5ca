"""Initial schema: articles, their pages, categories, stock mentions, revisions, crawl runs,
quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_key", sa.String(length=512), nullable=False),
        sa.Column("info_code", sa.String(length=32), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("media", sa.Text(), nullable=True),
        sa.Column("digest", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("share_url", sa.Text(), nullable=True),
        sa.Column("upstream_url", sa.Text(), nullable=True),
        sa.Column("stocks", sa.JSON(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("crawled_at", sa.String(length=64), nullable=True),
        sa.Column("share_status", sa.String(length=64), nullable=True),
        sa.Column("share_title", sa.Text(), nullable=True),
        sa.Column("share_text", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("article_key", name=op.f("uq_articles_article_key")),
        sa.UniqueConstraint("info_code", name=op.f("uq_articles_info_code")),
    )
    op.create_index(op.f("ix_articles_changed_at"), "articles", ["changed_at"], unique=False)
    op.create_index(op.f("ix_articles_published_at"), "articles", ["published_at"], unique=False)

    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_categories_slug")),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spider", sa.String(length=255), nullable=False),
        sa.Column("run_key", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_runs")),
        sa.UniqueConstraint("run_key", name=op.f("uq_crawl_runs_run_key")),
    )
    op.create_index(op.f("ix_crawl_runs_started_at"), "crawl_runs", ["started_at"], unique=False)

    op.create_table(
        "article_categories",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_categories_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_article_categories_category_id_categories"),
        ),
        sa.PrimaryKeyConstraint("article_id", "category_id", name=op.f("pk_article_categories")),
    )
    op.create_index(
        op.f("ix_article_categories_category_id"),
        "article_categories",
        ["category_id"],
        unique=False,
    )

    op.create_table(
        "article_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("category", sa.String(length=512), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_pages_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_pages")),
        sa.UniqueConstraint("path", name=op.f("uq_article_pages_path")),
    )
    op.create_index(
        op.f("ix_article_pages_article_id"), "article_pages", ["article_id"], unique=False
    )
    op.create_index(op.f("ix_article_pages_category"), "article_pages", ["category"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_quarantine_run_id_crawl_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index("ix_quarantine_created_at", "quarantine", ["created_at"], unique=False)
    op.create_index(op.f("ix_quarantine_run_id"), "quarantine", ["run_id"], unique=False)

    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_revisions_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_revisions_run_id_crawl_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("article_id", "revision", name=op.f("uq_revisions_article_id")),
    )
    op.create_index(op.f("ix_revisions_article_id"), "revisions", ["article_id"], unique=False)

    op.create_table(
        "stock_mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("market", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_stock_mentions_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_mentions")),
        sa.UniqueConstraint(
            "article_id", "market", "code", name=op.f("uq_stock_mentions_article_id")
        ),
    )
    op.create_index(
        op.f("ix_stock_mentions_article_id"), "stock_mentions", ["article_id"], unique=False
    )
    op.create_index(op.f("ix_stock_mentions_code"), "stock_mentions", ["code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_stock_mentions_code"), table_name="stock_mentions")
    op.drop_index(op.f("ix_stock_mentions_article_id"), table_name="stock_mentions")

    op.drop_table("stock_mentions")
    op.drop_index(op.f("ix_revisions_article_id"), table_name="revisions")

    op.drop_table("revisions")
    op.drop_index(op.f("ix_quarantine_run_id"), table_name="quarantine")
    op.drop_index("ix_quarantine_created_at", table_name="quarantine")

    op.drop_table("quarantine")
    op.drop_index(op.f("ix_article_pages_category"), table_name="article_pages")
    op.drop_index(op.f("ix_article_pages_article_id"), table_name="article_pages")

    op.drop_table("article_pages")
    op.drop_index(op.f("ix_article_categories_category_id"), table_name="article_categories")

    op.drop_table("article_categories")
    op.drop_index(op.f("ix_crawl_runs_started_at"), table_name="crawl_runs")

    op.drop_table("crawl_runs")
    op.drop_table("categories")
    op.drop_index(op.f("ix_articles_published_at"), table_name="articles")
    op.drop_index(op.f("ix_articles_changed_at"), table_name="articles")

    op.drop_table("articles")
