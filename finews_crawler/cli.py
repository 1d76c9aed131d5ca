"""The `finews` command: crawl, inspect runs, export and import, manage the database.

Each subcommand lives in its own module under `finews_crawler.commands`, exposing
`add_arguments(parser)` and `run(args) -> int` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from finews_crawler import defaults

#: subcommand -> (module under finews_crawler.commands, one-line help)
COMMANDS = {
    "crawl": ("crawl", "run a crawl under a lock, logging to a file"),
    "runs": ("runs", "list recent crawl runs and their counts"),
    "status": ("status", "is the crawler alive? non-zero when runs stopped or the spool is stuck"),
    "db": ("db", "manage the database: schema (alembic), backup, restore, prune"),
    "export": ("export", "export articles as JSONL, Parquet or Jekyll posts"),
    "stocks": ("stocks", "list the most mentioned securities with article counts"),
    "search": ("search", "find articles by a word, term or stock code (Chinese too)"),
    "report": ("report", "write an HTML report: articles per day, media, stocks, run health"),
    "browse": ("browse", "serve the SQLite database read-only in a browser (Datasette)"),
    "import-archive": ("import_archive", "import Jekyll posts (the site's archive)"),
    "quarantine": ("quarantine", "list pages and posts that failed validation"),
    "revisions": ("revisions", "list readings held for review; accept or reject one"),
}


def default_database_url() -> str:
    from finews_crawler import settings

    return os.environ.get("FINEWS_DATABASE_URL") or settings.FINEWS_DATABASE_URL


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for `argv`: every subcommand is listed, but only the one `argv` names is
    imported (and given its arguments): importing them all (Scrapy, SQLAlchemy, pyarrow,
    Datasette...) cost every command a second of start-up and 20 MiB."""
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    parser = argparse.ArgumentParser(prog="finews", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text)
        if name != chosen:
            continue
        sub.add_argument(
            "--database-url",
            default=None,
            help="SQLAlchemy URL (default: $FINEWS_DATABASE_URL, then the project settings'"
            f" FINEWS_DATABASE_URL, {defaults.DATABASE_URL} unless changed there)",
        )
        module = importlib.import_module(f"finews_crawler.commands.{module_name}")
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    args.database_url = args.database_url or default_database_url()
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
