"""`finews stocks`: the most mentioned securities, with the number of articles naming each.

    finews stocks [--top N] [--since DATE] [--kind securities|stock|fund|bond|index|board|
                  unknown|all] [--json]

One line per symbol (Wind/Tushare style, `parsing.securities`), most articles first. By default
only securities (stocks, funds, bonds): indices and sector boards are listed when asked for by
`--kind`, as are mentions whose market is unknown (no symbol; listed by East Money's market and
code). `--since` counts articles published on or after DATE (no offset: the site's +08:00).
`--json` prints one object per line: symbol, kind, market, code, name, articles,
last_published_at.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from finews_crawler.commands.export import date_arg
from finews_crawler.parsing.securities import KINDS, SECURITY_KINDS

SECURITIES = "securities"
ALL = "all"
DEFAULT_TOP = 20
COLUMNS = ("articles", "symbol", "kind", "east money", "last published", "name")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"how many (default {DEFAULT_TOP}; 0: all)",
    )
    parser.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after")
    parser.add_argument(
        "--kind",
        choices=(SECURITIES, *KINDS, ALL),
        default=SECURITIES,
        help="securities (default: stocks, funds, bonds), one kind, or all",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def _kinds(choice: str) -> tuple[str, ...] | None:
    if choice == ALL:
        return None
    return SECURITY_KINDS if choice == SECURITIES else (choice,)


def _row(entry: dict[str, Any]) -> list[str]:
    east_money = f"{entry['market']}.{entry['code']}" if entry["market"] else entry["code"]
    last = (entry["last_published_at"] or "-")[:16].replace("T", " ")
    return [
        str(entry["articles"]),
        entry["symbol"] or "-",
        entry["kind"],
        east_money,
        last,
        entry["name"],
    ]


def format_table(entries: list[dict[str, Any]]) -> str:
    """Aligned columns; the name comes last, so that wide characters do not skew the others."""
    rows = [list(COLUMNS), *(_row(entry) for entry in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in rows:
        cells = [row[0].rjust(widths[0])]
        cells += [cell.ljust(width) for cell, width in zip(row[1:-1], widths[1:], strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from finews_crawler.store import Repository

    with Repository(args.database_url) as repository:
        entries = repository.stock_counts(since=args.since, kinds=_kinds(args.kind))
    if args.top > 0:
        entries = entries[: args.top]
    if args.json:
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False))
        return 0
    if not entries:
        print("No stored mentions match.")
        return 0
    print(format_table(entries))
    return 0
