"""`finews browse`: Datasette over the SQLite file, read-only, with facets, search and queries.

A real server is started on a free loopback port; its JSON answers are checked against the
store, and its article list is opened in headless Chromium.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.chromium import bounding_box, keep, pixels_of, requires_chromium, screenshot
from support.paths import PROJECT_ROOT

from finews_crawler import cli
from finews_crawler.commands.browse import metadata
from finews_crawler.store import Repository
from finews_crawler.store.search import search

POSTS = PROJECT_ROOT / "tests" / "fixtures" / "posts"
#: Datasette's header bar.
HEADER = "#276890"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browse") / "finews.sqlite3"
    cli.main(["import-archive", str(POSTS), "--database-url", f"sqlite:///{path}"])
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def server(database: Path) -> Iterator[str]:
    port = free_port()
    before = digest(database)
    log = database.with_name("browse.log")
    command = [sys.executable, "-m", "finews_crawler.cli", "browse", "--port", str(port)]
    with open(log, "w") as output:
        process = subprocess.Popen(
            [*command, "--database-url", f"sqlite:///{database}"],
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"finews browse did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=30)
    assert digest(database) == before  # read-only: the file is byte for byte unchanged


def get(base: str, path: str, **params: Any) -> dict[str, Any]:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}{path}?{query}", timeout=30) as response:
        return json.load(response)


def test_search_box_uses_the_index(server: str, database: Path) -> None:
    answer = get(
        server, "/finews/article_list.json", _search="新能源", _shape="objects", _size="max"
    )
    with Repository(f"sqlite:///{database}") as repository:
        expected = {hit.url for hit in search(repository, "新能源", limit=None)}
    assert {row["url"] for row in answer["rows"]} == expected and expected


def test_facets_on_day_media_and_category(server: str, database: Path) -> None:
    answer = get(server, "/finews/article_list.json", _size="0")
    facets = answer["facet_results"]
    facets = facets.get("results", facets)
    assert {"day", "media", "categories"} <= set(facets)
    categories = {item["value"]: item["count"] for item in facets["categories"]["results"]}
    with Repository(f"sqlite:///{database}") as repository:
        shanghai = sum(1 for _ in repository.iter_articles(category="shanghaifabu"))
    assert categories["shanghaifabu"] == shanghai
    days = {item["value"]: item["count"] for item in facets["day"]["results"]}
    assert days["2021-12-08"] > 50


def test_canned_queries(server: str, database: Path) -> None:
    with Repository(f"sqlite:///{database}") as repository:
        total = repository.article_count()
        records = list(repository.iter_articles())
        short = {hit.url for hit in search(repository, "降准", limit=None)}
    per_day = get(server, "/finews/articles_per_day.json", _shape="objects")["rows"]
    undated = sum(1 for record in records if not record["published_at"])
    assert sum(row["articles"] for row in per_day) == total - undated
    code = next(stock["code"] for record in records for stock in record["stocks"])
    mentions = {r["url"] for r in records if any(s["code"] == code for s in r["stocks"])}
    timeline = get(server, "/finews/stock_timeline.json", symbol=code, _shape="objects")["rows"]
    assert {row["url"] for row in timeline} == mentions
    found = get(server, "/finews/contains.json", term="降准", _shape="objects")["rows"]
    assert {row["url"] for row in found} == short and short


def test_metadata_titles_and_descriptions() -> None:
    described = metadata("finews")["databases"]["finews"]
    assert all(table.get("description") for table in described["tables"].values())
    assert described["tables"]["article_list"]["fts_table"] == "article_search"
    assert {"articles_per_day", "stock_timeline", "contains"} <= set(described["queries"])
    assert ":symbol" in described["queries"]["stock_timeline"]["sql"]


def test_postgresql_is_refused_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/finews"
    assert cli.main(["browse", "--database-url", url]) == 2
    assert "Datasette serves SQLite files only" in capsys.readouterr().err


@requires_chromium
def test_article_list_renders_in_chromium(server: str, tmp_path: Path) -> None:
    png = tmp_path / "browse.png"
    image = screenshot(f"{server}/finews/article_list", png, 1200, 1100)
    header = bounding_box(image, HEADER)
    assert header is not None and header[2] - header[0] > 1000  # the header bar across the page
    assert pixels_of(image, HEADER) > 20_000
    # Below the header the page holds text (facets, the table), not a blank page.
    body = image.crop((0, 200, 1200, 1100))
    assert len(body.getcolors(maxcolors=1 << 24) or []) > 50
    keep(png, "browse.png")
