"""Network faults (issue 5): two `scrapy crawl finews` through a server failing 20% of requests.

The bundled site is served with a FaultPlan that fails a fifth of the paths once, in every way the
mirror knows (500/502/503, 429 + Retry-After, reset, short body, slow answer, redirect loop,
redirect to another host). The "other host" is a second server on 127.0.0.2, so a followed
off-site redirect would show up in its request log.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest
from support.cli_runner import finews_cli
from support.fault_runs import (
    export_records,
    setting_args,
)
from support.truth import assert_matches_truth

from localsite.faults import ALL_FAULTS, FaultPlan

#: A seed whose faulty paths, among those the crawl requests, cover every fault kind.
SEED = 9
RETRY_AFTER = 1


def _runs(database_url: str) -> list[dict]:
    result = finews_cli(["runs", "--json", "--database-url", database_url])
    assert result.returncode == 0, result.stderr
    return sorted((json.loads(line) for line in result.stdout.splitlines()), key=lambda r: r["id"])


def _quarantine(database_url: str) -> list[dict]:
    result = finews_cli(["quarantine", "--json", "-n", "1000", "--database-url", database_url])
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.slow
def test_two_runs_through_a_failing_server_store_exactly_the_truth(
    serve_site, run_scrapy, tmp_path: Path
) -> None:
    other_host = serve_site(host="127.0.0.2")
    plan = FaultPlan(
        ratio=0.2,
        seed=SEED,
        slow_seconds=4.0,  # longer than DOWNLOAD_TIMEOUT=3: the timeout must cut it
        retry_after=RETRY_AFTER,
        offsite_origin=other_host.url,
    )
    server = serve_site(faults=plan)
    env = {"FINEWS_BASE_URL": server.url, "FINEWS_SHARE_BASE_URL": server.url}

    starts = []
    for run in (1, 2):
        starts.append(time.time())
        log_file = tmp_path / f"run{run}.log"
        result = run_scrapy(
            ["crawl", "finews", *setting_args({"LOG_FILE": str(log_file)})], env=env
        )
        assert result.returncode == 0, log_file.read_text(encoding="utf-8")[-3000:]
    records = server.requests.records()
    run1 = [r for r in records if r.time < starts[1]]
    run2 = [r for r in records if r.time >= starts[1]]

    # Every kind of fault was served during the first run.
    served = {r.fault for r in run1 if r.fault}
    assert served >= {kind.value for kind in ALL_FAULTS}, served
    faulty_share = len({r.path for r in run1 if r.fault}) / len({r.path for r in run1})
    assert 0.1 <= faulty_share <= 0.3, faulty_share

    # Data: exactly the truth merged by infoCode, each article once.
    assert_matches_truth(export_records(run_scrapy.database_url))

    # Never off-site: the redirect to the other host was not followed (not even robots.txt).
    assert len(other_host.requests) == 0, other_host.requests.records()[:5]

    # Retry-After honoured: each 429's retry came at least the asked delay later.
    by_path: dict[str, list] = defaultdict(list)
    for record in records:
        by_path[record.path].append(record)
    waits = []
    for path, hits in by_path.items():
        for position, hit in enumerate(hits[:-1]):
            if hit.fault == "429":
                waits.append((path, hits[position + 1].time - hit.time))
    assert waits, "no 429 was retried"
    assert all(wait >= RETRY_AFTER - 0.05 for _, wait in waits), waits

    # A slow answer (4 s) was cut by DOWNLOAD_TIMEOUT (3 s) and retried: had the crawl waited
    # for it, the page would have been requested once.
    slow = {r.path for r in run1 if r.fault == "slow"}
    assert slow
    for path in slow:
        hits = by_path[path]
        assert len(hits) >= 2 and any(h.status == 200 and not h.fault for h in hits), hits

    # A redirect to the same URL is followed (not dropped as a duplicate): fetched in run 1.
    loops = {r.path for r in run1 if r.fault == "redirect_loop" and r.path != "/robots.txt"}
    assert loops
    for path in loops:
        assert any(r.path == path and r.status == 200 for r in run1), path

    # Pages still failed in run 1 (redirected off-site) were recorded with the run and a reason,
    # and fetched again by run 2.
    runs = _runs(run_scrapy.database_url)
    assert [r["outcome"] for r in runs] == ["finished", "finished"], runs
    first_run = runs[0]["id"]
    failed = {
        r.path
        for r in run1
        if r.fault == "redirect_offsite"
        and r.path != "/robots.txt"
        and not any(o.path == r.path and o.status == 200 for o in run1)
    }
    assert failed, "no page still failed at the end of run 1"
    entries = _quarantine(run_scrapy.database_url)
    recorded = {
        e["url"]
        for e in entries
        if e["run_id"] == first_run and e["reason"].startswith("fetch failed: ")
    }
    assert failed <= recorded, (failed, entries)
    for path in failed:
        assert any(r.path == path and r.status == 200 for r in run2), path
    # Run 2 asked only for what run 1 did not store: no stored article page again.
    stored_in_run1 = {r.path for r in run1 if r.status == 200 and r.path.endswith(".html")}
    articles_again = {
        r.path
        for r in run2
        if r.path in stored_in_run1 and not r.path.startswith("/category/") and r.path != "/"
    }
    assert not articles_again, articles_again
