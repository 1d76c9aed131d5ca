"""Stock mentions get a standard symbol and a kind, queryable by symbol (issue 12).

`stock_mentions` gains `symbol` (Wind/Tushare style, null when the market is unknown) and `kind`
(stock, fund, bond, index, board, unknown), both indexed, and is unique per article and symbol
(rows without a symbol stay unique per article, market and code). Existing rows, and the `stocks`
of every article, are converted with the table below: a frozen copy of
`parsing.securities.MARKETS` as of this revision, so that later changes to the table do not
rewrite what this migration did. Old versions in `revisions` are history and stay as they were.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Rows read and written per statement.
_CHUNK = 500
_US = r"[A-Z][A-Z0-9_]*"
#: East Money market number -> (code pattern, symbol suffix or None for the code itself, kind).
_MARKETS: dict[str, tuple[tuple[str, str | None, str], ...]] = {
    "0": (
        (r"00\d{4}|30\d{4}|20\d{4}", "SZ", "stock"),
        (r"399\d{3}", "SZ", "index"),
        (r"15\d{4}|16\d{4}|18\d{4}", "SZ", "fund"),
        (r"10\d{4}|11\d{4}|12\d{4}", "SZ", "bond"),
        (r"43\d{4}|83\d{4}|87\d{4}|88[0-8]\d{3}|92\d{4}", "BJ", "stock"),
        (r"899\d{3}", "BJ", "index"),
    ),
    "1": (
        (r"60\d{4}|68\d{4}|900\d{3}", "SH", "stock"),
        (r"000\d{3}", "SH", "index"),
        (r"5\d{5}", "SH", "fund"),
        (r"00[1-9]\d{3}|0[1-9]\d{4}|1\d{5}", "SH", "bond"),
    ),
    "2": ((r"[0-9A-Z]{6}", "CSI", "index"),),
    "90": ((r"BK\d{4}", None, "board"),),
    "116": ((r"\d{5}", "HK", "stock"),),
    "105": ((_US, "O", "stock"),),
    "106": ((_US, "N", "stock"),),
    "107": ((_US, "A", "stock"),),
}

_mentions = sa.table(
    "stock_mentions",
    sa.column("id", sa.Integer),
    sa.column("market", sa.String),
    sa.column("code", sa.String),
    sa.column("symbol", sa.String),
    sa.column("kind", sa.String),
)
_articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("stocks", sa.JSON))


def _classify(market: str, code: str) -> tuple[str | None, str]:
    for pattern, suffix, kind in _MARKETS.get(market, ()):
        if re.fullmatch(pattern, code):
            return (f"{code}.{suffix}" if suffix else code), kind
    return None, "unknown"


def _rewrite(
    table: sa.TableClause, convert: Callable[[Mapping[str, Any]], dict[str, Any] | None]
) -> None:
    """Update each row of `table` (by id, a chunk at a time) with the columns `convert` returns
    for it (None: leave the row alone)."""
    bind = op.get_bind()
    ids = list(bind.scalars(sa.select(table.c.id).order_by(table.c.id)))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        values = []
        for row in bind.execute(sa.select(table).where(table.c.id.in_(chunk))).mappings():
            changes = convert(row)
            if changes:
                values.append({"row_id": row["id"], **{f"new_{k}": v for k, v in changes.items()}})
        if values:
            # Bound parameters may not share a column's name in an UPDATE: hence `new_`.
            names = [key.removeprefix("new_") for key in values[0] if key != "row_id"]
            statement = (
                table.update()
                .where(table.c.id == sa.bindparam("row_id"))
                .values(
                    {name: sa.bindparam(f"new_{name}", type_=table.c[name].type) for name in names}
                )
            )
            bind.execute(statement, values)


def _mention_symbol(row: Mapping[str, Any]) -> dict[str, Any]:
    symbol, kind = _classify(row["market"], row["code"])
    return {"symbol": symbol, "kind": kind}


def _stocks_with_symbols(row: Mapping[str, Any]) -> dict[str, Any] | None:
    stocks = []
    for stock in row["stocks"] or []:
        market, code = str(stock.get("market") or ""), str(stock.get("code") or "")
        symbol, kind = _classify(market, code)
        stocks.append(
            {
                "symbol": symbol,
                "kind": kind,
                "market": market,
                "code": code,
                "name": stock.get("name") or "",
            }
        )
    return {"stocks": stocks} if stocks else None


def _stocks_without_symbols(row: Mapping[str, Any]) -> dict[str, Any] | None:
    stocks = [
        {
            "market": stock.get("market") or "",
            "code": stock.get("code") or "",
            "name": stock.get("name") or "",
        }
        for stock in row["stocks"] or []
    ]
    return {"stocks": stocks} if stocks else None


def upgrade() -> None:
    with op.batch_alter_table("stock_mentions") as batch:
        batch.add_column(sa.Column("symbol", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
    _rewrite(_mentions, _mention_symbol)
    _rewrite(_articles, _stocks_with_symbols)
    with op.batch_alter_table("stock_mentions") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=16), nullable=False)
        batch.create_unique_constraint(
            op.f("uq_stock_mentions_article_id_symbol"), ["article_id", "symbol"]
        )
        batch.create_index(op.f("ix_stock_mentions_symbol"), ["symbol"], unique=False)
        batch.create_index(op.f("ix_stock_mentions_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_mentions") as batch:
        batch.drop_index(op.f("ix_stock_mentions_kind"))
        batch.drop_index(op.f("ix_stock_mentions_symbol"))
        batch.drop_constraint(op.f("uq_stock_mentions_article_id_symbol"), type_="unique")
        batch.drop_column("kind")
        batch.drop_column("symbol")
    _rewrite(_articles, _stocks_without_symbols)
