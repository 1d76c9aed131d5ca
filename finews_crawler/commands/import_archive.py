"""`finews import-archive [--database-url URL] PATH...`: the site's archive of Jekyll posts in.

Runs the archive spider (`finews_crawler.spiders.archive`: posts are files, or folders searched
recursively for `*.md`) on Scrapy's engine, so every post goes through the same item pipelines as
a crawl (validation, normalization, dedupe/merge, store), and the import is one crawl run with
its stats and run-health verdict. It runs in an asyncio event loop without a Twisted reactor
(`TWISTED_REACTOR_ENABLED=False`), so one process may import several times (the tests do). The
run is recorded under the spider name `import-archive`, as imports always were.

A post that cannot be read is reported on stderr with its file name and reason and recorded in
quarantine, as is a post that validation refuses; the import goes on. Scrapy's own log shows
errors only (the report is the command's output). Exit status 0 when at least one post was
imported, else 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from finews_crawler.signals import page_quarantined
from finews_crawler.spiders.archive import ArchiveSpider
from pipelines.errors import DuplicateItem, QuarantineItem

#: The spider name import runs are recorded under (`crawl_runs.spider`, `finews runs`).
RUN_NAME = "import-archive"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="post files or folders of posts")


@dataclass
class ImportResult:
    """Posts stored (new or merged into a stored article), quarantined, failed, unreadable."""

    imported: int = 0
    quarantined: int = 0
    failed: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)


class ImportReport:
    """Counts what became of the posts from the crawl's signals and stats, and reports the bad
    ones. Stored items are counted from the stats (`item_scraped_count`): a handler of
    `item_scraped` would cost a task per post."""

    def __init__(self) -> None:
        self.result = ImportResult()
        self.spider: ArchiveSpider | None = None

    def spider_opened(self, spider: ArchiveSpider) -> None:
        self.spider = spider

    def spider_closed(self, spider: ArchiveSpider) -> None:
        self.result.imported += spider.crawler.stats.get_value("item_scraped_count", 0)

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        if isinstance(exception, QuarantineItem):
            self.result.quarantined += 1
            source = self.spider.source_of(item) if self.spider else None
            print(f"{source or exception.url}: quarantined: {exception.reason}", file=sys.stderr)
        elif isinstance(exception, DuplicateItem):  # a later page, merged into its article
            self.result.imported += 1

    def item_error(self, item: Any) -> None:
        self.result.failed += 1

    def page_quarantined(self, url: str, reason: str, excerpt: str | None = None) -> None:
        self.result.unreadable.append((url, reason))
        print(f"{url}: {reason}", file=sys.stderr)


def import_posts(
    paths: Iterable[str | Path],
    database_url: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ImportResult:
    """Import posts through the archive spider into the store at `database_url`.

    `settings` override project settings (as `-s NAME=value` would for a crawl).
    """
    crawl_settings = Settings()
    crawl_settings.setmodule("finews_crawler.settings", priority="project")
    crawl_settings.set("TWISTED_REACTOR_ENABLED", False, priority="cmdline")
    crawl_settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    if database_url:
        crawl_settings.set("FINEWS_DATABASE_URL", database_url, priority="cmdline")
    for name, value in (settings or {}).items():
        crawl_settings.set(name, value, priority="cmdline")
    report = ImportReport()
    process = AsyncCrawlerProcess(crawl_settings)
    crawler = process.create_crawler(ArchiveSpider)
    # Connected before the spider exists, so these run before its own handlers of the same
    # signals (it forgets an item's file when it sees the item leave the pipelines).
    for handler, signal_ in (
        (report.spider_opened, signals.spider_opened),
        (report.spider_closed, signals.spider_closed),
        (report.item_dropped, signals.item_dropped),
        (report.item_error, signals.item_error),
        (report.page_quarantined, page_quarantined),
    ):
        crawler.signals.connect(handler, signal=signal_)
    process.crawl(crawler, path=[str(path) for path in paths], name=RUN_NAME)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        process.start()
    finally:
        for sig, handler in saved.items():  # Scrapy's shutdown handlers end with the crawl
            signal.signal(sig, handler)
    return report.result


def run(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not Path(path).exists()]
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    paths = [p for p in args.paths if p not in missing]
    result = import_posts(paths, args.database_url) if paths else ImportResult()
    print(
        f"imported {result.imported} posts; {result.quarantined} quarantined, "
        f"{len(result.unreadable)} unreadable, {result.failed} failed"
    )
    return 0 if result.imported else 1
