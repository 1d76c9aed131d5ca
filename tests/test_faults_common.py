"""Helpers shared by the fault-injection suite (tests/test_faults_*.py, tests/test_security.py).

No tests here: crawl settings for fast fault runs, the `finews` CLI in a subprocess, the
truth merged by infoCode, and a comparison of an export with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TRUTH = PROJECT_ROOT / "tests" / "fixtures" / "truth.jsonl"

#: Scrapy settings that keep a crawl through a faulty server short.
FAST_SETTINGS: dict[str, str] = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_TIMEOUT": "3",
    "FINEWS_RETRY_BACKOFF_BASE": "0.1",
    "FINEWS_RETRY_AFTER_MAX": "2",
    "FINEWS_SHARE_TIMEOUT": "2",
    "FINEWS_STORE_RETRY_DELAY": "0.1",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
}


def setting_args(extra: Mapping[str, str] | None = None) -> list[str]:
    """`-s NAME=value` arguments for FAST_SETTINGS updated with `extra`."""
    merged = {**FAST_SETTINGS, **(extra or {})}
    return [arg for name, value in merged.items() for arg in ("-s", f"{name}={value}")]


def finews_cli(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`finews ARGS` in a subprocess (FINEWS_* of this process dropped, `env` added)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FINEWS_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "finews_crawler.cli", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def export_records(database_url: str) -> list[dict[str, Any]]:
    """`finews export --format jsonl` of the database, parsed."""
    result = finews_cli(["export", "--format", "jsonl", "--database-url", database_url])
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def truth_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in TRUTH.read_text(encoding="utf-8").splitlines() if line]


def merged_truth(rows: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """truth.jsonl merged by infoCode as the store merges it.

    The primary page (url, name) is the first post name, which puts the emnews page first;
    categories and tags are united and sorted.
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in truth_rows() if rows is None else rows:
        groups[row["info_code"] or f"url:{row['url']}"].append(row)
    merged = {}
    for key, group in groups.items():
        group.sort(key=lambda r: r["name"])
        record = dict(group[0])
        for name in ("categories", "tags"):
            record[name] = sorted({v for r in group for v in r[name]})
        for name in ("media", "digest", "share_url", "upstream_url"):
            record[name] = next((r[name] for r in group if r[name]), None)
        record["urls"] = sorted(r["url"] for r in group)
        merged[key] = record
    return merged


def no_whitespace(text: str | None) -> str:
    return "".join((text or "").split())


def assert_matches_truth(
    records: list[dict[str, Any]], expected: dict[str, dict[str, Any]] | None = None
) -> None:
    """The export holds exactly the merged truth: every article once, every field equal."""
    expected = merged_truth() if expected is None else expected
    keys = [r["info_code"] or f"url:{r['url']}" for r in records]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"articles exported twice: {duplicates}"
    got = dict(zip(keys, records, strict=True))
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"
    problems = []
    for key, want in expected.items():
        record = got[key]
        for name, value in want.items():
            have = record.get(name)
            if name == "body_text":
                have, value = no_whitespace(have), no_whitespace(value)
            elif name in ("categories", "tags", "urls"):
                have = sorted(have or [])
            if have != value:
                problems.append(f"{key} {name}: {have!r} != {value!r}")
    assert not problems, "\n".join(problems[:20])
