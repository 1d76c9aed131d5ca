"""The share page reader (`finews_crawler.parsing.share`) against the pages the mirror serves.

`fixtures/share/<case>.html` is a share answer as `localsite/mirror.py` serves it (share mode
"ok": the article's title and text, or its generic page for an infoCode it does not hold;
share mode "missing": its 404 page); `<case>.json` holds its HTTP status and the expected
record. `tests/regenerate_parser_fixtures.py` rewrites the expectations after a deliberate
change.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from support.parser_cases import PAGES

from finews_crawler.parsing.html_text import squeeze
from finews_crawler.parsing.share import SHARE_TEXT_LIMIT, SharePage, read_share_page

SHARE = Path(__file__).parent / "fixtures" / "share"
CASES = sorted(path.stem for path in SHARE.glob("*.json"))


def _case(name: str) -> tuple[dict, str]:
    case = json.loads((SHARE / f"{name}.json").read_text(encoding="utf-8"))
    return case, (SHARE / case["page"]).read_text(encoding="utf-8")


def test_every_share_fixture_has_its_page_and_every_page_its_case() -> None:
    assert CASES, "no share fixtures"
    assert sorted(path.stem for path in SHARE.glob("*.html")) == CASES


@pytest.mark.parametrize("name", CASES)
def test_share_fixture_reads_to_expected_record(name: str) -> None:
    case, document = _case(name)
    record = read_share_page(case["status"], document)
    assert isinstance(record, SharePage)
    assert dataclasses.asdict(record) == case["expected"]


def test_share_page_of_an_article_says_its_title_and_body() -> None:
    """Independent of the stored expectation: the mirror's share page of the seed article holds
    the title and body the article page gives (tests/fixtures/pages)."""
    case, document = _case("seed_shanghaifabu")
    article = json.loads((PAGES / "seed_shanghaifabu.json").read_text(encoding="utf-8"))
    article = article["expected"]
    record = read_share_page(case["status"], document)
    assert record.status == "fetched"
    assert record.title == article["title"]
    assert squeeze(record.text).startswith(squeeze(article["title"]))
    assert squeeze(article["body_text"]) in squeeze(record.text)


def test_an_answer_other_than_200_keeps_nothing_of_its_page() -> None:
    _, document = _case("seed_shanghaifabu")
    assert read_share_page(503, document) == SharePage("http 503")
    assert read_share_page(301, None) == SharePage("http 301")


def test_a_fetched_answer_that_is_not_text() -> None:
    assert read_share_page(200, None) == SharePage("fetched: not text")


def test_an_empty_page_is_fetched_without_title_or_text() -> None:
    assert read_share_page(200, "") == SharePage("fetched")
    assert read_share_page(200, "<html><head><title> </title></head></html>") == SharePage(
        "fetched"
    )


def test_share_text_is_bounded() -> None:
    document = f"<html><body><p>{'股' * (SHARE_TEXT_LIMIT + 50)}</p></body></html>"
    record = read_share_page(200, document)
    assert record.text == "股" * SHARE_TEXT_LIMIT
