"""`localsite.faults`: a `FaultPlan`'s faults as the server carries them out (issue 5).

Each kind of fault on the wire, a plan deterministic for its seed, faults that end after each
path's failure budget, and the plan's validation (`parse_kinds` included).
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from support.site_requests import SEED_ARTICLE, SPACE_CATEGORY, get

from localsite.faults import ALL_FAULTS, FaultKind, FaultPlan, parse_kinds
from localsite.server import MirrorServer

pytestmark = pytest.mark.timeout(60)


def _one_fault(serve_site, kind: FaultKind) -> MirrorServer:
    plan = FaultPlan(ratio=1.0, seed=1, kinds=(kind,), slow_seconds=0.4)
    return serve_site(faults=plan)


@pytest.mark.parametrize("kind", [FaultKind.HTTP_500, FaultKind.HTTP_502, FaultKind.HTTP_503])
def test_server_errors(serve_site, kind: FaultKind) -> None:
    server = _one_fault(serve_site, kind)
    assert get(server, SEED_ARTICLE)[0] == int(kind.value)
    assert get(server, SEED_ARTICLE)[0] == 200  # the next attempt gets the page


def test_429_with_retry_after(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.HTTP_429)
    status, headers, _ = get(server, SEED_ARTICLE)
    assert (status, headers["Retry-After"]) == (429, "1")
    assert get(server, SEED_ARTICLE)[0] == 200


def test_connection_reset(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.RESET)
    with pytest.raises(ConnectionResetError):
        get(server, SEED_ARTICLE)
    assert get(server, SEED_ARTICLE)[0] == 200
    assert server.requests.records()[0].fault == "reset"


def test_body_cut_short(serve_site, site_dir: Path) -> None:
    server = _one_fault(serve_site, FaultKind.TRUNCATE)
    with pytest.raises(http.client.IncompleteRead) as caught:
        get(server, SEED_ARTICLE)
    assert 0 < len(caught.value.partial) < (site_dir / SEED_ARTICLE.lstrip("/")).stat().st_size
    assert get(server, SEED_ARTICLE)[0] == 200


def test_slow_answer(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.SLOW)
    with pytest.raises(TimeoutError):
        get(server, SEED_ARTICLE, timeout=0.1)
    started = time.monotonic()
    assert get(server, "/index.html")[0] == 200  # another path: slow too, but it answers
    assert time.monotonic() - started >= 0.35


def test_redirect_loop_and_offsite_redirect(serve_site) -> None:
    server = _one_fault(serve_site, FaultKind.REDIRECT_LOOP)
    status, headers, _ = get(server, SPACE_CATEGORY)
    assert (status, headers["Location"]) == (
        302,
        f"http://{server.host}:{server.port}{SPACE_CATEGORY}",
    )
    assert get(server, SPACE_CATEGORY)[0] == 200

    server = _one_fault(serve_site, FaultKind.REDIRECT_OFFSITE)
    status, headers, _ = get(server, SEED_ARTICLE)
    assert (status, headers["Location"]) == (302, "http://example.invalid" + SEED_ARTICLE)


def test_a_long_redirect_loop(serve_site) -> None:
    plan = FaultPlan(ratio=1.0, kinds=("redirect_loop",), max_failures_per_path=25)
    server = serve_site(faults=plan)
    statuses = [get(server, SEED_ARTICLE)[0] for _ in range(26)]
    assert statuses == [302] * 25 + [200]


def _site_paths(site_dir: Path) -> list[str]:
    return sorted("/" + str(p.relative_to(site_dir)) for p in site_dir.rglob("*") if p.is_file())


def test_fault_plan_is_deterministic_for_a_seed(site_dir: Path) -> None:
    paths = _site_paths(site_dir)
    chosen = {p for p in paths if FaultPlan(ratio=0.2, seed=1).is_faulty(p)}
    assert chosen == {p for p in paths if FaultPlan(ratio=0.2, seed=1).is_faulty(p)}
    assert chosen != {p for p in paths if FaultPlan(ratio=0.2, seed=2).is_faulty(p)}
    assert 0.08 * len(paths) < len(chosen) < 0.35 * len(paths)
    plan = FaultPlan(ratio=0.2, seed=1, max_failures_per_path=2)
    kinds = [plan.fault_for(p, attempt) for p in sorted(chosen) for attempt in (1, 2)]
    assert all(kinds) and len(set(kinds)) > 3
    assert all(plan.fault_for(p, 3) is None for p in paths)
    assert FaultPlan(ratio=0.0).fault_for(paths[0], 1) is None
    assert (
        FaultPlan(ratio=1.0, exempt=frozenset({"/robots.txt"})).fault_for("/robots.txt", 1) is None
    )


def test_faults_end_after_the_failure_budget(serve_site, site_dir: Path) -> None:
    """A client that retries gets every page: what two crawl runs need."""
    kinds = tuple(k for k in ALL_FAULTS if k is not FaultKind.SLOW)
    plan = FaultPlan(ratio=0.5, seed=7, kinds=kinds, max_failures_per_path=2)
    server = serve_site(faults=plan)
    paths = [p for p in _site_paths(site_dir) if p.endswith(".html")][:40]
    failures = 0
    for path in paths:
        expected = (site_dir / unquote(path).lstrip("/")).read_bytes()
        for _attempt in range(3):
            try:
                status, _, body = get(server, path.replace(" ", "%20"))
            except (ConnectionError, http.client.HTTPException):
                failures += 1
                continue
            if status == 200 and body == expected:
                break
            failures += 1
        else:
            pytest.fail(f"{path} never came after 3 attempts")
    faulty = [p for p in paths if plan.is_faulty(p)]
    assert failures == 2 * len(faulty) > 0
    assert len(server.requests.faults()) == failures


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError):
        FaultPlan(ratio=1.5)
    with pytest.raises(ValueError):
        FaultPlan(kinds=("teapot",))
    with pytest.raises(ValueError):
        FaultPlan(slow_seconds=3600)
    assert parse_kinds("all") == ALL_FAULTS
    assert parse_kinds("500, reset") == (FaultKind.HTTP_500, FaultKind.RESET)
