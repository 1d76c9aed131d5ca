"""Dedupe and store pipelines: feed uniqueness, batches, runs, quarantine, spool and replay.

Unit tests drive the pipelines the way Scrapy's engine does (process_item, item_dropped,
spider_closed); the last tests run `scrapy crawl finews` against the bundled mirror site.
"""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from support.db_fixtures import (  # noqa: F401 - fixtures
    SEED_CODE,
    database_url,
    empty_database,
    pg_database,
    pg_server,
    truth_row,
    truth_rows,
)
from support.pipeline_runs import (
    items,
    make_crawler,
    open_pipelines,
    pretend_fetched,
    store_settings,
)
from support.truth import assert_matches_truth
from twisted.python.failure import Failure

from finews_crawler.health import run_outcome
from finews_crawler.items import ArticleItem
from finews_crawler.signals import page_quarantined
from finews_crawler.store import Repository
from finews_crawler.store.engine import normalize_url
from localsite.server import serve, setting_args
from pipelines.dedupe import DedupePipeline
from pipelines.errors import DuplicateItem, QuarantineItem
from pipelines.store import StorePipeline

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "tests" / "fixtures" / "site"


def feed(crawler: Crawler, dedupe: DedupePipeline, store: StorePipeline, batch: list) -> list:
    """Send items through dedupe then store as the engine does; returns what the feed gets."""
    out = []
    for item in batch:
        try:
            out.append(store.process_item(dedupe.process_item(item)))
        except DuplicateItem as exc:
            crawler.signals.send_catch_log(
                signal=signals.item_dropped,
                item=item,
                response=None,
                exception=exc,
                spider=crawler.spider,
            )
    return out


def close(crawler: Crawler, store: StorePipeline, reason: str = "finished") -> None:
    store.close_spider()
    crawler.signals.send_catch_log(
        signal=signals.spider_closed, spider=crawler.spider, reason=reason
    )


def transient_failure(*args: Any, **kwargs: Any) -> None:
    raise OperationalError(
        "INSERT INTO articles ...", {}, Exception("server closed the connection")
    )


# --- dedupe ----------------------------------------------------------------------------------


def test_dedupe_sends_each_article_to_the_feed_once() -> None:
    crawler = make_crawler({"FINEWS_FEED_UNIQUE": "true"})
    dedupe = DedupePipeline.from_crawler(crawler)
    dedupe.open_spider()
    emnews = truth_row(f"/emnews/2022/03/30/{SEED_CODE[2:]}.html")
    media = truth_row(f"/shanghaifabu/2022/03/30/{SEED_CODE}.html")
    assert dedupe.process_item(ArticleItem(**emnews)).url == emnews["url"]
    with pytest.raises(DuplicateItem) as dropped:
        dedupe.process_item(ArticleItem(**media))
    assert dropped.value.key == SEED_CODE and dropped.value.log_level == "DEBUG"
    assert crawler.stats.get_value("finews/duplicate") == 1
    init = ArticleItem(**truth_row("2021-12-01-init.md"))
    assert dedupe.process_item(init) is init
    with pytest.raises(DuplicateItem):
        dedupe.process_item(ArticleItem(**truth_row("2021-12-01-init.md")))


def test_dedupe_passes_everything_when_feed_need_not_be_unique() -> None:
    crawler = make_crawler({"FINEWS_FEED_UNIQUE": "false"})
    dedupe = DedupePipeline.from_crawler(crawler)
    dedupe.open_spider()
    passed = [dedupe.process_item(item) for item in items()]
    assert len(passed) == 106
    assert crawler.stats.get_value("finews/duplicate") == 30


# --- store -----------------------------------------------------------------------------------


def test_store_pipeline_records_a_run(database_url: str, tmp_path: Path) -> None:
    crawler = make_crawler(store_settings(database_url, tmp_path), run_id="cron-1")
    dedupe, store = open_pipelines(crawler)
    run_id = crawler.stats.get_value("finews/run_id")
    assert run_id == store.run_id
    out = feed(crawler, dedupe, store, items())
    pretend_fetched(crawler)
    close(crawler, store)

    assert len(out) == 76 and len({(i.info_code or i.url) for i in out}) == 76
    stats = crawler.stats
    assert stats.get_value("finews/store/batches") == 11  # 106 items, 10 per batch
    assert stats.get_value("finews/new") == 76 and stats.get_value("finews/merged") == 30

    with Repository(database_url) as repository:
        assert repository.article_count() == 76
        seed = repository.get_article(SEED_CODE)
        assert seed["categories"] == ["emnews", "shanghaifabu"]
        assert len(seed["tags"]) == 2 and len(seed["urls"]) == 2
        run = repository.get_run(run_id)
    assert run["run_key"] == "cron-1" and run["spider"] == "finews"
    assert run["outcome"] == "finished"
    assert (run["pages"], run["new"], run["updated"], run["unchanged"]) == (120, 76, 0, 0)
    assert (run["merged"], run["duplicate"], run["quarantined"], run["errors"]) == (30, 30, 0, 0)
    coverage = run["stats"]["field_coverage"]
    assert coverage["url"] == 1.0 and coverage["body_html"] == 0.0
    assert coverage["share_url"] == round(30 / 106, 4)
    assert run["stats"]["items"] == 106
    assert run["stats"]["finews/duplicate"] == 30


def test_second_run_changes_nothing(database_url: str, tmp_path: Path) -> None:
    for expected_new in (76, 0):
        crawler = make_crawler(store_settings(database_url, tmp_path))
        dedupe, store = open_pipelines(crawler)
        feed(crawler, dedupe, store, items())
        pretend_fetched(crawler)
        close(crawler, store)
        assert crawler.stats.get_value("finews/new", 0) == expected_new
    assert crawler.stats.get_value("finews/unchanged") == 106
    with Repository(database_url) as repository:
        runs = repository.recent_runs()
    assert [r["unchanged"] for r in runs] == [106, 0]


def test_run_outcome() -> None:
    fetched = {"downloader/response_count": 10, "finews/pages": 5, "finews/listing_pages": 5}
    assert run_outcome("finished", fetched, 0.2) == ("finished", "")
    assert run_outcome("shutdown", fetched, 0.2)[0] == "interrupted"
    assert run_outcome("closespider_errorcount", fetched, 0.2)[0] == "failed"
    assert run_outcome("finished", {}, 0.2) == ("failed", "no page was fetched")
    assert run_outcome("finished", {"downloader/response_count": 3}, 0.2)[0] == "failed"
    imported = {"finews/offline": True, "finews/pages": 106}
    assert run_outcome("finished", imported, 0.2) == ("finished", "")
    assert run_outcome("finished", {**fetched, "finews/errors": 2}, 0.2)[0] == "finished"
    assert run_outcome("finished", {**fetched, "finews/errors": 3}, 0.2)[0] == "failed"
    raised = {**fetched, "spider_exceptions/ValueError": 3}
    assert run_outcome("finished", raised, 0.2)[0] == "failed"
    # ERROR log lines alone (a share host that is gone) do not fail a run.
    assert run_outcome("finished", {**fetched, "log_count/ERROR": 30}, 0.2)[0] == "finished"


def test_run_without_pages_fails(database_url: str, tmp_path: Path) -> None:
    crawler = make_crawler(store_settings(database_url, tmp_path))
    _, store = open_pipelines(crawler)
    close(crawler, store)
    with Repository(database_url) as repository:
        run = repository.recent_runs(1)[0]
    assert run["outcome"] == "failed"
    assert run["stats"]["outcome_reason"] == "no page was fetched"


def test_quarantine_entry_points(database_url: str, tmp_path: Path) -> None:
    crawler = make_crawler(store_settings(database_url, tmp_path))
    _, store = open_pipelines(crawler)
    bad = ArticleItem(**{**truth_row("2021-12-01-init.md"), "published_at": None})
    crawler.signals.send_catch_log(
        signal=signals.item_dropped,
        item=bad,
        response=None,
        exception=QuarantineItem("no publication date", url=bad.url, excerpt="开站大吉"),
        spider=crawler.spider,
    )
    crawler.signals.send_catch_log(
        page_quarantined, url="/broken.html", reason="binary garbage", excerpt="\x00\x01"
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failure = Failure()
    crawler.signals.send_catch_log(
        signal=signals.item_error,
        item=ArticleItem(**truth_row("2021-12-01-init.md")),
        response=None,
        spider=crawler.spider,
        failure=failure,
    )
    close(crawler, store)
    with Repository(database_url) as repository:
        entries = {e["url"]: e for e in repository.list_quarantine()}
    assert set(entries) == {bad.url, "/broken.html"}  # item_error was for the same URL
    reasons = sorted(e["reason"] for e in repository.list_quarantine())
    assert reasons[0] == "binary garbage" and reasons[1] == "no publication date"
    assert reasons[2] == "pipeline error: RuntimeError: boom"
    assert all(e["run_id"] == store.run_id for e in entries.values())
    assert entries["/broken.html"]["excerpt"] == "\x01"  # NUL cannot be stored
    # QuarantineItem is counted by whoever raises it; the others by the store pipeline.
    assert crawler.stats.get_value("finews/quarantined") == 2


def test_bad_item_in_a_batch_is_quarantined_and_the_rest_stored(
    database_url: str, tmp_path: Path
) -> None:
    crawler = make_crawler(store_settings(database_url, tmp_path))
    dedupe, store = open_pipelines(crawler)
    batch = items()[:10]
    batch[3].published_at = "not a date"
    feed(crawler, dedupe, store, batch)
    close(crawler, store)
    with Repository(database_url) as repository:
        assert repository.article_count() == 9
        (entry,) = repository.list_quarantine()
    assert entry["url"] == batch[3].url
    assert entry["reason"].startswith("could not be stored: ValueError")
    assert crawler.stats.get_value("finews/errors") == 1
    assert not list((tmp_path / "spool").glob("*.jsonl"))


# --- storage faults: retry, spool, replay ----------------------------------------------------


def test_failed_writes_are_spooled_and_replayed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = store_settings(database_url, tmp_path, FINEWS_STORE_RETRIES=2)
    crawler = make_crawler(settings)
    dedupe, store = open_pipelines(crawler)
    monkeypatch.setattr(store.repository, "write_items", transient_failure)
    monkeypatch.setattr(store.repository, "quarantine", transient_failure)
    feed(crawler, dedupe, store, items()[:25])
    store.quarantine("/later.html", "recorded after the outage", "")
    close(crawler, store)
    assert crawler.stats.get_value("finews/spooled") == 25
    assert crawler.stats.get_value("finews/store/retries") == 3 * 2  # 3 batches, 2 retries each
    spooled = sorted((tmp_path / "spool").glob("*.jsonl"))
    assert len(spooled) == 4  # 10 + 10 + 5 items, 1 quarantine entry
    monkeypatch.undo()

    # The database is back: the next run replays the spool before anything else.
    crawler = make_crawler(settings)
    dedupe, store = open_pipelines(crawler)
    assert crawler.stats.get_value("finews/spool/replayed") == 25
    assert not list((tmp_path / "spool").iterdir())
    close(crawler, store)
    with Repository(database_url) as repository:
        stored = {r["url"] for r in repository.iter_article_pages()}
        assert stored == {row["url"] for row in truth_rows()[:25]}
        assert [e["url"] for e in repository.list_quarantine()] == ["/later.html"]
        # Replaying again (a crash before the file was removed) changes nothing.
        assert repository.write_items(truth_rows()[:25])["unchanged"] == 25


def test_database_down_at_open(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.batch_writer as batch_writer_module

    monkeypatch.setattr(batch_writer_module, "Repository", transient_failure)
    settings = store_settings(database_url, tmp_path, FINEWS_STORE_RETRIES=1)
    crawler = make_crawler(settings)
    dedupe, store = open_pipelines(crawler)
    assert store.repository is None and store.run_id is None
    feed(crawler, dedupe, store, items()[:15])
    close(crawler, store)
    assert crawler.stats.get_value("finews/spooled") == 15
    monkeypatch.undo()

    crawler = make_crawler(settings)
    _, store = open_pipelines(crawler)
    close(crawler, store)
    assert crawler.stats.get_value("finews/spool/replayed") == 15
    with Repository(database_url) as repository:
        assert len(repository.stored_page_paths()) == 15
        assert len(repository.recent_runs()) == 1


def test_sqlite_locked_by_another_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINEWS_SQLITE_BUSY_TIMEOUT_MS", "50")
    path = tmp_path / "locked.sqlite3"
    url = f"sqlite:///{path}"
    settings = store_settings(url, tmp_path, FINEWS_STORE_RETRIES=1)
    crawler = make_crawler(settings)
    dedupe, store = open_pipelines(crawler)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        feed(crawler, dedupe, store, items()[:10])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert crawler.stats.get_value("finews/spooled") == 10
    close(crawler, store)

    crawler = make_crawler(settings)
    _, store = open_pipelines(crawler)
    close(crawler, store)
    assert crawler.stats.get_value("finews/spool/replayed") == 10
    with Repository(url) as repository:
        assert len(repository.stored_page_paths()) == 10


def test_postgres_connections_killed_mid_run(pg_database: str, tmp_path: Path) -> None:
    empty_database(pg_database)
    crawler = make_crawler(store_settings(pg_database, tmp_path))
    dedupe, store = open_pipelines(crawler)
    batch = items()
    feed(crawler, dedupe, store, batch[:30])
    admin = create_engine(normalize_url(pg_database), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    admin.dispose()
    assert killed >= 1
    feed(crawler, dedupe, store, batch[30:])
    close(crawler, store)
    assert not crawler.stats.get_value("finews/spooled")
    with Repository(pg_database) as repository:
        assert repository.article_count() == 76
        assert len(repository.stored_page_paths()) == 106


# --- a real crawl of the bundled site --------------------------------------------------------


def crawl(url: str, base_url: str, tmp_path: Path, feed_file: Path | None = None) -> None:
    env = {**os.environ, "FINEWS_DATABASE_URL": url, "FINEWS_SPOOL_DIR": str(tmp_path / "spool")}
    settings = {"FINEWS_BASE_URL": base_url, "FINEWS_FOLLOW_SHARE": "false", "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "scrapy", "crawl", "finews", *setting_args(settings)]
    if feed_file is not None:
        command += ["-O", str(feed_file)]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_crawl_of_the_bundled_site_stores_truth(database_url: str, tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.jsonl"
    with serve(SITE) as server:
        crawl(database_url, server.url, tmp_path, feed_file)
        with Repository(database_url) as repository:
            first = list(repository.iter_articles())
        crawl(database_url, server.url, tmp_path)

    fed = [json.loads(line) for line in feed_file.read_text(encoding="utf-8").splitlines()]
    assert len(fed) == 76 == len({r["info_code"] or r["url"] for r in fed})

    with Repository(database_url) as repository:
        assert_matches_truth(list(repository.iter_articles()))
        runs = repository.recent_runs(2)

    # The second run requested no article page and changed no record.
    second, first_run = runs
    assert first_run["new"] == 76 and first_run["merged"] == 30
    assert (second["new"], second["updated"], second["merged"]) == (0, 0, 0)
    assert second["stats"].get("finews/pages", 0) == 0
    assert second["outcome"] == "finished"
    with Repository(database_url) as repository:
        again = list(repository.iter_articles())
    drop = ("last_seen_at",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in again] == [
        {k: v for k, v in r.items() if k not in drop} for r in first
    ]
