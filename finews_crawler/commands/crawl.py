"""`finews crawl [SPIDER]`: one crawl for cron, under a lock, logged to a file, with a status.

- Lock: an exclusive `flock` on FILE (default `data/finews-crawl.lock`). A second run while one
  is going exits at once with status 75 (EX_TEMPFAIL) and says which process holds it. The kernel
  drops the lock when its holder dies, even by SIGKILL, so a killed run never blocks the next.
- Log: the crawl logs to `data/logs/<spider>-<UTC time>.log` (or --log-file). After each run the
  oldest crawl logs of that folder are deleted beyond FINEWS_LOG_KEEP files or FINEWS_LOG_MAX_BYTES
  bytes in all (`rotate_logs`; only files named like a crawl log, and not with --log-file).
- Exit status: 0 when the crawl's verdict is healthy; 1 otherwise, with the reasons, as the
  crawl's run health recorded them (`finews_crawler.extensions.RunHealth`): the engine did not
  finish, no page was fetched, errors exceeded --max-error-ratio of the pages, the site's page
  layout changed, or the listings, items or field coverage fell far below the previous runs'
  (`finews_crawler.health`).
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import re
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from finews_crawler import defaults
from finews_crawler.health import OK_VERDICTS

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75
#: The name of a log `finews crawl` writes: `<spider>-<UTC time>.log`.
LOG_NAME = re.compile(r"^.+-\d{8}T\d{6}Z\.log$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spider", nargs="?", default="finews", help="spider name (default: finews)")
    parser.add_argument(
        "-a",
        dest="spider_args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="spider argument, e.g. -a category=shanghaifabu or -a refresh=1",
    )
    parser.add_argument(
        "-s",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Scrapy setting, e.g. -s FINEWS_BASE_URL=http://127.0.0.1:8000",
    )
    parser.add_argument("--lock-file", default=defaults.CRAWL_LOCK_FILE)
    parser.add_argument("--log-file", default=None, help="default: data/logs/<spider>-<time>.log")
    parser.add_argument(
        "--max-error-ratio",
        type=float,
        default=None,
        help="fail the run when errors exceed this share of pages"
        f" (default: FINEWS_MAX_ERROR_RATIO, {defaults.MAX_ERROR_RATIO})",
    )


class LockHeld(Exception):
    pass


@contextmanager
def exclusive_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(path, "a+")  # noqa: SIM115 - held for the whole crawl
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise LockHeld(handle.read().strip() or "unknown holder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        yield
    finally:
        handle.close()


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep:
            raise SystemExit(f"finews crawl: {what} must be NAME=VALUE, got {value!r}")
        pairs[name] = setting
    return pairs


def rotate_logs(directory: Path, keep: int, max_bytes: int, current: Path) -> list[Path]:
    """Delete the oldest crawl logs in `directory` beyond `keep` files or `max_bytes` bytes in
    all (0: no such limit); `current` (the log being written) counts but is never deleted.
    Only files named like a crawl log (`LOG_NAME`) are touched. Returns the deleted files."""
    logs = []
    for path in directory.iterdir():
        if LOG_NAME.match(path.name) and path.is_file():
            stat = path.stat()
            logs.append((stat.st_mtime, path.name, path, stat.st_size))
    logs.sort(reverse=True)  # newest first
    deleted = []
    kept = total = 0
    full = False  # once a limit is reached, every older log goes (never a newer one first)
    for _, _, path, size in logs:
        full = full or bool(keep and kept >= keep) or bool(max_bytes and total + size > max_bytes)
        if full and path != current:
            path.unlink(missing_ok=True)
            deleted.append(path)
            continue
        kept += 1
        total += size
    if deleted:
        logger.info("Deleted %d old crawl logs from %s", len(deleted), directory)
    return deleted


def verdict_of(stats: dict) -> tuple[str, list[str]]:
    """The verdict and reasons the crawl's run health recorded in its stats."""
    verdict = stats.get("finews/health/verdict")
    if verdict is None:
        return "failed", ["the crawl recorded no health verdict (is the RunHealth extension on?)"]
    return verdict, list(stats.get("finews/health/reasons") or [])


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "finews_crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("FINEWS_DATABASE_URL", args.database_url, priority="cmdline")
    for name, value in _pairs(args.settings, "-s").items():
        settings.set(name, value, priority="cmdline")
    if args.max_error_ratio is not None:
        settings.set("FINEWS_MAX_ERROR_RATIO", args.max_error_ratio, priority="cmdline")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_file = Path(args.log_file or f"data/logs/{args.spider}-{stamp}.log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    settings.set("LOG_FILE", str(log_file), priority="cmdline")

    try:
        with exclusive_lock(Path(args.lock_file)):
            process = CrawlerProcess(settings)
            crawler = process.create_crawler(args.spider)
            process.crawl(crawler, **_pairs(args.spider_args, "-a"))
            process.start()
            stats = crawler.stats.get_stats()
            if not args.log_file:
                rotate_logs(
                    log_file.parent,
                    settings.getint("FINEWS_LOG_KEEP", defaults.LOG_KEEP),
                    settings.getint("FINEWS_LOG_MAX_BYTES", defaults.LOG_MAX_BYTES),
                    log_file,
                )
    except LockHeld as held:
        print(
            f"finews crawl: another crawl holds {args.lock_file} ({held}); exiting", file=sys.stderr
        )
        return EX_TEMPFAIL
    verdict, reasons = verdict_of(stats)
    summary = ", ".join(
        f"{key.removeprefix('finews/')}={stats[key]}"
        for key in (
            "finews/pages",
            "finews/new",
            "finews/updated",
            "finews/unchanged",
            "finews/duplicate",
            "finews/quarantined",
            "finews/held_for_review",
            "finews/errors",
        )
        if key in stats
    )
    if verdict not in OK_VERDICTS:
        why = "; ".join(reasons) or verdict
        print(
            f"finews crawl {args.spider}: {verdict.upper()}: {why} (log: {log_file})",
            file=sys.stderr,
        )
        return 1
    print(f"finews crawl {args.spider}: ok ({summary or 'nothing new'}; log: {log_file})")
    return 0
