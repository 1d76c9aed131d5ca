"""Run health in every crawl: the verdict, its reasons, where they are stored and who acts on them.

Pure rules (`finews_crawler.health.judge`), the `RunHealth` extension with the store pipeline
(the verdict reaches the run row even when that write is spooled), and real crawls: `scrapy
crawl` over a site the layout-independent reader reads (a stand-in from `tests/support`) logs
the verdict at ERROR and stores it, changes no stored record, and `finews crawl` exits 1 on it.
"""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import scrapy
from scrapy import signals
from scrapy.utils.test import get_crawler
from support.cli_runner import finews_cli
from support.db_fixtures import database_url, pg_database, pg_server, truth_rows  # noqa: F401

from finews_crawler import cli
from finews_crawler.extensions import RunHealth
from finews_crawler.health import judge, layout_problems
from finews_crawler.items import ArticleItem
from finews_crawler.store import Repository
from localsite.server import MirrorServer, setting_args
from pipelines.store import StorePipeline

GENERIC = "article pages were read by the layout-independent reader, not a known page layout"
FETCHED = {"downloader/response_count": 120, "finews/pages": 106, "finews/listing_pages": 14}


def finished(stats: dict[str, Any]) -> dict[str, Any]:
    return {"stats": {**FETCHED, "finews/articles_listed": 106, "finews/valid": 106, **stats}}


# --- the rules ---------------------------------------------------------------------------------


def test_layout_changes_are_always_reasons() -> None:
    stats = {"finews/layout/jekyll-minimal-2022": 63, "finews/layout/generic": 12}
    assert layout_problems(stats) == [
        f"12 of 75 {GENERIC}: the site's page layout changed; check the readers"
    ]
    held = layout_problems({**stats, "finews/held_for_review": 4})
    assert held[0].endswith("(4 readings of stored articles wait for review: finews revisions)")
    refused = layout_problems({"finews/layout/no-layout": 70, "finews/layout_refused": 5})
    assert refused == ["5 article pages matched no known page layout and were quarantined"]
    assert layout_problems({"finews/layout/jekyll-minimal-2022": 75}) == []


def test_verdicts() -> None:
    now = {**FETCHED, "finews/articles_listed": 106, "finews/valid": 106}
    assert judge("finished", now, []) == ("healthy", [])
    assert judge("finished", now, [finished({})] * 3) == ("healthy", [])
    verdict, reasons = judge("finished", {**now, "finews/layout/generic": 106}, [])
    assert verdict == "unhealthy" and GENERIC in reasons[0]
    assert judge("shutdown", now, []) == ("interrupted", ["shut down before the crawl finished"])
    assert judge("finished", {}, []) == ("failed", ["no page was fetched"])
    assert judge("finished", {**now, "finews/errors": 30}, [], max_error_ratio=0.5)[0] == "healthy"
    assert judge("run_already_done", {}, []) == ("skipped", [])


def test_pages_that_stop_giving_articles_are_unhealthy() -> None:
    # Every page is fetched, but (a redesign) hardly any of them gives an article.
    now = {**FETCHED, "finews/articles_listed": 106, "finews/valid": 3}
    verdict, reasons = judge("finished", now, [finished({})] * 3)
    assert verdict == "unhealthy"
    assert reasons == [
        "only 3 of 106 article pages gave a valid article (3%), against 100% in recent runs"
    ]
    assert judge("finished", now, [finished({})] * 3, min_coverage_ratio=0.01)[0] == "healthy"


def test_a_worker_of_a_shared_run_is_not_judged_on_the_listings_it_did_not_read() -> None:
    # It fetched the share of listings and pages the frontier gave it.
    worker = {
        "downloader/response_count": 55,
        "finews/listing_pages": 5,
        "finews/pages": 50,
        "finews/valid": 50,
        "finews/articles_listed": 30,
    }
    before = [finished({})] * 3
    assert judge("finished", worker, before)[0] == "unhealthy"
    assert judge("finished", {**worker, "finews/redis/run_id": "r1"}, before)[0] == "healthy"


# --- the extension and the run row ------------------------------------------------------------


class _Spider(scrapy.Spider):
    name = "finews"


def test_the_verdict_reaches_the_run_row_even_when_finishing_it_is_spooled(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "EXTENSIONS_BASE": {},
        "FINEWS_DATABASE_URL": database_url,
        "FINEWS_SPOOL_DIR": str(tmp_path / "spool"),
        "FINEWS_STORE_RETRY_DELAY": 0,
    }

    def run(items: list[ArticleItem], fail_finish: bool = False) -> tuple[Any, int | None]:
        crawler = get_crawler(_Spider, settings)
        crawler.spider = _Spider.from_crawler(crawler)
        # Extensions connect to signals before the pipelines (signals hold them weakly).
        health = RunHealth.from_crawler(crawler)
        store = StorePipeline.from_crawler(crawler)
        store.open_spider()
        for item in items:
            crawler.stats.inc_value(f"finews/layout/{item.layout}")
            store.process_item(item)
        for name, value in FETCHED.items():
            crawler.stats.set_value(name, value)
        if fail_finish:
            monkeypatch.setattr(store.repository, "finish_run", _refuse)
        store.close_spider()
        crawler.signals.send_catch_log(
            signals.spider_closed, spider=crawler.spider, reason="finished"
        )
        monkeypatch.undo()
        assert health.crawler is crawler
        return crawler.stats, store.run_id

    rows = truth_rows()
    stats, _ = run([ArticleItem(**row, layout="jekyll-minimal-2022") for row in rows])
    assert stats.get_value("finews/health/verdict") == "healthy"
    stats, run_id = run([ArticleItem(**row, layout="generic") for row in rows], fail_finish=True)
    assert stats.get_value("finews/health/verdict") == "unhealthy"
    assert stats.get_value("finews/held_same") == 106
    assert list((tmp_path / "spool").glob("*.jsonl")), "the finish record was spooled"
    with Repository(database_url) as repository:
        assert repository.get_run(run_id)["outcome"] == "running"
    run([])  # the next run replays the spool
    with Repository(database_url) as repository:
        unhealthy = repository.get_run(run_id)
    assert unhealthy["outcome"] == "finished" and unhealthy["verdict"] == "unhealthy"
    assert unhealthy["health_reasons"] == [
        f"106 of 106 {GENERIC}: the site's page layout changed; check the readers"
    ]


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("the database went away")


# --- real crawls ------------------------------------------------------------------------------

#: The bundled posts in the stock minima theme: the generic reader reads every field but tags.
REDESIGN = Path(__file__).parent / "fixtures" / "redesigns" / "minima"


def on(server: MirrorServer) -> dict[str, str]:
    """A crawl's environment pointing it at `server`."""
    return {"FINEWS_BASE_URL": server.url, "FINEWS_SHARE_BASE_URL": server.url}


def export(database: str, path: Path) -> bytes:
    assert cli.main(["export", "--output", str(path), "--database-url", database]) == 0
    return path.read_bytes()


def test_scrapy_crawl_of_a_redesigned_site_is_flagged_and_changes_no_record(
    run_scrapy, serve_site, database_url: str, tmp_path: Path
) -> None:
    run_scrapy.database_url = database_url  # SQLite and PostgreSQL
    redesign = serve_site(REDESIGN, share_mode="missing")

    def crawl(name: str, *args: str, env: dict[str, str] | None = None) -> str:
        log = tmp_path / f"{name}.log"
        command = ["crawl", "finews", *args, *setting_args({"LOG_FILE": str(log)})]
        result = run_scrapy(command, env=env)
        assert result.returncode == 0, result.stderr[-3000:]  # scrapy crawl exits 0 whatever
        return log.read_text(encoding="utf-8")

    crawl("first")
    crawl("second", "-a", "refresh=1")
    before = export(database_url, tmp_path / "before.jsonl")
    log = crawl("redesigned", "-a", "refresh=1", env=on(redesign))

    with Repository(database_url) as repository:
        runs = repository.recent_runs(3)
        pending = repository.pending_revisions(limit=1000)
    redesigned, second, first = runs
    assert first["verdict"] == second["verdict"] == "healthy"
    assert redesigned["outcome"] == "finished" and redesigned["verdict"] == "unhealthy"
    reason, tags = reasons = redesigned["health_reasons"]
    assert reason.startswith(f"106 of 106 {GENERIC}: the site's page layout changed")
    assert "106 readings of stored articles wait for review" in reason
    assert tags == "only 0% of items have tags, against 100% in recent runs"
    assert redesigned["stats"]["finews/health/reasons"] == reasons
    assert f"ERROR: Crawl run {redesigned['id']} is unhealthy: {reason}; {tags}" in log
    assert export(database_url, tmp_path / "after.jsonl") == before
    assert len(pending) == 106 and all(p["run_id"] == redesigned["id"] for p in pending)
    # The generic reader reads the redesign exactly, but minima shows no tags.
    assert {tuple(p["fields"]) for p in pending} == {("tags",)}


def test_finews_crawl_exits_on_the_verdict_the_crawl_recorded(
    tmp_path: Path, mirror: MirrorServer, serve_site
) -> None:
    database = f"sqlite:///{tmp_path / 'finews.sqlite3'}"

    def finews_crawl(server: MirrorServer, *args: str) -> Any:
        command = ["crawl", "finews", *args, "--database-url", database]
        command += ["--lock-file", str(tmp_path / "crawl.lock")]
        command += setting_args(server.crawl_settings())
        return finews_cli(command, cwd=tmp_path)

    healthy = finews_crawl(mirror)
    assert healthy.returncode == 0 and "ok (" in healthy.stdout, healthy.stderr[-3000:]
    flagged = finews_crawl(serve_site(REDESIGN, share_mode="missing"), "-a", "refresh=1")
    assert flagged.returncode == 1
    assert f"finews crawl finews: UNHEALTHY: 106 of 106 {GENERIC}" in flagged.stderr
    runs = finews_cli(["runs", "--database-url", database], cwd=tmp_path)
    lines = runs.stdout.splitlines()
    assert lines[0].split()[4:7] == ["secs", "outcome", "verdict"]
    assert lines[1].split()[5:7] == ["finished", "unhealthy"]
    assert lines[2].split()[5:7] == ["finished", "healthy"]
    assert any(line.startswith("run 2: unhealthy: 106 of 106") for line in lines)
