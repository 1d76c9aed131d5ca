"""Alerts: a run whose verdict is not healthy tells someone, where operators look.

`Alerts` (a Scrapy extension, after `RunHealth` in EXTENSIONS so that at `spider_closed` the
verdict is set) sends the run's verdict and reasons to every configured destination when the
verdict is not one of `finews_crawler.health.OK_VERDICTS` (failed, interrupted, unhealthy: the
site's layout changed, listings, items or coverage collapsed). Runs found killed when this run
started (the `runs_killed` signal of `pipelines.run_record`) are sent too, each as its own alert.
A healthy run sends nothing. Documented in the README ("Operations").

Destinations, each on when its setting is given (no destination: the extension is off):
- FINEWS_ALERT_WEBHOOK: an HTTP POST of the alert as JSON.
- FINEWS_ALERT_SMTP_HOST (+ _PORT, _USER, _PASSWORD, _STARTTLS), FINEWS_ALERT_EMAIL_FROM,
  FINEWS_ALERT_EMAIL_TO (comma-separated): an email with the reasons, the counts and the JSON.
- FINEWS_ALERT_COMMAND: a command (split like a shell line, run without a shell) given the JSON on
  its stdin; a non-zero exit status is a failed delivery.

The alert (JSON): spider, run_id, verdict, reasons, stats (pages, articles listed, new, updated,
unchanged, merged, duplicate, quarantined, errors), host, started_at. Deliveries run in a thread
of their own, each bounded by FINEWS_ALERT_TIMEOUT seconds; the crawl waits for them at its close.
A delivery that fails is logged at ERROR and counted, never raised.
Stats: finews/alerts/sent, finews/alerts/failed (one per alert and destination).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import smtplib
import subprocess
import threading
import urllib.request
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from finews_crawler import defaults
from finews_crawler.health import OK_VERDICTS, error_count
from finews_crawler.processes.liveness import this_process
from finews_crawler.signals import runs_killed
from finews_crawler.store.repository import RUN_COUNTS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)

#: The counts an alert carries (crawl_runs columns, crawler stats `finews/<name>`).
#: Longest part of a failing command's stderr put in the log.
STDERR_EXCERPT = 500


class Destination(Protocol):
    """Where alerts go; `send` raises when the alert did not get there."""

    def send(self, alert: Mapping[str, Any], timeout: float) -> None: ...


def _body(alert: Mapping[str, Any]) -> bytes:
    return json.dumps(alert, ensure_ascii=False, sort_keys=True).encode("utf-8")


def subject(alert: Mapping[str, Any]) -> str:
    return f"finews: run {alert['run_id']} of {alert['spider']} is {alert['verdict']}"


class Webhook:
    def __init__(self, url: str) -> None:
        self.url = url

    def __str__(self) -> str:
        # Only the host: a webhook's path often holds its secret token.
        return f"webhook on {urlsplit(self.url).netloc}"

    def send(self, alert: Mapping[str, Any], timeout: float) -> None:
        request = urllib.request.Request(
            self.url,
            data=_body(alert),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        # urlopen raises HTTPError for an answer that is not 2xx/3xx.
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()


class Email:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        user: str = "",
        password: str = "",
        starttls: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.sender, self.recipients = sender, recipients
        self.user, self.password, self.starttls = user, password, starttls

    def __str__(self) -> str:
        return f"email via {self.host}:{self.port} to {', '.join(self.recipients)}"

    def message(self, alert: Mapping[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject(alert)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        counts = ", ".join(f"{name}={value}" for name, value in alert["stats"].items())
        lines = [subject(alert), "", *(f"- {reason}" for reason in alert["reasons"]), ""]
        lines += [f"counts: {counts}", f"host: {alert['host']}", "", _body(alert).decode()]
        message.set_content("\n".join(lines))
        return message

    def send(self, alert: Mapping[str, Any], timeout: float) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(self.message(alert))


class Command:
    def __init__(self, command: str) -> None:
        self.args = shlex.split(command)

    def __str__(self) -> str:
        return f"command {self.args[0]}"

    def send(self, alert: Mapping[str, Any], timeout: float) -> None:
        done = subprocess.run(
            self.args, input=_body(alert), capture_output=True, timeout=timeout, check=False
        )
        if done.returncode:
            stderr = done.stderr.decode("utf-8", "replace").strip()[-STDERR_EXCERPT:]
            raise RuntimeError(f"exit status {done.returncode}: {stderr}")


def destinations(settings: BaseSettings) -> list[Destination]:
    """The destinations the settings configure."""
    found: list[Destination] = []
    if webhook := settings.get("FINEWS_ALERT_WEBHOOK", defaults.ALERT_WEBHOOK):
        found.append(Webhook(webhook))
    if host := settings.get("FINEWS_ALERT_SMTP_HOST", defaults.ALERT_SMTP_HOST):
        recipients = [
            a.strip()
            for a in settings.get("FINEWS_ALERT_EMAIL_TO", defaults.ALERT_EMAIL_TO).split(",")
        ]
        recipients = [address for address in recipients if address]
        sender = settings.get("FINEWS_ALERT_EMAIL_FROM", defaults.ALERT_EMAIL_FROM)
        if not recipients or not sender:
            # The other destinations still get alerts.
            logger.error(
                "No alert emails: FINEWS_ALERT_SMTP_HOST needs FINEWS_ALERT_EMAIL_FROM and"
                " FINEWS_ALERT_EMAIL_TO"
            )
        else:
            found.append(
                Email(
                    host,
                    settings.getint("FINEWS_ALERT_SMTP_PORT", defaults.ALERT_SMTP_PORT),
                    sender,
                    recipients,
                    user=settings.get("FINEWS_ALERT_SMTP_USER", defaults.ALERT_SMTP_USER),
                    password=settings.get(
                        "FINEWS_ALERT_SMTP_PASSWORD", defaults.ALERT_SMTP_PASSWORD
                    ),
                    starttls=settings.getbool(
                        "FINEWS_ALERT_SMTP_STARTTLS", defaults.ALERT_SMTP_STARTTLS
                    ),
                )
            )
    if command := settings.get("FINEWS_ALERT_COMMAND", defaults.ALERT_COMMAND):
        found.append(Command(command))
    return found


def run_alert(stats: Mapping[str, Any], spider: str) -> dict[str, Any]:
    """The alert about this crawl, from its stats (verdict and reasons set by RunHealth)."""
    counts = {
        "pages": stats.get("finews/pages", 0) + stats.get("finews/listing_pages", 0),
        "articles_listed": stats.get("finews/articles_listed", 0),
        "errors": error_count(stats),
    }
    # The other counters of crawl_runs, each from its stat `finews/<name>`.
    counts |= {name: stats.get(f"finews/{name}", 0) for name in RUN_COUNTS if name not in counts}
    started = stats.get("start_time")
    return {
        "spider": spider,
        "run_id": stats.get("finews/run_id"),
        "verdict": stats.get("finews/health/verdict"),
        "reasons": list(stats.get("finews/health/reasons") or []),
        "stats": counts,
        "host": this_process()[0],
        "started_at": started.isoformat() if started is not None else None,
    }


def killed_alert(run: Mapping[str, Any]) -> dict[str, Any]:
    """The alert about a run found killed (a row as `Repository.get_run` gives it)."""
    return {
        "spider": run["spider"],
        "run_id": run["id"],
        "verdict": run["verdict"],
        "reasons": list(run["health_reasons"]),
        "stats": {name: run[name] for name in RUN_COUNTS},
        "host": run["host"],
        "started_at": run["started_at"],
    }


class Alerts:
    """Sends not-healthy verdicts to the configured destinations; see the module docstring."""

    def __init__(self, crawler: Crawler, targets: list[Destination], timeout: float) -> None:
        self.crawler = crawler
        self.targets = targets
        self.timeout = timeout
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finews-alerts")
        self.pending: list[Future[None]] = []
        #: Counted in the alerts thread, applied to the crawler's stats on the event loop.
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Alerts:
        targets = destinations(crawler.settings)
        if not targets:
            # The usual case, not a warning (Scrapy logs a NotConfigured message at WARNING).
            logger.debug("Alerts off: no FINEWS_ALERT_* destination is configured")
            raise NotConfigured
        alerts = cls(
            crawler,
            targets,
            crawler.settings.getfloat("FINEWS_ALERT_TIMEOUT", defaults.ALERT_TIMEOUT),
        )
        crawler.signals.connect(alerts.runs_killed, signal=runs_killed)
        crawler.signals.connect(alerts.spider_closed, signal=signals.spider_closed)
        return alerts

    def runs_killed(self, runs: list[Mapping[str, Any]]) -> None:
        for run in runs:
            self.submit(killed_alert(run))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        verdict = stats.get("finews/health/verdict")
        if verdict is not None and verdict not in OK_VERDICTS:
            self.submit(run_alert(stats, spider.name))
        pending, self.pending = self.pending, []
        await asyncio.gather(*(asyncio.wrap_future(future) for future in pending))
        self.executor.shutdown(wait=False)
        with self.lock:
            for key, count in self.counts.items():
                self.crawler.stats.inc_value(key, count)
            self.counts.clear()

    def submit(self, alert: dict[str, Any]) -> None:
        """Send `alert` in the alerts thread (callable from any thread)."""
        self.pending.append(self.executor.submit(self.deliver, alert))

    def deliver(self, alert: Mapping[str, Any]) -> None:
        """Send `alert` to every destination; a failure is logged and counted, never raised."""
        for target in self.targets:
            try:
                target.send(alert, self.timeout)
            except Exception as exc:
                logger.error(
                    "Could not send the alert about run %s (%s) to %s: %s: %s",
                    alert["run_id"],
                    alert["verdict"],
                    target,
                    type(exc).__name__,
                    exc,
                )
                outcome = "finews/alerts/failed"
            else:
                logger.info("Alert about run %s sent to %s", alert["run_id"], target)
                outcome = "finews/alerts/sent"
            with self.lock:
                self.counts[outcome] += 1
