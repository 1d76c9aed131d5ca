"""Run the crawl's item pipelines without a crawl (archive imports, replays).

`OfflinePipelines` builds a Scrapy `Crawler` from the project settings (no engine, no reactor, no
downloads), instantiates every `ITEM_PIPELINES` component in order through `from_crawler`, and
drives them the way Scrapy's engine and scraper do:

- open: each pipeline's `open_spider`, then the stats collector, then the `spider_opened` signal;
- per item: `process_item` down the chain; `DropItem` (quarantine, duplicate) sends
  `item_dropped`, another exception sends `item_error`, success sends `item_scraped`;
- close: each pipeline's `close_spider` (in reverse order), then `spider_closed`, then stats.

So an imported item meets exactly the validation, normalization, dedupe/merge and store steps a
crawled one does. Pipelines may be plain, return a coroutine (run on a private event loop) or a
Deferred that has already fired.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list
from scrapy.utils.deprecate import argument_is_required
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What became of one item: the item that came out, or why it was dropped or failed."""

    item: Any | None
    dropped: DropItem | None = None
    error: Exception | None = None


class OfflineSpider(Spider):
    """The spider the pipelines see: it requests nothing."""

    name = "import-archive"

    async def start(self) -> Any:  # pragma: no cover - never crawled
        return
        yield


def project_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """The project's settings (`finews_crawler.settings`), with `overrides` on top."""
    settings = Settings()
    settings.setmodule("finews_crawler.settings", priority="project")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


class OfflinePipelines:
    """The project's item pipelines, driven without a crawl (see the module docstring)."""

    def __init__(
        self,
        settings: Settings | None = None,
        spidercls: type[Spider] = OfflineSpider,
        spider_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.crawler = Crawler(spidercls, settings or project_settings())
        self.crawler.stats = load_object(self.crawler.settings["STATS_CLASS"])(self.crawler)
        self.spider = spidercls.from_crawler(self.crawler, **dict(spider_kwargs or {}))
        self.crawler.spider = self.spider
        paths = build_component_list(self.crawler.settings.getwithbase("ITEM_PIPELINES"))
        self.pipelines = [build_from_crawler(load_object(path), self.crawler) for path in paths]
        self._loop: asyncio.AbstractEventLoop | None = None
        self.opened = False

    @property
    def stats(self) -> StatsCollector:
        return self.crawler.stats

    def __enter__(self) -> OfflinePipelines:
        self.open()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close("finished" if exc_type is None else "failed")

    def open(self) -> None:
        for pipeline in self.pipelines:
            if hasattr(pipeline, "open_spider"):
                self._call(pipeline.open_spider)
        self._call(self.stats.open_spider)
        self._send(signals.spider_opened, spider=self.spider)
        self.opened = True

    def process(self, item: Any) -> Outcome:
        """Send one item down the chain, as Scrapy's scraper does."""
        output = item
        try:
            for pipeline in self.pipelines:
                if hasattr(pipeline, "process_item"):
                    output = self._call(pipeline.process_item, output)
        except DropItem as exc:
            self.stats.inc_value("item_dropped_count")
            self._send(
                signals.item_dropped, item=item, response=None, spider=self.spider, exception=exc
            )
            return Outcome(None, dropped=exc)
        except Exception as exc:
            logger.exception("error processing %r", getattr(item, "url", item))
            self._send(
                signals.item_error, item=item, response=None, spider=self.spider, failure=Failure()
            )
            return Outcome(None, error=exc)
        self.stats.inc_value("item_scraped_count")
        self._send(signals.item_scraped, item=output, response=None, spider=self.spider)
        return Outcome(output)

    def send(self, signal: object, **kwargs: Any) -> None:
        """Send a project signal (e.g. `page_quarantined`) as a spider would."""
        self._send(signal, **kwargs)

    def close(self, reason: str = "finished") -> None:
        if not self.opened:
            return
        self.opened = False
        try:
            for pipeline in reversed(self.pipelines):
                if hasattr(pipeline, "close_spider"):
                    try:
                        self._call(pipeline.close_spider)
                    except Exception:
                        logger.exception("error closing %s", type(pipeline).__name__)
                        reason = "failed"
            self._send(signals.spider_closed, spider=self.spider, reason=reason)
            self._call(self.stats.close_spider, reason=reason)
        finally:
            if self._loop is not None:
                self._loop.close()
                self._loop = None

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a component method (with the spider if it requires one); wait for its result."""
        if _wants_spider(method):
            kwargs["spider"] = self.spider
        return self._resolve(method(*args, **kwargs))

    def _resolve(self, result: Any) -> Any:
        if inspect.isawaitable(result) and not isinstance(result, Deferred):
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._resolve(self._loop.run_until_complete(_await(result)))
        if isinstance(result, Deferred):
            outcome: list[Any] = []
            result.addBoth(outcome.append)
            if not outcome:
                raise RuntimeError("a pipeline returned a Deferred that needs a reactor")
            if isinstance(outcome[0], Failure):
                outcome[0].raiseException()
            return self._resolve(outcome[0])
        return result

    def _send(self, signal: object, **kwargs: Any) -> None:
        for receiver, response in self.crawler.signals.send_catch_log(signal, **kwargs):
            if isinstance(response, Failure):
                logger.error("signal handler %r failed: %s", receiver, response.getErrorMessage())
            elif inspect.isawaitable(response) or isinstance(response, Deferred):
                self._resolve(response)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _wants_spider(method: Callable[..., Any]) -> bool:
    """True when the method requires a `spider` argument (only then does Scrapy pass it)."""
    try:
        return argument_is_required(method, "spider")
    except (TypeError, ValueError):
        return False
