"""The worker protocol on the real Redis (`finews_crawler.distributed.workers`): join, push, pop,
heartbeat, leave. Skips, saying so, when Redis is absent (support.redis_runs)."""

# ruff: noqa: F811 - pytest fixtures imported from support.redis_runs are redefined as arguments
from __future__ import annotations

import time

import pytest
from support.redis_runs import (  # noqa: F401 - fixtures
    DONE_TTL,
    assert_only_done_marker,
    redis_client,
    run_id,
    run_redis_keys,
)

from finews_crawler.distributed.keys import run_keys
from finews_crawler.distributed.workers import BUSY, HOLDING, IDLE, WorkerRegistry, new_worker_id


def registry(redis_client, run: str, worker: str, **kwargs) -> WorkerRegistry:
    options = {"key_ttl": 600, "worker_timeout": 60.0, "done_ttl": DONE_TTL, **kwargs}
    return WorkerRegistry(redis_client, run_keys(run), worker, **options)


def test_pop_marks_busy_and_the_run_closes_only_when_all_are_idle(redis_client, run_id):
    a, b = registry(redis_client, run_id, "a"), registry(redis_client, run_id, "b")
    assert a.join() and b.join()
    assert b.beat(IDLE).others == {"a": BUSY}
    a.beat(IDLE)
    a.push(b"listing", -10)
    a.push(b"article", 0)
    assert redis_client.ttl(run_keys(run_id).requests) > 0

    assert b.pop() == b"listing"  # highest priority first; b is busy from the same step
    snapshot = a.beat(IDLE)
    assert (snapshot.queued, snapshot.others) == (1, {"b": BUSY})
    assert not snapshot.run_idle
    assert a.pop() == b"article"
    assert a.pop() is None
    snapshot = b.beat(IDLE)
    assert (snapshot.queued, snapshot.others) == (0, {"a": BUSY})
    assert not snapshot.run_idle
    snapshot = a.beat(IDLE)
    assert snapshot.run_idle

    # A holder keeps the others open, but does not stop another holder from releasing.
    snapshot = a.beat(HOLDING)
    assert b.beat(HOLDING).others == {"a": HOLDING}
    b_view = b.beat(IDLE)
    assert b_view.others_active and not b_view.others_busy
    assert not a.beat(HOLDING).others_busy

    first = a.leave()
    assert (first.last_out, first.removed) == (False, False)
    last = b.leave()
    assert (last.last_out, last.removed, last.queued) == (True, True, 0)
    assert_only_done_marker(redis_client, run_id)
    # A worker that comes late finds the run done and writes nothing.
    assert not registry(redis_client, run_id, "late").join()
    assert_only_done_marker(redis_client, run_id)


def test_a_dead_worker_is_dropped_after_the_timeout(redis_client, run_id):
    a = registry(redis_client, run_id, "a", worker_timeout=0.3)
    b = registry(redis_client, run_id, "b", worker_timeout=0.3)
    a.join()
    b.join()
    assert b.beat(IDLE).others == {"a": BUSY}
    time.sleep(0.5)  # a stops beating, as if killed
    snapshot = b.beat(IDLE)
    assert snapshot.stale == ("a",)
    assert snapshot.others == {}
    assert snapshot.run_idle


def test_the_last_worker_out_of_an_unfinished_run_keeps_it_for_a_resume(redis_client, run_id):
    a = registry(redis_client, run_id, "a", done_ttl=0)
    a.join()
    a.push(b"left over", 0)
    departure = a.leave()
    assert (departure.last_out, departure.removed, departure.queued) == (True, False, 1)
    keys = run_redis_keys(redis_client, run_id)
    assert set(keys) == {f"finews:{run_id}:requests"}
    assert 0 < keys[f"finews:{run_id}:requests"] <= 600
    resumed = registry(redis_client, run_id, "b")
    assert resumed.join()
    assert resumed.pop() == b"left over"


def test_unknown_states_are_refused(redis_client, run_id):
    a = registry(redis_client, run_id, "a")
    a.join()
    with pytest.raises(ValueError, match="unknown worker state 'sleeping'"):
        a.beat("sleeping")
    assert redis_client.hget(run_keys(run_id).workers, "a").startswith(b"busy ")


def test_worker_ids_name_host_and_process_and_are_unique():
    ids = {new_worker_id() for _ in range(20)}
    assert len(ids) == 20
    host, pid, _ = next(iter(ids)).split(":")
    assert host and int(pid) > 0
