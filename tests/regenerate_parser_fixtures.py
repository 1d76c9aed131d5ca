"""Rewrite tests/fixtures/pages/*.json from the current parser (review the diff first)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from finews_crawler.parsing.article import parse_article

PAGES = Path(__file__).parent / "fixtures" / "pages"

#: page -> (URL it is served at, categories of the listing that linked to it)
INPUTS = {
    "seed_shanghaifabu": ("/shanghaifabu/2022/03/30/NW202203302328599218.html", []),
    "seed_emnews_digest": ("/emnews/2022/03/30/202203302328599218.html", []),
    "empty_title_stocks": ("/emnews/2022/05/26/202205262391921712.html", []),
    "space_in_slug": ("/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html", []),
    "relative_back_links": ("/emnews/2021/12/08/202112082206749391.html", []),
    "two_line_back_links": ("/emnews/2021/12/08/202112082206672930.html", []),
    "no_back_links": ("/emnews/2021/12/08/202112082206727327.html", ["emnews"]),
    "site_news_no_info_code": ("/sitenews/2021/12/01/init.html", []),
    "crlf_line_ends": ("/shanghaifabu/2022/03/30/NW202203302328599218.html", []),
    "no_layout": ("/2022/03/30/NW202203302328599218.html", []),
    "not_article_404": ("/emnews/2021/12/01/202112012200000000.html", []),
    "not_article_category": ("/category/shanghaifabu.html", []),
    "not_article_index": ("/", []),
}
HOST = "https://finews.withounder.com"


def expected_for(name: str) -> dict:
    path, listing_categories = INPUTS[name]
    html = (PAGES / f"{name}.html").read_bytes().decode("utf-8")
    item = parse_article(html, HOST + path, listing_categories)
    return {
        "url": HOST + path,
        "listing_categories": listing_categories,
        "expected": dataclasses.asdict(item) if item else None,
    }


def main() -> None:
    for name in INPUTS:
        text = json.dumps(expected_for(name), ensure_ascii=False, indent=2, sort_keys=True)
        (PAGES / f"{name}.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
