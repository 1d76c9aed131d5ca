"""`finews revisions`: readings held for review, and a person's decision on each.

A page stored from a reading by a known page layout, read again by the layout-independent reader
(`generic`) differently, is not changed: the new reading waits here (see
`finews_crawler.store.merge`).

    finews revisions [--all] [-n N] [--json]   list them (pending ones unless --all), newest first
    finews revisions --accept ID               apply the reading through the normal merge
    finews revisions --reject ID               keep the stored reading
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from finews_crawler.commands.runs import format_table

COLUMNS = (
    ("id", "id"),
    ("created_at", "created (UTC)"),
    ("status", "status"),
    ("article_key", "article"),
    ("page_path", "page"),
    ("fields", "differs in"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    decision = parser.add_mutually_exclusive_group()
    decision.add_argument("--accept", type=int, metavar="ID", help="apply this reading")
    decision.add_argument("--reject", type=int, metavar="ID", help="keep the stored reading")
    parser.add_argument("--all", action="store_true", help="accepted and rejected ones too")
    parser.add_argument("-n", "--limit", type=int, default=50, help="how many (default 50)")
    parser.add_argument("--json", action="store_true", help="JSON lines, with the readings")


def _cell(revision: dict[str, Any], key: str) -> str:
    value = revision.get(key)
    if key == "created_at":
        return str(value)[:19].replace("T", " ")
    if key == "fields":
        return ", ".join(value or [])
    return "-" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    from finews_crawler.store import Repository

    with Repository(args.database_url) as repository:
        try:
            if args.accept is not None:
                done = repository.accept_revision(args.accept)
                print(f"revision {args.accept} accepted: the reading was merged ({done})")
                return 0
            if args.reject is not None:
                repository.reject_revision(args.reject)
                print(f"revision {args.reject} rejected: the stored reading stays")
                return 0
        except LookupError as exc:
            print(f"finews revisions: {exc}", file=sys.stderr)
            return 1
        revisions = repository.pending_revisions(None if args.all else "pending", args.limit)
    if args.json:
        for revision in revisions:
            print(json.dumps(revision, ensure_ascii=False, sort_keys=True))
        return 0
    if not revisions:
        print("No readings wait for review." if not args.all else "No readings were held.")
        return 0
    print(format_table(revisions, COLUMNS, _cell))
    for revision in revisions:
        print(f"revision {revision['id']}: {revision['reason']}")
    return 0
