"""Scrapy extensions of finews-crawler.

`GarbageCollectionTuning`: a crawl allocates short-lived objects per request (requests,
responses, deferreds) and Python's collector runs every 700 allocations, each time walking what
survived the last one; with Scrapy, Twisted, lxml and SQLAlchemy loaded, that was ~10% of a
crawl's CPU (bench/). At engine start the extension freezes everything loaded so far (it is
never garbage: modules, settings, the ORM's tables) so collections no longer walk it, and raises
the first generation's threshold to FINEWS_GC_GEN0_THRESHOLD (0 keeps Python's).
Stats: finews/gc/frozen (objects frozen).
"""

from __future__ import annotations

import gc

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from finews_crawler import defaults


class GarbageCollectionTuning:
    def __init__(self, crawler: Crawler, gen0_threshold: int) -> None:
        self.crawler = crawler
        self.gen0_threshold = gen0_threshold
        self.saved_thresholds = gc.get_threshold()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GarbageCollectionTuning:
        if not crawler.settings.getbool("FINEWS_GC_TUNING", defaults.GC_TUNING):
            raise NotConfigured("FINEWS_GC_TUNING is off")
        tuning = cls(
            crawler,
            crawler.settings.getint("FINEWS_GC_GEN0_THRESHOLD", defaults.GC_GEN0_THRESHOLD),
        )
        crawler.signals.connect(tuning.engine_started, signal=signals.engine_started)
        crawler.signals.connect(tuning.engine_stopped, signal=signals.engine_stopped)
        return tuning

    def engine_started(self) -> None:
        gc.collect()
        gc.freeze()
        self.crawler.stats.set_value("finews/gc/frozen", gc.get_freeze_count())
        if self.gen0_threshold > 0:
            gc.set_threshold(self.gen0_threshold, *self.saved_thresholds[1:])

    def engine_stopped(self) -> None:
        """Leave the interpreter as it was (several crawls may run in one process)."""
        gc.set_threshold(*self.saved_thresholds)
        gc.unfreeze()
