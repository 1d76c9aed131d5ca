"""The `RedisFrontier` add-on (`finews_crawler.distributed.addon`): FINEWS_REDIS_URL switches the
scheduler and dupefilter to the shared ones; no server needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from finews_crawler.distributed.addon import DUPEFILTER, SCHEDULER, RedisFrontier
from finews_crawler.spiders.finews import SiteSpider

ROOT = Path(__file__).resolve().parent.parent


def test_addon_is_off_without_a_redis_url():
    for url in ("", "  ", None):
        settings = Settings({"FINEWS_REDIS_URL": url})
        with pytest.raises(NotConfigured):
            RedisFrontier().update_settings(settings)
        assert settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"
        assert settings["DUPEFILTER_CLASS"] == "scrapy.dupefilters.RFPDupeFilter"


def test_addon_switches_scheduler_dupefilter_and_redis_url():
    settings = Settings({"FINEWS_REDIS_URL": "redis://example:6379/3"})
    RedisFrontier().update_settings(settings)
    assert settings["SCHEDULER"] == SCHEDULER
    assert settings["DUPEFILTER_CLASS"] == DUPEFILTER
    assert settings["REDIS_URL"] == "redis://example:6379/3"
    # What is given on the command line still wins over the add-on.
    settings = Settings({"FINEWS_REDIS_URL": "redis://example"})
    settings.set("SCHEDULER", "my.Scheduler", priority="cmdline")
    RedisFrontier().update_settings(settings)
    assert settings["SCHEDULER"] == "my.Scheduler"


def test_crawler_settings_follow_finews_redis_url():
    """Through ADDONS in the project settings, as a crawler sees them."""
    from finews_crawler import settings as project

    base = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    on = get_crawler(SiteSpider, {**base, "FINEWS_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert on.settings["SCHEDULER"] == SCHEDULER
    assert on.settings["DUPEFILTER_CLASS"] == DUPEFILTER
    off = get_crawler(SiteSpider, {**base, "FINEWS_REDIS_URL": ""})
    assert off.settings["SCHEDULER"] == "scrapy.core.scheduler.Scheduler"


def test_environment_variable_switches_it_on():
    code = (
        "from scrapy.crawler import Crawler;"
        "from scrapy.utils.project import get_project_settings;"
        "from finews_crawler.spiders.finews import SiteSpider;"
        "crawler = Crawler(SiteSpider, get_project_settings());"
        "crawler.addons.load_settings(crawler.settings);"
        "print(crawler.settings['SCHEDULER'])"
    )
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "finews_crawler.settings"}
    for url, expected in (("redis://127.0.0.1:6379/0", SCHEDULER), ("", "scrapy.core.scheduler")):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "FINEWS_REDIS_URL": url},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert result.stdout.strip().startswith(expected), result.stdout + result.stderr
