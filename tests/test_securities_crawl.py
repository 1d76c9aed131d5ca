"""The all-forms page (stock mentions in every East Money markup) through the whole chain: the
committed page is the site's rendering of its post, import and crawl read the same mentions, and a
crawl of the bundled mirror plus that page yields exactly the expected symbols, into the store and
out of `finews stocks` / `finews export --stock`, on SQLite and PostgreSQL."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from support.cli_runner import finews_cli
from support.db_fixtures import database_url, pg_database, pg_server  # noqa: F401 - fixtures
from support.securities_page import (
    PAGE_PATH,
    PAGE_URL,
    mirror_with_page,
    post_item,
    render_page,
)

from finews_crawler.parsing.article import parse_article
from finews_crawler.store import Repository

INFO_CODE = "NW202205272412345678"
#: (symbol, kind) of every mention on the all-forms page, in order of first mention. Not in it:
#: the 市盈率 encyclopedia link, the 业绩 data link, the K-line chart, repeated mentions.
ALL_FORMS = [
    ("BK1036", "board"),  # bk_ wrapper around a.keytip 90,BK1036
    ("BK0493", "board"),  # span.em_stock_key_common 90,BK0493
    ("000001.SH", "index"),  # 上证指数 1,000001
    ("399001.SZ", "index"),  # 深证成指
    ("BK0477", "board"),  # bk_ wrapper around a plain quote link
    ("600519.SH", "stock"),
    ("000858.SZ", "stock"),  # bare data-code, market from /sz000858.html
    ("000001.SZ", "stock"),  # 平安银行 0,000001: not the index
    ("688376.SH", "stock"),  # bare data-code, market from /r/1.688376
    ("600030.SH", "stock"),  # bare data-code, market from the stock_1.600030 wrapper
    ("300750.SZ", "stock"),  # bare data-code, market from /unify/r/0.300750
    ("002353.SZ", "stock"),  # a.em_stock_key_common with the quote link alone
    ("430047.BJ", "stock"),
    ("835185.BJ", "stock"),
    ("00700.HK", "stock"),
    (None, "unknown"),  # 恒生指数 100,HSI: kept as read, never guessed
    ("NIO.N", "stock"),
    ("AAPL.O", "stock"),
    ("IMO.A", "stock"),
]
#: Every page of the crawl that names a security, with the symbols it names.
EXPECTED = {
    "/emnews/2022/03/30/202203302328599218.html": ["300959.SZ"],
    "/emnews/2022/05/26/202205262391921712.html": [
        "BK0493", "NIO.N", "600160.SH", "300343.SZ", "600636.SH", "BK0839",
    ],
    PAGE_URL: [symbol for symbol, _ in ALL_FORMS],
}  # fmt: skip
FAST = ["-s", "AUTOTHROTTLE_ENABLED=false", "-s", "LOG_LEVEL=INFO"]


def test_the_page_is_the_site_rendering_of_its_post() -> None:
    assert post_item().url == PAGE_URL
    assert PAGE_PATH.read_text(encoding="utf-8") == render_page()


def test_import_and_crawl_read_the_same_mentions() -> None:
    page = parse_article(
        PAGE_PATH.read_text(encoding="utf-8"), f"https://finews.withounder.com{PAGE_URL}"
    )
    assert page is not None
    assert post_item().stocks == page.stocks
    assert [(s["symbol"], s["kind"]) for s in page.stocks] == ALL_FORMS


def test_crawl_of_the_mirror_plus_the_page_yields_exactly_the_expected_symbols(
    run_scrapy, serve_site, site_dir: Path, tmp_path: Path, database_url: str
) -> None:
    run_scrapy.database_url = database_url  # SQLite and PostgreSQL
    site = serve_site(mirror_with_page(site_dir, tmp_path / "site"))
    feed = tmp_path / f"items-{time.monotonic_ns()}.jsonl"
    result = run_scrapy(
        ["crawl", "finews", *FAST, "-s", "FINEWS_FEED_UNIQUE=false", "-O", str(feed)],
        env={"FINEWS_BASE_URL": site.url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    items = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    assert PAGE_URL in {item["url"] for item in items}
    named = {item["url"]: item["stocks"] for item in items if item["stocks"]}
    assert {url: [s["symbol"] for s in stocks] for url, stocks in named.items()} == EXPECTED
    page = named[PAGE_URL]
    assert [(s["symbol"], s["kind"]) for s in page] == ALL_FORMS
    assert "市盈率" not in {s["name"] for s in page}
    assert page[ALL_FORMS.index((None, "unknown"))] == {
        "symbol": None, "kind": "unknown", "market": "100", "code": "HSI", "name": "恒生指数",
    }  # fmt: skip

    with Repository(database_url) as repository:
        stats = repository.recent_runs(1)[0]["stats"]
        assert stats["finews/stocks/unknown_market"] == 1
        assert repository.get_article(INFO_CODE)["stocks"] == page

    env = {"FINEWS_DATABASE_URL": database_url}
    listed = finews_cli(["stocks", "--kind", "all", "--top", "0", "--json"], env=env)
    assert listed.returncode == 0, listed.stderr
    counts = {e["symbol"]: e["articles"] for e in map(json.loads, listed.stdout.splitlines())}
    # Each page is an article of its own: BK0493 and NIO.N are named by two.
    assert counts == Counter(symbol for symbols in EXPECTED.values() for symbol in symbols)
    securities = finews_cli(["stocks", "--json", "--top", "0"], env=env)
    kinds = {json.loads(line)["kind"] for line in securities.stdout.splitlines()}
    assert kinds == {"stock"}, "boards, indices and unknowns only when asked"

    exported = finews_cli(["export", "--stock", "600519.SH"], env=env)
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["info_code"] for line in exported.stdout.splitlines()] == [INFO_CODE]
