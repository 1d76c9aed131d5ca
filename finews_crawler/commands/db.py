"""`finews db`: manage the database schema with the packaged Alembic migrations.

`finews db upgrade [--revision REV]` applies migrations (head by default); `finews db current`
prints the revision the database is at and the newest one this package knows.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("upgrade", "current"),
        default="upgrade",
        help="upgrade: apply migrations (default); current: show the schema revision",
    )
    parser.add_argument("--revision", default="head", help="target revision (default: head)")


def run(args: argparse.Namespace) -> int:
    from finews_crawler.store.engine import create_db_engine, mask_url
    from finews_crawler.store.migrate import current_revision, head_revision, upgrade

    engine = create_db_engine(args.database_url)
    try:
        if args.action == "current":
            current = current_revision(engine)
            print(f"{mask_url(engine.url)}: at {current or '(empty)'}; head is {head_revision()}")
            return 0
        before = current_revision(engine)
        after = upgrade(engine, args.revision)
    finally:
        engine.dispose()
    if before == after:
        print(f"{mask_url(args.database_url)}: already at {after}")
    else:
        print(f"{mask_url(args.database_url)}: upgraded from {before or '(empty)'} to {after}")
    return 0
