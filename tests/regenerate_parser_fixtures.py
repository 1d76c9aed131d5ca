"""Rewrite tests/fixtures/pages/*.json and tests/fixtures/share/*.json from the current parsers
(review the diff first)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from support.parser_cases import CASES, PAGES, page_html, page_url

from finews_crawler.parsing.article import parse_article
from finews_crawler.parsing.share import read_share_page

SHARE = Path(__file__).parent / "fixtures" / "share"


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
    # Share pages: each case keeps its page and status; only the expected record is rewritten.
    for path in sorted(SHARE.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        document = (SHARE / case["page"]).read_text(encoding="utf-8")
        case["expected"] = dataclasses.asdict(read_share_page(case["status"], document))
        text = json.dumps(case, ensure_ascii=False, indent=2, sort_keys=True)
        path.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
