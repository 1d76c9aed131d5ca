"""Whole shared runs (issue 6): several `scrapy crawl finews -a run_id=ID` worker processes on a
private mirror of the bundled site, through the real Redis into a throwaway PostgreSQL database.
Skips, saying so, when Redis (support.redis_runs) or PostgreSQL (support.db_fixtures) is absent."""

# ruff: noqa: F811 - pytest fixtures imported from support modules are redefined as arguments
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.db_fixtures import fresh_pg_database, pg_server  # noqa: F401 - fixtures
from support.redis_runs import (  # noqa: F401 - fixtures
    WORKER_TIMEOUT_S,
    Worker,
    assert_only_done_marker,
    expected_article_count,
    fetches,
    new_run_id,
    redis_client,
    run_id,
    stored,
    stored_paths,
    truth_pages,
)

from localsite.server import MirrorServer, serve

SITE = Path(__file__).resolve().parent / "fixtures" / "site"


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped after the test."""
    with fresh_pg_database(pg_server) as url:
        yield url


@pytest.fixture
def mirror() -> Iterator[MirrorServer]:
    """A mirror of this test's own: its request log counts only these workers' fetches."""
    with serve(SITE) as server:
        yield server


def test_two_workers_share_one_run(tmp_path, mirror, redis_client, run_id, pg_url):
    pages = truth_pages()
    workers = [Worker(tmp_path, f"worker{i}", mirror, pg_url, run_id) for i in (1, 2)]
    for worker in workers:
        assert worker.wait() == 0, worker.log_tail()

    # Every page fetched once across both workers (the share links too: none is shared by two
    # pages on this site); robots.txt is per process and left out.
    first = fetches(mirror)
    twice = {path: n for path, n in first.items() if n > 1}
    assert sum(n - 1 for n in twice.values()) <= 0.05 * len(first), twice
    assert pages <= set(first), sorted(pages - set(first))[:5]
    listings = {path for path in first if path not in pages and "NewsShare" not in path}
    assert {"/", "/feed.xml", "/emnews/"} <= listings
    assert any(path.startswith("/category/") for path in listings)

    # Both took part, each closed when the frontier was empty, within moments of each other.
    stats = [worker.stats() for worker in workers]
    for worker, stat in zip(workers, stats, strict=True):
        assert stat.get("finish_reason") == "finished", worker.log_tail()
        assert stat.get("scheduler/dequeued/redis", 0) > 0, worker.log_tail()
        assert stat.get("finews/redis/run_id") == run_id
        # The heartbeat found the engine's scheduling round to wake (docs/distributed.md).
        assert "finews/redis/wake_unavailable" not in stat, worker.log_tail()
    assert sum(s.get("finews/pages", 0) for s in stats) == len(pages)
    assert sum(s.get("finews/redis/last_out", 0) for s in stats) == 1
    assert abs(workers[0].finished - workers[1].finished) < 10

    # Each article stored once: one row per page, one per article (pages merged by infoCode).
    counts = stored(pg_url)
    assert counts["pages"] == counts["distinct_paths"] == len(pages) == 106
    assert counts["articles"] == expected_article_count()
    assert counts["articles"] == counts["info_codes"] + counts["without_code"]
    assert counts["without_code"] == 1

    # The run's keys are gone; only the short-lived `done` marker stays.
    assert_only_done_marker(redis_client, run_id)

    # A worker started late for the same run finds it done: it fetches nothing, stores nothing.
    mirror.requests.clear()
    late = Worker(tmp_path, "late", mirror, pg_url, run_id)
    assert late.wait() == 0, late.log_tail()
    assert late.stats().get("finish_reason") == "run_already_done"
    assert not fetches(mirror)
    assert stored(pg_url) == counts

    # A new run (no run id: a fresh one) reads the listing pages again and skips stored pages.
    mirror.requests.clear()
    rerun = Worker(tmp_path, "rerun", mirror, pg_url, None)
    assert rerun.wait() == 0, rerun.log_tail()
    second = fetches(mirror)
    assert listings <= set(second), sorted(listings - set(second))
    assert not (set(second) & pages), sorted(set(second) & pages)[:5]
    assert max(second.values()) == 1
    fresh_run = str(rerun.stats()["finews/redis/run_id"])
    assert fresh_run != run_id
    try:
        assert_only_done_marker(redis_client, fresh_run)
    finally:
        redis_client.delete(f"finews:{fresh_run}:done")
    assert stored(pg_url) == counts


def test_a_killed_worker_loses_nothing_the_next_run_does_not_pick_up(
    tmp_path, mirror, redis_client, run_id, pg_url
):
    pages = truth_pages()
    timeout = {"FINEWS_REDIS_WORKER_TIMEOUT": "3"}
    victim = Worker(tmp_path, "victim", mirror, pg_url, run_id, **timeout)
    survivor = Worker(tmp_path, "survivor", mirror, pg_url, run_id, **timeout)
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while time.monotonic() < deadline and not (
        "joined run" in victim.log_text() and sum(fetches(mirror).values()) >= 40
    ):
        time.sleep(0.05)
    victim.kill()  # SIGKILL: no heartbeat, no leave, its buffered items never written
    assert survivor.wait() == 0, survivor.log_tail()
    stat = survivor.stats()
    assert stat.get("finish_reason") == "finished"
    assert stat.get("finews/redis/stale_workers") == 1, survivor.log_tail()
    assert stat.get("finews/redis/last_out") == 1
    assert_only_done_marker(redis_client, run_id)
    first = fetches(mirror)
    assert sum(n - 1 for n in first.values()) <= 0.05 * len(first)

    # The next run fetches exactly the article pages not stored yet, and then all are stored.
    kept = stored_paths(pg_url)
    assert kept < pages
    mirror.requests.clear()
    nxt = Worker(tmp_path, "next", mirror, pg_url, new_run_id())
    assert nxt.wait() == 0, nxt.log_tail()
    assert set(fetches(mirror)) & pages == pages - kept
    counts = stored(pg_url)
    assert counts["pages"] == len(pages)
    assert counts["articles"] == expected_article_count()
    redis_client.delete(*redis_client.scan_iter(f"finews:{nxt.stats()['finews/redis/run_id']}:*"))
