"""Helpers shared by the fault-injection suite (tests/test_faults_*.py, tests/test_security.py).

No tests here: crawl settings for fast fault runs, their `-s` arguments, and the records of an
export.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from localsite.server import setting_args as mirror_setting_args
from support.cli_runner import finews_cli

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
    return mirror_setting_args({**FAST_SETTINGS, **(extra or {})})


def export_records(database_url: str) -> list[dict[str, Any]]:
    """`finews export --format jsonl` of the database, parsed."""
    result = finews_cli(["export", "--format", "jsonl", "--database-url", database_url])
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
