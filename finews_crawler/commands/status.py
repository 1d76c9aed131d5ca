"""`finews status`: a dead-man's switch. Is the crawler alive, and is anything piling up?

    finews status [--max-age DURATION] [--spool-max-age DURATION] [--spider NAME] [--json]

Shows the newest successful run of each spider (verdict `healthy`; `finished` for runs recorded
before runs were judged) and its age, articles first stored in the last day against the average
of the days before, quarantine entries likewise, the database's size (SQLite: file and WAL;
PostgreSQL: pg_database_size) and the spool's backlog (FINEWS_SPOOL_DIR).

Exit status (`EXIT_*`), for cron, systemd `OnFailure=` and Nagios-style checks:
  0  all is well;
  1  the newest successful run (of the --spider ones, else of any spider) is older than
     --max-age, or there is none (only checked when --max-age is given);
  4  the spool is not draining: a file has waited longer than --spool-max-age (default 1h:
     every crawl replays the spool when it starts, so a file that old means replay fails);
  5  both (1 + 4);
  3  the database could not be read (it does not exist, or is not reachable).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from finews_crawler import defaults
from finews_crawler.durations import duration_arg, format_age

EXIT_OK = 0
EXIT_STALE = 1
EXIT_DATABASE = 3
EXIT_SPOOL = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-age",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="exit 1 when the newest successful run is older than this (90m, 6h, 2d)",
    )
    parser.add_argument(
        "--spool-max-age",
        type=duration_arg,
        default=timedelta(seconds=defaults.STATUS_SPOOL_MAX_AGE),
        metavar="DURATION",
        help="exit 4 when a spool file has waited longer than this (default 1h)",
    )
    parser.add_argument(
        "--spider",
        action="append",
        default=[],
        metavar="NAME",
        help="judge --max-age on these spiders' runs only (default: any spider)",
    )
    parser.add_argument(
        "--spool-dir", default=None, help="default: $FINEWS_SPOOL_DIR, then data/spool"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object")


def _database_missing(database_url: str) -> str | None:
    """Why the database cannot be looked at without creating it, or None."""
    from finews_crawler.store.engine import normalize_url, sqlite_file

    url = normalize_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    path = sqlite_file(url)
    if path is None:
        return "an in-memory SQLite database holds no runs"
    return None if path.is_file() else f"no SQLite database at {path}"


def collect(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    """Everything the status shows, with the problems found and the exit status."""
    from finews_crawler import settings
    from finews_crawler.store import Repository
    from finews_crawler.store import status as queries
    from finews_crawler.store.engine import mask_url

    spool = queries.spool_backlog(args.spool_dir or settings.FINEWS_SPOOL_DIR, now)
    report: dict[str, Any] = {
        "checked_at": now.isoformat(timespec="seconds"),
        "database": {"url": mask_url(args.database_url)},
        "spool": spool,
        "problems": [],
    }
    status = EXIT_OK
    oldest = spool["oldest_age_seconds"]
    max_spool = args.spool_max_age.total_seconds()
    spool["draining"] = oldest is None or oldest <= max_spool
    if not spool["draining"]:
        status |= EXIT_SPOOL
        report["problems"].append(
            f"the spool is not draining: {spool['files']} files wait in {spool['directory']},"
            f" the oldest for {format_age(timedelta(seconds=oldest))}"
            f" (more than {format_age(args.spool_max_age)})"
        )

    def unreadable(why: str) -> dict[str, Any]:
        report["problems"].append(f"the database could not be read: {why}")
        report["exit_status"] = EXIT_DATABASE
        return report

    missing = _database_missing(args.database_url)
    if missing:
        return unreadable(missing)
    try:
        # migrate=False: a check never changes the schema of the database it looks at.
        with Repository(args.database_url, migrate=False) as repository:
            report["database"].update(queries.database_size(repository))
            spiders = queries.last_successful_runs(repository, now)
            days = defaults.STATUS_BASELINE_DAYS
            report["articles"] = queries.articles_growth(repository, now, days)
            report["quarantine"] = queries.quarantine_growth(repository, now, days)
    except Exception as exc:  # any driver's error: the monitor needs the status, not a trace
        return unreadable((str(exc).strip().splitlines() or [type(exc).__name__])[0])
    report["spiders"] = spiders

    judged = [s for s in spiders if not args.spider or s["spider"] in args.spider]
    ages = [s["age_seconds"] for s in judged if s["age_seconds"] is not None]
    newest = min(ages) if ages else None
    report["newest_success_age_seconds"] = newest
    if args.max_age is not None:
        report["max_age_seconds"] = args.max_age.total_seconds()
        which = f" of {', '.join(args.spider)}" if args.spider else ""
        if newest is None:
            status |= EXIT_STALE
            report["problems"].append(f"no successful run{which} recorded")
        elif newest > args.max_age.total_seconds():
            status |= EXIT_STALE
            report["problems"].append(
                f"the newest successful run{which} finished"
                f" {format_age(timedelta(seconds=newest))} ago"
                f" (more than --max-age {format_age(args.max_age)})"
            )
    report["exit_status"] = status
    return report


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value, unit = count / 1024, "KiB"
    for bigger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def _growth_line(what: str, growth: dict[str, Any]) -> str:
    line = f"{what}: {growth['last_day']} in the last day"
    if growth["per_day_before"] is None:
        return line + " (no earlier day to compare)"
    days = growth["days_before"]
    return line + f", {growth['per_day_before']:g} a day in the {days} day(s) before"


def format_report(report: dict[str, Any]) -> str:
    lines = []
    database = report["database"]
    size = f"  {_size(database['bytes'])}" if "bytes" in database else ""
    if database.get("wal_bytes"):
        size += f" (WAL {_size(database['wal_bytes'])})"
    lines.append(f"database: {database['url']}{size}")
    if "spiders" in report:
        lines.append("last successful run per spider:")
        for spider in report["spiders"] or []:
            if spider["run_id"] is None:
                lines.append(f"  {spider['spider']}: none in {spider['runs']} runs")
                continue
            age = format_age(timedelta(seconds=spider["age_seconds"]))
            when = spider["finished_at"][:19].replace("T", " ")
            lines.append(f"  {spider['spider']}: run {spider['run_id']}, {when} UTC, {age} ago")
        if not report["spiders"]:
            lines.append("  (no crawl runs recorded)")
        lines.append(_growth_line("articles stored", report["articles"]))
        lines.append(_growth_line("quarantined", report["quarantine"]))
    spool = report["spool"]
    waiting = f"{spool['files']} files, {spool['records']} records, {_size(spool['bytes'])}"
    if spool["oldest_age_seconds"] is not None:
        waiting += f", oldest {format_age(timedelta(seconds=spool['oldest_age_seconds']))}"
    lines.append(f"spool: {waiting} waiting in {spool['directory']}")
    if report["problems"]:
        lines += [f"PROBLEM: {problem}" for problem in report["problems"]]
    else:
        lines.append("OK")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = collect(args, datetime.now(UTC))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, sort_keys=True))
    else:
        stream = sys.stdout if report["exit_status"] == EXIT_OK else sys.stderr
        print(format_report(report), file=stream)
    return report["exit_status"]
