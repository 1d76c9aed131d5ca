"""`finews search QUERY`: the articles whose title, digest or body text contain QUERY.

    finews search 降准 [--category SLUG] [--since DATE] [--limit N] [--json]

Exact substring matches (A-Z in either case), titles first, then the newest; each with a snippet
around the match. On a terminal the match is highlighted; in a pipe it is put between `[` and
`]`; `--json` prints one object per line (`info_code`, `title`, `published_at`, `url`,
`categories`, `media`, `snippet`, `snippet_field`, `highlights`: [start, end) in the snippet).
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.text import Text

from finews_crawler.commands.export import date_arg
from finews_crawler.store.search import DEFAULT_LIMIT, SearchHit

HIGHLIGHT = "bold black on yellow"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="a word, term or stock code (any length, 降 to 新能源汽车)")
    parser.add_argument("--category", metavar="SLUG", help="only this category's articles")
    parser.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after")
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"at most N hits (default {DEFAULT_LIMIT})"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per hit")


def _line(hit: SearchHit, styled: bool) -> Text:
    when = (hit.published_at or "undated")[:16].replace("T", " ")
    head = Text(f"{when}  {hit.info_code or hit.url}  ")
    head.append(hit.title or "(no title)", style="bold" if styled else "")
    if styled:
        snippet = Text(hit.snippet.text)
        for start, end in hit.snippet.spans:
            snippet.stylize(HIGHLIGHT, start, end)
    else:
        snippet = Text(hit.snippet.marked())
    return head + Text("\n    ") + snippet


def run(args: argparse.Namespace) -> int:
    from finews_crawler.store import Repository
    from finews_crawler.store.search import search

    if args.limit < 1:
        print("finews search: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        with Repository(args.database_url) as repository:
            hits = search(
                repository, args.query, category=args.category, since=args.since, limit=args.limit
            )
    except ValueError as exc:
        print(f"finews search: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for hit in hits:
            print(json.dumps(hit.record(), ensure_ascii=False))
        return 0
    console = Console(highlight=False, soft_wrap=True)
    for hit in hits:
        console.print(_line(hit, console.is_terminal))
    shown = f"{len(hits)} article" + ("" if len(hits) == 1 else "s")
    print(shown + (" (--limit reached)" if len(hits) == args.limit else ""), file=sys.stderr)
    return 0
