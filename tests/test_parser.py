"""The pure parsers against real pages of the site: fixture pages and the whole bundled mirror."""

from __future__ import annotations

import dataclasses
import json

import pytest
from support.parser_cases import CASES, HOST, PAGES, page_html, page_url
from support.paths import FIXTURES

from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.html_text import squeeze
from finews_crawler.parsing.listing import parse_listing
from finews_crawler.parsing.readers import READERS, read_article

SITE = FIXTURES / "site"


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_page_parses_to_expected_record(name: str) -> None:
    case = CASES[name]
    expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    assert (expected["page"], expected["url"]) == (case.page, page_url(case))
    item = parse_article(page_html(case), page_url(case), case.listing_categories)
    assert (dataclasses.asdict(item) if item else None) == expected["expected"]


def test_every_reader_has_fixtures_and_reads_them_alone() -> None:
    """Fundus-style: the fixtures of each reader, read by that reader alone, give their record."""
    by_reader: dict[str, list[str]] = {reader.name: [] for reader in READERS}
    for name, case in CASES.items():
        expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))["expected"]
        if expected is None:
            continue
        reader = next(r for r in READERS if r.name == expected["layout"])
        item = read_article(page_html(case), page_url(case), case.listing_categories, (reader,))
        assert dataclasses.asdict(item) == expected, name
        by_reader[reader.name].append(name)
    assert all(by_reader.values()), by_reader


def _truth_rows() -> list[dict]:
    lines = (FIXTURES / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("row", _truth_rows(), ids=lambda row: row["name"])
def test_every_mirror_article_matches_truth(row: dict) -> None:
    html = (SITE / row["url"].lstrip("/")).read_text(encoding="utf-8")
    item = dataclasses.asdict(parse_article(html, "http://127.0.0.1:8000" + row["url"]))
    for field, expected in row.items():
        if field == "body_text":
            assert squeeze(item[field]) == expected
        else:
            assert item[field] == expected, field


def test_no_other_page_of_the_mirror_is_an_article() -> None:
    truth_urls = {row["url"] for row in _truth_rows()}
    others = [p for p in SITE.rglob("*.html") if "/" + str(p.relative_to(SITE)) not in truth_urls]
    assert others, "the mirror has listing pages"
    for page in others:
        url = "http://127.0.0.1:8000/" + str(page.relative_to(SITE))
        assert parse_article(page.read_text(encoding="utf-8"), url) is None, page


def test_crlf_page_gives_the_same_text_as_lf() -> None:
    url = HOST + "/shanghaifabu/2022/03/30/NW202203302328599218.html"
    lf = parse_article(page_html(CASES["seed_shanghaifabu"]), url)
    crlf_html = page_html(CASES["crlf_line_ends"])
    assert "\r\n" in crlf_html
    crlf = parse_article(crlf_html, url)
    assert "\r" not in crlf.body_text
    assert squeeze(crlf.body_text) == squeeze(lf.body_text)
    assert (crlf.title, crlf.published_at, crlf.share_url) == (
        lf.title,
        lf.published_at,
        lf.share_url,
    )


def test_page_without_layout_keeps_its_body_but_has_no_date() -> None:
    html = page_html(CASES["no_layout"])
    item = parse_article(html, HOST + "/2022/03/30/NW202203302328599218.html")
    assert item.categories == ["shanghaifabu"]
    assert item.published_at is None  # validation quarantines it
    assert "返回" not in item.body_text and "NewsShare" not in item.body_text


def test_markup_is_sanitized_out_of_body_html() -> None:
    page = page_html(CASES["seed_shanghaifabu"])
    hostile = page.replace(
        '<p class="em_media">',
        '<p onclick="steal()">x<script>alert(1)</script><a href="javascript:alert(2)">y</a></p>'
        '<p class="em_media">',
    )
    item = parse_article(hostile, HOST + "/shanghaifabu/2022/03/30/NW202203302328599218.html")
    assert "script" not in item.body_html and "onclick" not in item.body_html
    assert "javascript:" not in item.body_html
    assert "alert(1)" not in item.body_text


class TestListing:
    base = "http://127.0.0.1:8000"

    def parse(self, rel: str):
        html = (SITE / rel).read_text(encoding="utf-8")
        return parse_listing(html, f"{self.base}/{rel}", self.base)

    def test_category_page_lists_its_articles(self) -> None:
        listing = self.parse("category/shanghaifabu.html")
        assert len(listing.article_paths) == 9
        assert all(p.startswith("/shanghaifabu/") for p in listing.article_paths)

    def test_escaped_emnews_listing_still_yields_links(self) -> None:
        listing = self.parse("emnews/index.html")
        assert len(listing.article_paths) == 20
        assert all(p.startswith("/emnews/") for p in listing.article_paths)

    def test_front_page_skips_the_unrendered_template_link(self) -> None:
        listing = self.parse("index.html")
        assert not any("post.url" in p or "%7B" in p for p in listing.article_paths)
        assert "/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html" in (
            listing.article_paths
        )

    def test_feed_links_and_back_links_name_categories(self) -> None:
        listing = self.parse("feed.xml")
        assert len(listing.article_paths) == 10
        assert listing.category_slugs == ["shanghaifabu"]  # a back link inside an entry
