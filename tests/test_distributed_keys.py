"""Run ids and the Redis keys of a shared run (`finews_crawler.distributed.keys`); no server."""

from __future__ import annotations

import re

import pytest

from finews_crawler import defaults
from finews_crawler.distributed.keys import check_run_id, fresh_run_id, run_keys


def test_run_keys_come_from_one_pattern():
    keys = run_keys("2024-05-01")
    assert keys.requests == "finews:2024-05-01:requests"
    assert keys.dupefilter == "finews:2024-05-01:dupefilter"
    assert keys.workers == "finews:2024-05-01:workers"
    assert keys.done == "finews:2024-05-01:done"
    assert keys.all() == (keys.requests, keys.dupefilter, keys.workers, keys.done)
    assert keys.match == "finews:2024-05-01:*"
    assert defaults.REDIS_KEY == "finews:%(run_id)s:%(name)s"

    custom = run_keys("r1", "crawl:%(spider)s:%(run_id)s:%(name)s", spider="finews")
    assert custom.requests == "crawl:finews:r1:requests"
    assert custom.match == "crawl:finews:r1:*"


@pytest.mark.parametrize("pattern", ["finews:%(name)s", "finews:%(run_id)s", "finews"])
def test_key_pattern_must_name_the_run_and_the_key(pattern: str):
    with pytest.raises(ValueError, match="FINEWS_REDIS_KEY"):
        run_keys("r1", pattern)


@pytest.mark.parametrize("bad", ["", "a b", "50%", "x" * 129, "a/b", "run*"])
def test_run_ids_are_checked(bad: str):
    with pytest.raises(ValueError, match="run id"):
        check_run_id(bad)


def test_fresh_run_ids_are_unique_and_valid():
    ids = {fresh_run_id() for _ in range(50)}
    assert len(ids) == 50
    for run in ids:
        assert check_run_id(run) == run
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", run)
