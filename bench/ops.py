"""Benchmark the operator's commands on a big store: `finews status`, `db backup`, `db prune`.

    python bench/ops.py [--articles 100000] [--runs 5000]

Takes the synthetic corpus of bench/corpus.py (built once, cached under bench/out/), copies it,
adds a year of cron runs (`--runs`, each with stats JSON the size of a crawl's) and 20,000
quarantine entries (half of them of pages stored since), then times, wall and CPU: the status
check (every query `finews status` makes; target < 1 s, so a monitor may call it every minute),
an online backup with its integrity check, and a prune of what is older than 30 days (and the
store's size after VACUUM).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from corpus import OUT, build_corpus  # noqa: E402
from sqlalchemy import select  # noqa: E402

from finews_crawler import defaults  # noqa: E402
from finews_crawler.store import Repository  # noqa: E402
from finews_crawler.store import status as queries  # noqa: E402
from finews_crawler.store.backup import backup_sqlite  # noqa: E402
from finews_crawler.store.models import ArticlePage, CrawlRun, QuarantineEntry  # noqa: E402
from finews_crawler.store.prune import prune  # noqa: E402

STATUS_TARGET_S = 1.0
YEAR = timedelta(days=365)
MIB = 2**20
QUARANTINE_ENTRIES = 20_000
SEED = 13


def crawl_stats(rng: random.Random) -> dict:
    """Stats the size of a real crawl's: counters, per-layout and per-status keys, coverage."""
    stats = {
        f"downloader/response_status_count/{code}": rng.randint(0, 5000) for code in range(200, 260)
    }
    stats.update({f"finews/layout/reader{n}": rng.randint(0, 3000) for n in range(20)})
    stats["field_coverage"] = {f"field{n}": rng.random() for n in range(25)}
    stats["finews/pages"] = rng.randint(100, 5000)
    return stats


def timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args(argv)
    rng = random.Random(SEED)

    store = OUT / f"ops{args.articles}.sqlite3"
    for stale in OUT.glob(f"{store.name}*"):
        stale.unlink()
    shutil.copyfile(build_corpus(args.articles).removeprefix("sqlite:///"), store)
    url = f"sqlite:///{store}"
    now = datetime.now(UTC)
    with Repository(url) as repository, repository.engine.begin() as connection:
        for number in range(args.runs):
            started = now - YEAR * (args.runs - number) / args.runs  # a year of runs
            connection.execute(
                CrawlRun.__table__.insert().values(
                    spider="finews",
                    started_at=started,
                    finished_at=started + timedelta(minutes=2),
                    outcome="finished",
                    verdict="healthy",
                    stats=crawl_stats(rng),
                    health_reasons=[],
                )
            )
        paths = list(connection.scalars(select(ArticlePage.path).limit(QUARANTINE_ENTRIES)))
        connection.execute(
            QuarantineEntry.__table__.insert(),
            [
                {
                    # Half of them pages stored since (resolved), half never stored.
                    "url": paths[n % len(paths)] if n % 2 else f"/never/{n}.html",
                    "reason": "fetch failed: http 503",
                    "excerpt": "",
                    "created_at": now - timedelta(hours=n % 2000),
                }
                for n in range(QUARANTINE_ENTRIES)
            ],
        )
    size = store.stat().st_size
    print(f"store: {args.articles:,} articles, {args.runs:,} runs, {size / MIB:.0f} MiB")

    with Repository(url, migrate=False) as repository:

        def status():
            queries.database_size(repository)
            queries.last_successful_runs(repository, now)
            queries.articles_growth(repository, now, defaults.STATUS_BASELINE_DAYS)
            queries.quarantine_growth(repository, now, defaults.STATUS_BASELINE_DAYS)

        status()  # the page cache warm, as for a monitor calling every few minutes
        _, wall, cpu = timed(status)
        verdict = "PASS" if wall < STATUS_TARGET_S else "FAIL"
        print(
            f"{verdict}  status: {wall:.3f} s wall, {cpu:.3f} s CPU (target < {STATUS_TARGET_S} s)"
        )

        backup = OUT / f"ops{args.articles}-backup.sqlite3"
        backup.unlink(missing_ok=True)
        _, wall, cpu = timed(lambda: backup_sqlite(store, backup))
        rate = size / MIB / wall
        print(
            f"      backup + integrity check: {wall:.2f} s wall, {cpu:.2f} s CPU, {rate:.0f} MiB/s"
        )
        backup.unlink()

        counts, wall, cpu = timed(lambda: prune(repository, timedelta(days=30), now))
        print(f"      prune --older-than 30d: {counts}, {wall:.2f} s wall, {cpu:.2f} s CPU")
    connection = sqlite3.connect(store)
    connection.execute("VACUUM")
    connection.close()
    after = store.stat().st_size
    print(f"      after prune and VACUUM: {after / MIB:.0f} MiB (was {size / MIB:.0f})")
    for stale in OUT.glob(f"{store.name}*"):
        stale.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
