"""`finews quarantine`: pages and items that failed validation or storage, newest first."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--limit", type=int, default=50, help="how many entries (default 50)")
    parser.add_argument("--run", type=int, default=None, help="only entries of this crawl run")
    parser.add_argument("--json", action="store_true", help="one JSON object per entry")
    parser.add_argument(
        "--excerpt", type=int, default=120, help="characters of excerpt to show (default 120)"
    )


def _one_line(text: str, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def run(args: argparse.Namespace) -> int:
    from finews_crawler.store import Repository

    with Repository(args.database_url) as repository:
        entries = repository.list_quarantine(args.limit, run_id=args.run)
    if args.json:
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False, sort_keys=True))
        return 0
    if not entries:
        print("Nothing in quarantine.")
        return 0
    for entry in entries:
        when = (entry["created_at"] or "")[:19].replace("T", " ")
        print(f"#{entry['id']}  {when}  run {entry['run_id'] or '-'}  {entry['url']}")
        print(f"    reason: {_one_line(entry['reason'], 200)}")
        if args.excerpt and entry["excerpt"]:
            print(f"    excerpt: {_one_line(entry['excerpt'], args.excerpt)}")
    return 0
