"""Alerts where operators look (issue 14, part 2), against local receivers only: a loopback HTTP
server, a local SMTP server and a command writing to a file (tests/support/receivers.py).

- A healthy crawl sends nothing.
- A crawl whose verdict is not healthy (here: the site's layout changed) sends its reasons, and a
  run found killed when it started sends its own alert, to every destination.
- A delivery that fails (an error status, a server that hangs, no server, a command that fails)
  is logged at ERROR and counted, within the timeout, and never raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from pathlib import Path

import pytest
import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler
from support.cli_runner import dead_pid
from support.receivers import file_command, smtp_receiver, webhook_receiver

from finews_crawler.alerts import Alerts
from finews_crawler.processes.liveness import this_process
from finews_crawler.store import Repository
from localsite.server import setting_args

REDESIGN = Path(__file__).parent / "fixtures" / "redesigns" / "minima"
FAST = {"AUTOTHROTTLE_ENABLED": "0", "FINEWS_PROGRESS": "off"}
LAYOUT_CHANGED = "were read by the layout-independent reader, not a known page layout"


def destinations(hook, smtp, command_file: Path) -> dict[str, str]:
    return {
        "FINEWS_ALERT_WEBHOOK": hook.url,
        "FINEWS_ALERT_SMTP_HOST": smtp.host,
        "FINEWS_ALERT_SMTP_PORT": str(smtp.port),
        "FINEWS_ALERT_EMAIL_FROM": "finews@127.0.0.1",
        "FINEWS_ALERT_EMAIL_TO": "ops@127.0.0.1, oncall@127.0.0.1",
        "FINEWS_ALERT_COMMAND": file_command(command_file),
    }


def crawl(run_scrapy, tmp_path: Path, name: str, env: dict[str, str]) -> str:
    log_file = tmp_path / f"{name}.log"
    args = ["crawl", "finews", *setting_args({**FAST, "LOG_FILE": str(log_file)})]
    result = run_scrapy(args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return log_file.read_text(encoding="utf-8")


def command_alerts(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_a_healthy_crawl_sends_nothing(run_scrapy, tmp_path: Path) -> None:
    command_file = tmp_path / "alerts.jsonl"
    with webhook_receiver() as hook, smtp_receiver() as smtp:
        log = crawl(run_scrapy, tmp_path, "healthy", destinations(hook, smtp, command_file))
    assert "is healthy" in log
    assert (hook.bodies, smtp.messages, command_alerts(command_file)) == ([], [], [])
    assert "finews/alerts/" not in log


def test_an_unhealthy_crawl_and_a_killed_run_reach_every_destination(
    run_scrapy, serve_site, tmp_path: Path
) -> None:
    host, _ = this_process()
    with Repository(run_scrapy.database_url) as repo:
        killed = repo.start_run("finews", host=host, pid=dead_pid())
    redesign = serve_site(REDESIGN, share_mode="missing")
    command_file = tmp_path / "alerts.jsonl"
    with webhook_receiver() as hook, smtp_receiver() as smtp:
        env = {
            **destinations(hook, smtp, command_file),
            "FINEWS_BASE_URL": redesign.url,
            "FINEWS_SHARE_BASE_URL": redesign.url,
        }
        log = crawl(run_scrapy, tmp_path, "redesigned", env)
    with Repository(run_scrapy.database_url) as repo:
        this_run, dead = repo.recent_runs()
    assert dead["id"] == killed and dead["outcome"] == "killed"
    assert this_run["verdict"] == "unhealthy" and LAYOUT_CHANGED in this_run["health_reasons"][0]

    # The webhook: JSON, the killed run first (noticed at the start), then this run's verdict.
    assert [body["content_type"] for body in hook.bodies] == ["application/json; charset=utf-8"] * 2
    first, second = ({k: v for k, v in b.items() if k != "content_type"} for b in hook.bodies)
    assert first["run_id"] == killed and first["verdict"] == "killed"
    assert first["reasons"] == dead["health_reasons"] and first["host"] == host
    assert second["run_id"] == this_run["id"] and second["spider"] == "finews"
    assert (second["verdict"], second["reasons"]) == ("unhealthy", this_run["health_reasons"])
    assert second["stats"]["pages"] == this_run["pages"] > 0
    assert second["stats"]["new"] == this_run["new"] == 76
    # The command got the same alerts on its stdin.
    assert command_alerts(command_file) == [first, second]
    # Two emails to both recipients, the reasons in the text.
    assert [envelope[1] for envelope in smtp.envelopes] == [
        ["ops@127.0.0.1", "oncall@127.0.0.1"]
    ] * 2
    mail = smtp.messages[1]
    assert mail["Subject"] == f"finews: run {this_run['id']} of finews is unhealthy"
    assert mail["From"] == "finews@127.0.0.1"
    text = mail.get_content()
    assert all(f"- {reason}" in text for reason in this_run["health_reasons"])
    assert smtp.messages[0]["Subject"] == f"finews: run {killed} of finews is killed"
    assert "'finews/alerts/sent': 6" in log


def closed_run_alerts(settings: dict[str, object]) -> tuple[scrapy.crawler.Crawler, Alerts]:
    crawler = get_crawler(scrapy.Spider, settings)
    return crawler, Alerts.from_crawler(crawler)


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_failed_deliveries_are_logged_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = f"{sys.executable} -c 'import sys; sys.stderr.write(\"no route\"); sys.exit(3)'"
    with webhook_receiver(status=500) as broken, webhook_receiver(hang=True) as hanging:
        for url in (broken.url, hanging.url):
            crawler, alerts = closed_run_alerts(
                {
                    "FINEWS_ALERT_WEBHOOK": url,
                    "FINEWS_ALERT_SMTP_HOST": "127.0.0.1",
                    "FINEWS_ALERT_SMTP_PORT": refused_port(),
                    "FINEWS_ALERT_EMAIL_FROM": "finews@127.0.0.1",
                    "FINEWS_ALERT_EMAIL_TO": "ops@127.0.0.1",
                    "FINEWS_ALERT_COMMAND": failing,
                    "FINEWS_ALERT_TIMEOUT": 0.5,
                }
            )
            crawler.stats.set_value("finews/run_id", 7)
            crawler.stats.set_value("finews/health/verdict", "failed")
            crawler.stats.set_value("finews/health/reasons", ["no page was fetched"])
            with caplog.at_level(logging.ERROR, logger="finews_crawler.alerts"):
                asyncio.run(alerts.spider_closed(scrapy.Spider(name="finews"), "finished"))
            assert crawler.stats.get_value("finews/alerts/failed") == 3
            assert crawler.stats.get_value("finews/alerts/sent") is None
    assert len(broken.bodies) == 1 and len(hanging.bodies) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 6
    assert "to webhook on 127.0.0.1" in errors[0] and "HTTP Error 500" in errors[0]
    assert "finews-token" not in " ".join(errors)  # the webhook's path may hold its secret
    assert "ConnectionRefusedError" in errors[1]
    assert "exit status 3: no route" in errors[2]
    assert "timed out" in errors[3]


def test_a_healthy_verdict_sends_nothing_and_no_destination_turns_alerts_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with webhook_receiver() as hook:
        crawler, alerts = closed_run_alerts({"FINEWS_ALERT_WEBHOOK": hook.url})
        for verdict in ("healthy", "skipped"):
            crawler.stats.set_value("finews/health/verdict", verdict)
            asyncio.run(alerts.spider_closed(scrapy.Spider(name="finews"), "finished"))
        assert hook.bodies == []
    with (
        caplog.at_level(logging.DEBUG, logger="finews_crawler.alerts"),
        pytest.raises(NotConfigured),
    ):
        closed_run_alerts({})
    assert "no FINEWS_ALERT_* destination is configured" in caplog.text
    # An email destination without sender or recipients is refused, loudly; the others stay.
    with caplog.at_level(logging.ERROR, logger="finews_crawler.alerts"):
        _, alerts = closed_run_alerts(
            {"FINEWS_ALERT_SMTP_HOST": "127.0.0.1", "FINEWS_ALERT_COMMAND": "true"}
        )
    assert [type(target).__name__ for target in alerts.targets] == ["Command"]
    assert "needs FINEWS_ALERT_EMAIL_FROM and FINEWS_ALERT_EMAIL_TO" in caplog.text
    with pytest.raises(NotConfigured):
        closed_run_alerts({"FINEWS_ALERT_SMTP_HOST": "127.0.0.1"})
