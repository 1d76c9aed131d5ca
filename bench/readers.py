"""Parse time per page for each page reader (issue 10): the known layout and the generic reader.

    python bench/readers.py [--repeat 20]

- `jekyll-minimal-2022`: `parse_article` over every article page of the bundled mirror
  (`tests/fixtures/site`), which today's layout reads;
- `generic (forced)`: the generic reader alone over the same pages;
- `generic on <redesign>`: `parse_article` over every article page of each redesign
  (`tests/fixtures/redesigns/`): what a crawl pays there (the known readers refuse first).

Each figure is the best of `--repeat` passes (ms per page, in this process, pages read from
disk once). Targets: known layout <= 0.4 ms/page, generic <= 3 ms/page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finews_crawler.parsing.article import parse_article  # noqa: E402
from finews_crawler.parsing.readers import read_article  # noqa: E402
from finews_crawler.parsing.readers.generic import GenericReader  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TARGET_KNOWN_MS = 0.4
TARGET_GENERIC_MS = 3.0
BASE = "http://127.0.0.1:8000"


def article_pages(site: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (FIXTURES / "truth.jsonl").read_text("utf-8").splitlines()]
    return [(BASE + row["url"], (site / row["url"].lstrip("/")).read_text("utf-8")) for row in rows]


def ms_per_page(pages: list[tuple[str, str]], parse: Callable[[str, str], object], repeat: int):
    """Best pass, ms per page; and the layouts the pages were read by."""
    best = float("inf")
    layouts: set[str] = set()
    for _ in range(repeat):
        started = time.perf_counter()
        items = [parse(html, url) for url, html in pages]
        best = min(best, time.perf_counter() - started)
        layouts = {item.layout for item in items if item is not None}
    return 1000 * best / len(pages), sorted(layouts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="passes over the pages")
    args = parser.parse_args(argv)
    generic = (GenericReader(),)

    def forced(html: str, url: str) -> object:
        return read_article(html, url, readers=generic)

    mirror = article_pages(FIXTURES / "site")
    runs = [
        ("known layout on the mirror", mirror, parse_article, TARGET_KNOWN_MS),
        ("generic (forced) on the mirror", mirror, forced, TARGET_GENERIC_MS),
    ]
    for redesign in sorted(p for p in (FIXTURES / "redesigns").iterdir() if p.is_dir()):
        if redesign.name != "sources":
            pages = article_pages(redesign)
            runs.append((f"generic on {redesign.name}", pages, parse_article, TARGET_GENERIC_MS))
    print(f"{'reader, pages':<36} {'pages':>5} {'ms/page':>8} {'target':>7}  read by")
    failed = False
    for label, pages, parse, target in runs:
        ms, layouts = ms_per_page(pages, parse, args.repeat)
        verdict = "PASS" if ms <= target else "FAIL"
        failed |= ms > target
        read_by = ",".join(layouts)
        print(f"{label:<36} {len(pages):>5} {ms:>8.3f} {target:>7.1f}  {read_by} {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
