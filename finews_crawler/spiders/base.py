"""The crawl policy shared by every finews spider: what to fetch next, never what a page says.

Subclasses say which listing pages to start from and which categories and articles they want;
this class reads listings, requests articles, follows share links and hands items on. Pages are
parsed by `finews_crawler.parsing`, kept or dropped by the pipelines.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from finews_crawler import defaults, site
from finews_crawler.items import ArticleItem
from finews_crawler.parsing.listing import parse_listing
from finews_crawler.parsing.readers import LayoutRefused
from finews_crawler.parsing.share import read_share_page
from finews_crawler.processes.parser_pool import ParserPool
from finews_crawler.signals import page_quarantined

if TYPE_CHECKING:
    from finews_crawler.distributed import Frontier

logger = logging.getLogger(__name__)

#: Listing pages outrank articles so that an article is first requested from its category page
#: (which names its category) rather than from the front page or the feed.
LISTING_PRIORITY = 10


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class FinewsSpider(scrapy.Spider):
    """Base spider. Arguments: `refresh=1` re-fetches stored articles; `run_id=ID` names the run."""

    def __init__(self, *args: Any, refresh: str = "0", run_id: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.refresh = _truthy(refresh)
        self.run_id = run_id
        self.requested_articles: set[str] = set()
        self.stored_pages: frozenset[str] = frozenset()
        self.stored_categories: frozenset[str] = frozenset()
        #: Article pages waiting for the window (path, listing category), and those let out.
        self.pending_articles: deque[tuple[str, str | None]] = deque()
        self.articles_in_flight = 0
        #: The shared frontier of a run spread over several workers (FINEWS_REDIS_URL, see
        #: docs/distributed.md), set when it opens; None in a crawl of one process.
        self.frontier: Frontier | None = None

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base_url = settings.get("FINEWS_BASE_URL", defaults.BASE_URL).rstrip("/")
        spider.share_base_url = (
            settings.get("FINEWS_SHARE_BASE_URL", defaults.SHARE_BASE_URL) or None
        )
        spider.follow_share = settings.getbool("FINEWS_FOLLOW_SHARE", defaults.FOLLOW_SHARE)
        spider.share_timeout = settings.getfloat("FINEWS_SHARE_TIMEOUT", defaults.SHARE_TIMEOUT)
        spider.article_window = settings.getint("FINEWS_ARTICLE_WINDOW", defaults.ARTICLE_WINDOW)
        spider.parser = ParserPool(
            settings.getint("FINEWS_PARSER_PROCESSES", defaults.PARSER_PROCESSES)
        )
        crawler.signals.connect(spider.close_parser, signal=signals.spider_closed)
        crawler.signals.connect(spider.release_on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.article_dropped, signal=signals.request_dropped)
        return spider

    def others_busy(self) -> bool:
        """Whether other workers of a shared run may still list pages (never in one process).

        Ask before requesting what was held back until the crawl is idle: asking tells the
        other workers that this one still holds requests, so they stay open for them.
        """
        return self.frontier is not None and self.frontier.others_busy()

    # -- policy hooks for subclasses ---------------------------------------------------------

    def start_paths(self) -> Iterable[str]:
        raise NotImplementedError

    def wants_category(self, slug: str) -> bool:
        return False

    def wants_article(self, path: str) -> bool:
        return True

    # -- requests ----------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        return site.site_url(path, self.base_url)

    def listing_request(self, path: str, category: str | None = None, **meta: Any) -> Request:
        return Request(
            self.url_for(path),
            callback=self.parse_listing,
            errback=self.page_failed,
            priority=LISTING_PRIORITY,
            meta={"listing_category": category, **meta},
        )

    async def start(self) -> Any:
        for path in self.start_paths():
            yield self.listing_request(path, category=site.listing_category(path))

    def set_stored_state(self, categories: Iterable[str], pages: Iterable[str]) -> None:
        """What the database already holds, given as the spider opens (by the
        `finews_crawler.extensions.StoredState` extension: a spider never reads the store).

        Stored article pages are not fetched again (a cron rerun costs only the listings), unless
        `refresh`; the categories seen before are crawled again.
        """
        self.stored_categories = frozenset(categories)
        self.stored_pages = frozenset() if self.refresh else frozenset(pages)
        self.crawler.stats.set_value("finews/stored_pages_at_start", len(self.stored_pages))

    def queue_article(self, path: str, listing_category: str | None) -> None:
        """Queue an article page once per run, unless it is already stored."""
        if path in self.requested_articles or not self.wants_article(path):
            return
        self.requested_articles.add(path)
        self.crawler.stats.inc_value("finews/articles_listed")
        if path in self.stored_pages:
            self.crawler.stats.inc_value("finews/articles_skipped_stored")
            return
        self.pending_articles.append((path, listing_category))

    def release_articles(self) -> Iterator[Request]:
        """Requests for queued articles, keeping at most FINEWS_ARTICLE_WINDOW of them in the
        scheduler: a listing of 30,000 links costs 30,000 short strings, not 30,000 Requests.
        A shared run (Redis) keeps its frontier in Redis, so it releases everything."""
        window = self.article_window if self.frontier is None else None
        while self.pending_articles and (window is None or self.articles_in_flight < window):
            path, category = self.pending_articles.popleft()
            self.articles_in_flight += 1
            yield Request(
                self.url_for(path),
                callback=self.parse_article,
                errback=self.page_failed,
                meta={"listing_categories": category.split() if category else [], "article": True},
            )

    def article_settled(self) -> None:
        self.articles_in_flight = max(0, self.articles_in_flight - 1)

    def article_dropped(self, request: Request) -> None:
        """The scheduler refused an article request (a duplicate): it will never come back."""
        if request.meta.get("article"):
            self.article_settled()

    def schedule_released(self) -> None:
        """From an idle handler: schedule what the window lets out, and stay open for it."""
        requests = list(self.release_articles())
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def release_on_idle(self) -> None:
        self.articles_in_flight = 0  # idle: nothing is in flight, whatever was counted
        self.schedule_released()

    # -- callbacks ---------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Request]:
        """Read a listing page (category page, `/`, `/emnews/` or the feed) and follow it."""
        self.crawler.stats.inc_value("finews/listing_pages")
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("finews/listing_not_text")
            return
        listing = parse_listing(response.text, response.url, self.base_url)
        yield from self.follow_categories(listing.category_slugs)
        yield from self.follow_articles(
            listing.article_paths, response.meta.get("listing_category")
        )

    def follow_articles(self, paths: Iterable[str], category: str | None) -> Iterator[Request]:
        for path in paths:
            self.queue_article(path, category)
        yield from self.release_articles()

    def follow_categories(self, slugs: Iterable[str]) -> Iterator[Request]:
        for slug in slugs:
            if self.wants_category(slug):
                yield self.listing_request(site.category_path(slug), category=slug)

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        """Parse one article page into an item; follow its share link and its category."""
        self.article_settled()
        for request in self.release_articles():
            yield request
        stats = self.crawler.stats
        stats.inc_value("finews/pages")
        if not isinstance(response, TextResponse):
            stats.inc_value("finews/pages_not_text")
            yield self.unparsable(response, "not a text document")
            return
        listing_categories = response.meta.get("listing_categories") or []
        try:
            item = await self.parser.parse_article(response.text, response.url, listing_categories)
        except LayoutRefused as exc:  # an article URL, but the page is in no layout we read
            stats.inc_value("finews/layout_refused")
            logger.warning("layout refused: %s: %s", response.url, exc)
            self.crawler.signals.send_catch_log(
                page_quarantined,
                url=urlsplit(response.url).path,
                reason=str(exc),
                excerpt=response.text[:500],
            )
            return
        except Exception as exc:  # e.g. binary garbage served as HTML: recorded, not a crash
            stats.inc_value("finews/pages_unparsable")
            logger.warning("could not parse %s: %s: %s", response.url, type(exc).__name__, exc)
            yield self.unparsable(response, f"parse error: {type(exc).__name__}: {exc}"[:300])
            return
        if item is None:
            stats.inc_value("finews/pages_not_article")
            return
        stats.inc_value(f"finews/layout/{item.layout}")
        item.crawled_at = datetime.now(UTC).isoformat(timespec="seconds")
        for request in self.follow_categories(
            [" ".join(item.categories)] if item.categories else []
        ):
            yield request
        share_request = self.share_request(item)
        if share_request is None:
            yield item
        else:
            yield share_request

    async def close_parser(self) -> None:
        await self.parser.close()
        self.crawler.stats.set_value("finews/parser/processes_started", self.parser.started)
        self.crawler.stats.set_value("finews/parser/restarts", self.parser.restarts)

    def unparsable(self, response: Response, reason: str) -> ArticleItem:
        """An item that validation will quarantine, so the page is recorded, not lost."""
        path = urlsplit(response.url).path
        return ArticleItem(
            info_code=site.info_code_from_path(path),
            url=path,
            name=site.post_name_from_path(path),
            title="",
            published_at=None,
            parse_error=reason,
        )

    def page_failed(self, failure: Failure) -> Iterator[Request]:
        """A listing or article page that failed after its retries: recorded with its reason.

        It is not stored, so the next run requests it again.
        """
        if failure.request.meta.get("article"):
            self.article_settled()
            yield from self.release_articles()
        response = getattr(failure.value, "response", None)
        reason = f"http {response.status}" if response is not None else failure.type.__name__
        self.crawler.stats.inc_value("finews/errors")
        self.crawler.stats.inc_value(f"finews/fetch_failed/{reason}")
        logger.warning("fetch failed: %s (%s)", failure.request.url, reason)
        self.crawler.signals.send_catch_log(
            page_quarantined,
            url=urlsplit(failure.request.url).path,
            reason=f"fetch failed: {reason}",
            excerpt=str(failure.value)[:500],
        )

    # -- share links -------------------------------------------------------------------------

    def share_request(self, item: ArticleItem) -> Request | None:
        if not (self.follow_share and item.share_url):
            return None
        url = site.share_request_url(item.share_url, self.share_base_url)
        if url is None:
            item.share_status = "skipped: not a share link"
            return None
        # dont_filter: two pages of one article share one link, and each item must come back.
        return Request(
            url,
            callback=self.parse_share,
            errback=self.share_failed,
            dont_filter=True,
            meta={
                "item": item,
                "download_timeout": self.share_timeout,
                "max_retry_times": 1,
                "handle_httpstatus_all": True,
                # The live share host is gone: its failures are expected, not errors, and a
                # dead host has no robots.txt to fetch first.
                "give_up_log_level": logging.INFO,
                "dont_obey_robotstxt": True,
            },
        )

    def parse_share(self, response: Response) -> Iterator[ArticleItem]:
        """Put what the share host said on the item (read by `parsing.share`), then emit it."""
        item: ArticleItem = response.meta["item"]
        self.crawler.stats.inc_value(f"finews/share/status/{response.status}")
        # Only a page that was served is read: an error page is not decoded for nothing.
        served = response.status == 200 and isinstance(response, TextResponse)
        document = response.text if served else None
        share = read_share_page(response.status, document)
        item.share_status, item.share_title, item.share_text = share.status, share.title, share.text
        yield item

    def share_failed(self, failure: Failure) -> Iterator[ArticleItem]:
        """The share host did not answer: the article is kept all the same."""
        item: ArticleItem = failure.request.meta["item"]
        item.share_status = f"error: {failure.type.__name__}"
        self.crawler.stats.inc_value(f"finews/share/error/{failure.type.__name__}")
        yield item
