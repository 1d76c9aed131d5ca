"""`finews db`: manage the database: its schema, backups and housekeeping.

- `finews db upgrade [--revision REV]` applies the packaged Alembic migrations (head by
  default); `finews db current` prints the revision the database is at and the newest one this
  package knows.
- `finews db backup PATH` (SQLite): a consistent copy taken with SQLite's online backup API,
  while crawls go on writing (`store.backup`); PATH must not exist. PostgreSQL: prints the
  `pg_dump` command to run instead and exits 2.
- `finews db restore PATH` (SQLite): replaces the database by the backup PATH, after checking
  it. It refuses (exit 75) while a `finews crawl` holds the crawl lock, and holds that lock
  itself meanwhile so no cron run starts half-way; it refuses (exit 2) to replace an existing
  database without --force. PostgreSQL: prints the `pg_restore` command and exits 2.
- `finews db prune --older-than DURATION [--dry-run]`: empties the stats of old crawl runs and
  deletes resolved quarantine entries (`store.prune` says which); prints how many.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from finews_crawler import defaults
from finews_crawler.commands.crawl import EX_TEMPFAIL, LockHeld, exclusive_lock
from finews_crawler.durations import duration_arg

#: Exit status of a request this database cannot do (PostgreSQL backups, an existing target).
EX_REFUSED = 2
ACTIONS = ("upgrade", "current", "backup", "restore", "prune")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=ACTIONS,
        default="upgrade",
        help="upgrade: apply migrations (default); current: show the schema revision;"
        " backup PATH; restore PATH; prune --older-than DURATION",
    )
    parser.add_argument("path", nargs="?", help="backup and restore: the backup file")
    parser.add_argument("--revision", default="head", help="target revision (default: head)")
    parser.add_argument(
        "--older-than",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="prune: what is older than this (90m, 6h, 30d)",
    )
    parser.add_argument("--dry-run", action="store_true", help="prune: count, change nothing")
    parser.add_argument(
        "--force", action="store_true", help="restore: replace an existing database"
    )
    parser.add_argument(
        "--lock-file",
        default=defaults.CRAWL_LOCK_FILE,
        help="restore: the crawl lock to hold meanwhile (as finews crawl --lock-file)",
    )


def _fail(message: str, status: int = EX_REFUSED) -> int:
    print(f"finews db: {message}", file=sys.stderr)
    return status


def _is_postgresql(database_url: str) -> bool:
    from finews_crawler.store.engine import normalize_url

    return normalize_url(database_url).get_backend_name() == "postgresql"


def run(args: argparse.Namespace) -> int:
    if args.action in ("backup", "restore"):
        if not args.path:
            return _fail(f"{args.action} needs a PATH (the backup file)")
        return backup(args) if args.action == "backup" else restore(args)
    if args.action == "prune":
        if args.older_than is None:
            return _fail("prune needs --older-than DURATION (e.g. 30d)")
        return prune(args)
    return schema(args)


def schema(args: argparse.Namespace) -> int:
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


def backup(args: argparse.Namespace) -> int:
    from finews_crawler.store.backup import BackupError, backup_sqlite, pg_dump_command
    from finews_crawler.store.engine import sqlite_file

    if _is_postgresql(args.database_url):
        return _fail(
            "backups of PostgreSQL are made with its own tool; run:\n"
            f"  {pg_dump_command(args.database_url, args.path)}"
        )
    source = sqlite_file(args.database_url)
    if source is None:
        return _fail("this SQLite URL names no file (in memory, or a file: URI) to back up")
    try:
        size = backup_sqlite(source, Path(args.path))
    except BackupError as exc:
        return _fail(f"backup failed: {exc}", 1)
    print(f"{source}: backed up to {args.path} ({size} bytes; integrity check ok)")
    return 0


def restore(args: argparse.Namespace) -> int:
    from finews_crawler.store.backup import (
        BackupError,
        pg_restore_command,
        restore_sqlite,
    )
    from finews_crawler.store.engine import sqlite_file

    if _is_postgresql(args.database_url):
        return _fail(
            "PostgreSQL is restored with its own tool; run:\n"
            f"  {pg_restore_command(args.database_url, args.path)}"
        )
    target = sqlite_file(args.database_url)
    if target is None:
        return _fail("this SQLite URL names no file (in memory, or a file: URI) to restore into")
    if target.is_file() and target.stat().st_size and not args.force:
        return _fail(f"{target} exists; give --force to replace it by {args.path}")
    try:
        with exclusive_lock(Path(args.lock_file)):
            restore_sqlite(Path(args.path), target)
    except LockHeld as held:
        return _fail(
            f"a crawl holds {args.lock_file} ({held}); restore when it is done", EX_TEMPFAIL
        )
    except BackupError as exc:
        return _fail(f"restore failed: {exc}", 1)
    print(f"{target}: restored from {args.path}")
    return 0


def prune(args: argparse.Namespace) -> int:
    from finews_crawler.durations import format_age
    from finews_crawler.store import Repository
    from finews_crawler.store.prune import prune as prune_store

    with Repository(args.database_url) as repository:
        counts = prune_store(repository, args.older_than, datetime.now(UTC), dry_run=args.dry_run)
    verb = "would prune" if args.dry_run else "pruned"
    print(
        f"{verb} (older than {format_age(args.older_than)}): stats of {counts['run_stats']}"
        f" crawl runs, {counts['quarantine']} resolved quarantine entries"
    )
    return 0
