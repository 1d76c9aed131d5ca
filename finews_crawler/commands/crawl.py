"""`finews crawl [SPIDER]`: one crawl for cron, under a lock, logged to a file, with a status.

- Lock: an exclusive `flock` on FILE (default `data/finews-crawl.lock`). A second run while one
  is going exits at once with status 75 (EX_TEMPFAIL) and says which process holds it. The kernel
  drops the lock when its holder dies, even by SIGKILL, so a killed run never blocks the next.
- Log: the crawl logs to `data/logs/<spider>-<UTC time>.log` (or --log-file).
- Exit status: 0 when the run finished and looks healthy; 1 when it failed, with the reason:
  the engine did not finish, no page was fetched, errors exceeded --max-error-ratio of the
  pages, or the listings or field coverage fell far below the previous runs'
  (`finews_crawler.health`).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from finews_crawler import defaults
from finews_crawler.health import health_problems, run_outcome
from finews_crawler.store.repository import Repository

EX_TEMPFAIL = 75


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
    parser.add_argument("--lock-file", default="data/finews-crawl.lock")
    parser.add_argument("--log-file", default=None, help="default: data/logs/<spider>-<time>.log")
    parser.add_argument(
        "--max-error-ratio",
        type=float,
        default=None,
        help="fail the run when errors exceed this share of pages"
        " (default: FINEWS_MAX_ERROR_RATIO, 0.2)",
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


def failure_reason(stats: dict, max_error_ratio: float, database_url: str) -> str | None:
    """Why the run counts as failed (as the store recorded it, then next to the previous
    runs of its spider), or None when it looks healthy."""
    if stats.get("finish_reason") == "run_already_done":
        return None  # a worker that came late to a shared run the others finished
    outcome, why = run_outcome(stats.get("finish_reason"), stats, max_error_ratio)
    if outcome != "finished":
        return why
    run_id = stats.get("finews/run_id")
    with Repository(database_url) as repository:
        current = repository.get_run(run_id) if run_id else None
        spider = current["spider"] if current else None
        previous = [
            run
            for run in repository.recent_runs(50)
            if run["spider"] == spider and run["id"] != run_id and run["outcome"] == "finished"
        ]
    recorded = (current or {}).get("stats") or stats
    problems = health_problems(recorded, previous)
    return "; ".join(problems) or None


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "finews_crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("FINEWS_DATABASE_URL", args.database_url, priority="cmdline")
    for name, value in _pairs(args.settings, "-s").items():
        settings.set(name, value, priority="cmdline")
    if args.max_error_ratio is not None:  # one threshold for the recorded run and the exit status
        settings.set("FINEWS_MAX_ERROR_RATIO", args.max_error_ratio, priority="cmdline")
    max_error_ratio = settings.getfloat("FINEWS_MAX_ERROR_RATIO", defaults.MAX_ERROR_RATIO)
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
    except LockHeld as held:
        print(
            f"finews crawl: another crawl holds {args.lock_file} ({held}); exiting", file=sys.stderr
        )
        return EX_TEMPFAIL
    reason = failure_reason(stats, max_error_ratio, args.database_url)
    summary = ", ".join(
        f"{key.removeprefix('finews/')}={stats[key]}"
        for key in (
            "finews/pages",
            "finews/new",
            "finews/updated",
            "finews/unchanged",
            "finews/duplicate",
            "finews/quarantined",
            "finews/errors",
        )
        if key in stats
    )
    if reason:
        print(f"finews crawl {args.spider}: FAILED: {reason} (log: {log_file})", file=sys.stderr)
        return 1
    print(f"finews crawl {args.spider}: ok ({summary or 'nothing new'}; log: {log_file})")
    return 0
