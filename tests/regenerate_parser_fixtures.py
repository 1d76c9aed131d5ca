"""Rewrite tests/fixtures/pages/*.json from the current parser (review the diff first)."""

from __future__ import annotations

import dataclasses
import json

from support.parser_cases import CASES, PAGES, page_html, page_url

from finews_crawler.parsing.article import parse_article


def main() -> None:
    for name, case in CASES.items():
        item = parse_article(page_html(case), page_url(case), case.listing_categories)
        expected = {
            "page": case.page,
            "derive": case.derive,
            "url": page_url(case),
            "listing_categories": list(case.listing_categories),
            "expected": dataclasses.asdict(item) if item else None,
        }
        text = json.dumps(expected, ensure_ascii=False, indent=2, sort_keys=True)
        (PAGES / f"{name}.json").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
