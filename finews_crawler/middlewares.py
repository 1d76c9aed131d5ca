"""Downloader middleware: Scrapy's retries, with a pause before each one.

Scrapy's own RetryMiddleware re-queues a failed request at once, which hammers a host that is
overloaded (5xx) or asks us to slow down (429). This one waits first: the server's
`Retry-After` when it sends one (capped by FINEWS_RETRY_AFTER_MAX seconds), else an exponential
backoff (FINEWS_RETRY_BACKOFF_BASE * 2**attempt, capped by FINEWS_RETRY_BACKOFF_MAX). Retries
and waits are counted under `finews/retry/...`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import reactor
from twisted.internet.task import deferLater

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("FINEWS_RETRY_AFTER_MAX", 60.0)
        self.backoff_base = settings.getfloat("FINEWS_RETRY_BACKOFF_BASE", 0.5)
        self.backoff_max = settings.getfloat("FINEWS_RETRY_BACKOFF_MAX", 10.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    def backoff_delay(self, request: Request, response: Response | None = None) -> float:
        if response is not None:
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is not None:
                self.crawler.stats.inc_value("finews/retry/retry_after")
                return min(asked, self.retry_after_max)
        attempt = request.meta.get("retry_times", 0)
        return min(self.backoff_base * (2**attempt), self.backoff_max)

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.crawler.stats.inc_value("finews/retry/wait_seconds", seconds)
            await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))

    async def process_response(self, request: Request, response: Response, spider=None):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._pause(self.backoff_delay(request, response))
        return retry

    async def process_exception(self, request: Request, exception: Exception, spider=None):
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions_to_retry):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await self._pause(self.backoff_delay(request))
        return retry
