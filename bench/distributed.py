"""Two workers share one crawl through Redis into PostgreSQL (issue 6's "done when").

    python bench/distributed.py [--articles 2000] [--workers 2]

Grows (or reuses) a mirror of N synthetic articles, serves it in this process (so every request
is counted per path), creates a throwaway PostgreSQL database, starts the workers as
`scrapy crawl finews -a run_id=ID` with FINEWS_REDIS_URL set, and prints: pages fetched, pages
fetched more than once, each worker's share, articles stored against the mirror's truth, the
run's Redis keys left, and the wall time. Needs Redis at 127.0.0.1:6379 and PostgreSQL at
127.0.0.1:5432 (user postgres, trust auth).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import redis
from run import ROOT, mirror_for

from finews_crawler import defaults
from finews_crawler.distributed import run_keys

# `python bench/distributed.py` puts bench/ first on sys.path, not the repository root where
# `localsite` (the local site, outside the installed package) lives.
sys.path.insert(0, str(ROOT))
from localsite.server import serve, setting_args

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def truth_of(root: Path) -> list[dict]:
    lines = root.with_name(root.name + ".truth.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    root = mirror_for(args.articles)
    truth = truth_of(root)
    pages = {row["url"] for row in truth}
    articles = {row["info_code"] or row["url"] for row in truth}
    database = f"finews_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    database_url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with serve(root) as mirror:
            env = {**os.environ, "FINEWS_REDIS_URL": REDIS_URL, "FINEWS_DATABASE_URL": database_url}
            command = [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "finews",
                "-a",
                f"run_id={run_id}",
                *setting_args({**mirror.crawl_settings(), "LOG_LEVEL": "WARNING"}),
            ]
            started = time.perf_counter()
            workers = [
                subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
                for _ in range(args.workers)
            ]
            codes = [worker.wait(timeout=1800) for worker in workers]
            wall = time.perf_counter() - started
            fetched = Counter(
                record.path
                for record in mirror.requests.records()
                if record.method == "GET" and record.path != "/robots.txt"
            )
        with psycopg.connect(database_url) as db:
            stored_articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            stored_pages = db.execute("SELECT count(*) FROM article_pages").fetchone()[0]
            runs = db.execute("SELECT pages, new, merged FROM crawl_runs").fetchall()
        keys = run_keys(run_id, os.environ.get("FINEWS_REDIS_KEY") or defaults.REDIS_KEY, "finews")
        left = sorted(key.decode() for key in redis.Redis.from_url(REDIS_URL).keys(keys.match))
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    twice = sum(count - 1 for count in fetched.values() if count > 1)
    missing_pages = len(pages - set(fetched))
    print(f"mirror: {args.articles} articles, {len(pages)} article pages; {args.workers} workers")
    print(f"exit codes: {codes}; wall {wall:.1f} s")
    print(
        f"pages fetched: {len(fetched)} distinct, {twice} extra fetches "
        f"({twice / max(1, len(fetched)):.2%}); article pages missed: {missing_pages}"
    )
    print(f"stored: {stored_articles} articles (expected {len(articles)}), {stored_pages} pages")
    print(f"crawl run rows: {runs}; Redis keys left: {left or 'none'}")
    ok = (
        codes == [0] * args.workers
        and twice <= 0.05 * len(fetched)
        and missing_pages == 0
        and stored_articles == len(articles)
        and stored_pages == len(pages)
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
