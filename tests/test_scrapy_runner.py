"""The `run_scrapy` fixture (`support.cli_runner.ScrapyRunner`): Scrapy on loopback only."""

from __future__ import annotations

import pytest

from localsite.server import MirrorServer

pytestmark = pytest.mark.timeout(60)


def test_run_scrapy_runs_on_loopback_only(run_scrapy, mirror: MirrorServer) -> None:
    environment = run_scrapy.environment()
    assert environment["FINEWS_BASE_URL"] == environment["FINEWS_SHARE_BASE_URL"] == mirror.url
    assert environment["FINEWS_DATABASE_URL"] == f"sqlite:///{run_scrapy.database_path}"
    result = run_scrapy(["list"], timeout=120)
    assert result.returncode == 0, result.stderr
    assert {"finews", "category", "shanghaifabu"} <= set(result.stdout.split())
    with pytest.raises(ValueError):
        run_scrapy(["crawl", "finews", "-s", "FINEWS_BASE_URL=https://finews.withounder.com"])
    with pytest.raises(ValueError):
        run_scrapy(["list"], env={"FINEWS_SHARE_BASE_URL": "http://finews.zning.xyz"})
