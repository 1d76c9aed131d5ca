"""Each spider through Scrapy's real engine against the bundled mirror on 127.0.0.1."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli_runner import finews_cli
from support.db_fixtures import database_url, pg_database, pg_server  # noqa: F401 - fixtures
from support.paths import FIXTURES, PROJECT_ROOT

from finews_crawler.parsing.html_text import squeeze
from finews_crawler.site import is_article_path
from finews_crawler.store.repository import Repository
from localsite.server import setting_args

FAST = ["-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=INFO"]


def feed(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_items_match_truth(items: list[dict], truth: list[dict]) -> None:
    by_url = {item["url"]: item for item in items}
    assert len(by_url) == len(items), "one item per page"
    assert set(by_url) == {row["url"] for row in truth}
    for row in truth:
        item = by_url[row["url"]]
        for field, expected in row.items():
            got = squeeze(item[field]) if field == "body_text" else item[field]
            assert got == expected, (row["url"], field)


def crawl(run_scrapy, tmp_path: Path, *args: str, env: dict | None = None) -> list[dict]:
    out = tmp_path / f"items-{time.monotonic_ns()}.jsonl"
    result = run_scrapy(["crawl", *args, *FAST, "-O", str(out)], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return feed(out)


def test_whole_site_gives_one_item_per_page_equal_to_truth(run_scrapy, tmp_path, truth_rows):
    items = crawl(run_scrapy, tmp_path, "finews", "-s", "FINEWS_FEED_UNIQUE=false")
    assert_items_match_truth(items, truth_rows)
    shared = [i for i in items if i["share_url"]]
    assert shared and all(i["share_status"] == "http 404" for i in shared)


def test_whole_site_feed_has_each_article_once(run_scrapy, tmp_path, truth_rows):
    items = crawl(run_scrapy, tmp_path, "finews")
    keys = [i["info_code"] or i["url"] for i in items]
    assert len(keys) == len(set(keys)) == len({r["info_code"] or r["url"] for r in truth_rows})


def test_shanghaifabu_spider_stays_in_its_category(run_scrapy, tmp_path, truth_rows, mirror):
    mirror.requests.clear()
    items = crawl(run_scrapy, tmp_path, "shanghaifabu")
    assert_items_match_truth(items, [r for r in truth_rows if r["categories"] == ["shanghaifabu"]])
    fetched = {path for path in mirror.requests.paths() if path.endswith(".html")}
    assert all(p.startswith(("/shanghaifabu/", "/category/shanghaifabu")) for p in fetched)


@pytest.mark.parametrize("slug", ["21shijijingjibaodao 21caijingAPP", "ITzhijia", "emnews"])
def test_category_spider_takes_any_slug(run_scrapy, tmp_path, truth_rows, slug):
    items = crawl(run_scrapy, tmp_path, "category", "-a", f"category={slug}")
    expected = [r for r in truth_rows if r["categories"] == slug.split()]
    assert expected
    assert_items_match_truth(items, expected)


def test_unreachable_share_host_never_costs_the_article(run_scrapy, tmp_path, truth_rows):
    # Nothing listens on port 9 of the loopback address: every share request fails at once.
    env = {"FINEWS_SHARE_BASE_URL": "http://127.0.0.1:9"}
    items = crawl(run_scrapy, tmp_path, "shanghaifabu", env=env)
    assert len(items) == 9
    assert all(i["share_status"].startswith("error: ") for i in items)


def test_rerun_requests_no_article_page_and_refresh_does(
    run_scrapy, tmp_path, mirror, database_url
):
    run_scrapy.database_url = database_url  # SQLite and PostgreSQL
    crawl(run_scrapy, tmp_path, "finews")
    mirror.requests.clear()
    assert crawl(run_scrapy, tmp_path, "finews") == []
    fetched = mirror.requests.paths()
    assert fetched, "listings are read again"
    assert not [p for p in fetched if is_article_path(p)], "no article page"
    mirror.requests.clear()
    crawl(run_scrapy, tmp_path, "finews", "-a", "refresh=1")
    assert len([p for p in mirror.requests.paths() if is_article_path(p)]) == 106


def test_earlier_rendering_then_current_keeps_current_data_and_revisions(
    run_scrapy, serve_site, tmp_path, truth_rows, database_url
):
    run_scrapy.database_url = database_url  # SQLite and PostgreSQL
    previous = serve_site(FIXTURES / "site_prev")
    crawl(run_scrapy, tmp_path, "finews", env={"FINEWS_BASE_URL": previous.url})
    current = serve_site(FIXTURES / "site")
    env = {"FINEWS_BASE_URL": current.url}
    crawl(run_scrapy, tmp_path, "finews", "-a", "refresh=1", env=env)

    shown_at = {row["url"]: row["published_at"] for row in truth_rows}
    with Repository(run_scrapy.database_url) as repository:
        records = list(repository.iter_articles())
        revised = {
            r["info_code"]: repository.revisions(r["info_code"])
            for r in records
            if r["revision"] > 1
        }
    assert len(records) == 76
    for record in records:
        assert record["published_at"] == shown_at[record["url"]]
    # site_prev shows 25 pages 8 hours later (the generator's old date format); the article
    # pages' text is the same, so only those articles whose shown date changed get a revision.
    assert 0 < len(revised) <= 25
    for old_versions in revised.values():
        assert old_versions and all(v["data"]["published_at"] for v in old_versions)


def test_finews_crawl_locks_logs_and_reports(tmp_path, mirror):
    db = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    settings = setting_args(mirror.crawl_settings())
    common = ["--database-url", db, "--lock-file", str(tmp_path / "crawl.lock")]

    ok = finews_cli(["crawl", "shanghaifabu", *common, *settings], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "ok (" in ok.stdout
    logs = list((tmp_path / "data" / "logs").glob("shanghaifabu-*.log"))
    assert logs and "Spider closed (finished)" in logs[0].read_text(encoding="utf-8")

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a');"
            "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            str(tmp_path / "crawl.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        busy = finews_cli(["crawl", "shanghaifabu", *common, *settings], cwd=tmp_path)
        assert busy.returncode == 75 and "another crawl holds" in busy.stderr
    finally:
        holder.kill()
        holder.wait()
    # The holder was killed: its lock died with it.
    again = finews_cli(["crawl", "shanghaifabu", *common, *settings], cwd=tmp_path)
    assert again.returncode == 0, again.stderr

    down = finews_cli(
        [
            "crawl",
            "shanghaifabu",
            *common,
            "-s",
            "FINEWS_BASE_URL=http://127.0.0.1:9",
            "-s",
            "RETRY_TIMES=0",
        ],
        cwd=tmp_path,
    )
    assert down.returncode == 1 and "FAILED" in down.stderr

    runs = finews_cli(["runs", "--database-url", db], cwd=tmp_path)
    assert runs.returncode == 0 and "shanghaifabu" in runs.stdout


def test_demo_serves_crawls_and_exports(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "localsite.demo",
            "--site",
            str(FIXTURES / "site"),
            "--database-url",
            f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "--output",
            str(tmp_path / "demo.jsonl"),
        ],
        cwd=tmp_path,
        # localsite is not installed: it is found from the repository root.
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = feed(tmp_path / "demo.jsonl")
    assert len(records) == 76
    assert "dataset:" in result.stdout
