"""`finews runs`: recent crawl runs with their outcome, health verdict and counts, newest first;
then why each run that is not healthy is not."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

COLUMNS = (
    ("id", "id"),
    ("spider", "spider"),
    ("started_at", "started (UTC)"),
    ("duration_seconds", "secs"),
    ("outcome", "outcome"),
    ("verdict", "verdict"),
    ("pages", "pages"),
    ("new", "new"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("merged", "merged"),
    ("duplicate", "dup"),
    ("quarantined", "quar"),
    ("errors", "errors"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--limit", type=int, default=20, help="how many runs (default 20)")
    parser.add_argument("--json", action="store_true", help="one JSON object per run, with stats")


def _cell(run: dict[str, Any], key: str) -> str:
    value = run.get(key)
    if value is None:
        return "-"
    if key == "started_at":
        return str(value)[:19].replace("T", " ")
    if key == "duration_seconds":
        return f"{value:.0f}"
    return str(value)


def format_table(
    records: list[dict[str, Any]],
    columns: Sequence[tuple[str, str]] = COLUMNS,
    cell: Callable[[dict[str, Any], str], str] = _cell,
) -> str:
    """Records as a table: one line each, a column per (key, title), aligned."""
    rows = [[title for _, title in columns]]
    rows += [[cell(record, key) for key, _ in columns] for record in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def run(args: argparse.Namespace) -> int:
    from finews_crawler.store import Repository

    with Repository(args.database_url) as repository:
        runs = repository.recent_runs(args.limit)
    if args.json:
        for item in runs:
            print(json.dumps(item, ensure_ascii=False, sort_keys=True))
        return 0
    if not runs:
        print("No crawl runs recorded yet.")
        return 0
    print(format_table(runs))
    for item in runs:
        if item["health_reasons"]:
            print(f"run {item['id']}: {item['verdict']}: {'; '.join(item['health_reasons'])}")
        elif item["outcome"] not in ("finished", "running"):
            # A run recorded without a verdict (an archive import, or before run health).
            why = (item.get("stats") or {}).get("outcome_reason")
            print(f"run {item['id']}: {item['outcome']}: {why}")
    return 0
