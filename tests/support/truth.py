"""tests/fixtures/truth.jsonl, and the same truth merged by infoCode as the store merges it.

One place for the tests that compare a crawl, an import or an export with what a perfect crawl
extracts (truth.jsonl: one row per article page).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from finews_crawler.parsing.html_text import squeeze

TRUTH = Path(__file__).resolve().parents[1] / "fixtures" / "truth.jsonl"
#: Fields a merged article keeps from whichever page has them.
FILL_FIELDS = ("media", "digest", "share_url", "upstream_url")


def truth_rows() -> list[dict[str, Any]]:
    """The rows of truth.jsonl, one per article page."""
    lines = TRUTH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def article_key(record: dict[str, Any]) -> str:
    return record["info_code"] or f"url:{record['url']}"


def merged_truth(rows: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Truth merged by infoCode as the store merges pages (see finews_crawler/store/merge.py).

    The primary page (url, name, title, date, body) is the one whose post name sorts first,
    the emnews original; categories, tags and page URLs are united and sorted.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in truth_rows() if rows is None else rows:
        groups[article_key(row)].append(row)
    merged = {}
    for key, group in groups.items():
        group = sorted(group, key=lambda row: row["name"])
        record = dict(group[0])
        for name in ("categories", "tags"):
            record[name] = sorted({value for row in group for value in row[name]})
        for name in FILL_FIELDS:
            record[name] = next((row[name] for row in group if row[name]), None)
        record["urls"] = sorted(row["url"] for row in group)
        merged[key] = record
    return merged


def assert_matches_truth(
    records: list[dict[str, Any]], expected: dict[str, dict[str, Any]] | None = None
) -> None:
    """The records hold exactly the merged truth: every article once, every field equal
    (body text compared with whitespace removed)."""
    expected = merged_truth() if expected is None else expected
    keys = [article_key(record) for record in records]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"articles exported twice: {duplicates}"
    got = dict(zip(keys, records, strict=True))
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"
    problems = []
    for key, want in expected.items():
        for name, value in want.items():
            have = got[key].get(name)
            if name == "body_text":
                have, value = squeeze(have), squeeze(value)
            elif name in ("categories", "tags", "urls"):
                have = sorted(have or [])
            if have != value:
                problems.append(f"{key} {name}: {have!r} != {value!r}")
    assert not problems, "\n".join(problems[:20])
