"""Downloader middleware: Scrapy's retries, with a pause before each one.

Scrapy's own RetryMiddleware re-queues a failed request at once, which hammers a host that is
overloaded (5xx) or asks us to slow down (429). This one waits first: the server's
`Retry-After` when it sends one (capped by FINEWS_RETRY_AFTER_MAX seconds), else an exponential
backoff (FINEWS_RETRY_BACKOFF_BASE * 2**attempt, capped by FINEWS_RETRY_BACKOFF_MAX). Retries
and waits are counted under `finews/retry/...`.

Also: `SiteOnlyMiddleware` refuses requests off the site (a redirect to another host), and
`SiteRedirectMiddleware` keeps a redirect to the same URL from being dropped as a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import is_asyncio_available
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

from finews_crawler import defaults, site

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
        self.retry_after_max = settings.getfloat("FINEWS_RETRY_AFTER_MAX", defaults.RETRY_AFTER_MAX)
        self.backoff_base = settings.getfloat(
            "FINEWS_RETRY_BACKOFF_BASE", defaults.RETRY_BACKOFF_BASE
        )
        self.backoff_max = settings.getfloat("FINEWS_RETRY_BACKOFF_MAX", defaults.RETRY_BACKOFF_MAX)

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
            if is_asyncio_available():
                await asyncio.sleep(seconds)
                return
            # Imported only here: importing the reactor installs one, and a run without a
            # reactor (`finews import-archive`) loads this module too.
            from twisted.internet import reactor

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


def _origin(url: str) -> tuple[str, int | None]:
    """(host, port) of a URL, the port made explicit for http and https."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "", None
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.hostname or "").lower(), port


class OffsiteRequest(IgnoreRequest):
    """A request (often a redirect) to a host that is neither the site nor the share host."""


class SiteOnlyMiddleware:
    """Drop every request that is not for FINEWS_BASE_URL or the share host (redirects included).

    The spiders never link off-site, but a server may redirect anywhere; Scrapy's own
    OffsiteMiddleware lets `dont_filter` requests (share links) through and ignores ports. The
    request's errback gets `OffsiteRequest`, so the page is recorded as failed, not lost.
    Allowed: the origin of FINEWS_BASE_URL, and of FINEWS_SHARE_BASE_URL when set, else the
    share link hosts (`site.SHARE_HOSTS`). Counted under `finews/offsite_refused`.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        base = settings.get("FINEWS_BASE_URL") or defaults.BASE_URL
        self.origins = {_origin(base)}
        share = settings.get("FINEWS_SHARE_BASE_URL", defaults.SHARE_BASE_URL)
        self.share_hosts: frozenset[str] = frozenset()
        if share:
            self.origins.add(_origin(share))
        else:
            self.share_hosts = site.SHARE_HOSTS

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteOnlyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider=None) -> None:
        host, port = _origin(request.url)
        if (host, port) in self.origins or host in self.share_hosts:
            return
        self.stats.inc_value("finews/offsite_refused")
        logger.warning("Refused a request off the site: %s", request.url)
        raise OffsiteRequest(f"not on the site: {host}:{port}")


class SiteRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, except that a redirect to the same URL is not dropped as a duplicate.

    The dupefilter would silently discard it (no errback: the page would be neither fetched nor
    recorded); here it is re-requested until REDIRECT_MAX_TIMES, after which the errback gets
    IgnoreRequest and the page is recorded as failed.
    """

    def _redirect(self, redirected: Request, request: Request, reason):  # type: ignore[override]
        result = super()._redirect(redirected, request, reason)
        if result.url == request.url:
            result.dont_filter = True
        return result
