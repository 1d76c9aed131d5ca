"""Which process runs each crawl: `crawl_runs.host` and `crawl_runs.pid`, so that the next run can
tell a run whose process is gone (killed) from one still going.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("crawl_runs", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("crawl_runs", sa.Column("pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35), as 0002: no batch rebuild of a referenced table.
    op.drop_column("crawl_runs", "pid")
    op.drop_column("crawl_runs", "host")
