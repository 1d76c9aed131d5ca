"""The add-on that turns a crawl into a worker of a shared run when FINEWS_REDIS_URL is set.

Listed in `ADDONS` in `finews_crawler.settings`; off (Scrapy's own scheduler and dupefilter)
while the URL is empty. docs/distributed.md describes the run it joins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from finews_crawler import defaults

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

SCHEDULER = "finews_crawler.distributed.scheduler.RedisScheduler"
DUPEFILTER = "scrapy_redis.dupefilter.RFPDupeFilter"


class RedisFrontier:
    """Add-on: share the scheduler and dupefilter through Redis when FINEWS_REDIS_URL is set.

    Settings it writes (at add-on priority, so `-s` still wins): `SCHEDULER`, `DUPEFILTER_CLASS`
    and `REDIS_URL`. scrapy-redis's `SCHEDULER_PERSIST`, `SCHEDULER_FLUSH_ON_START`,
    `SCHEDULER_IDLE_BEFORE_CLOSE`, `SCHEDULER_QUEUE_KEY`, `SCHEDULER_DUPEFILTER_KEY` and
    `SCHEDULER_QUEUE_CLASS` are not used: run ids, FINEWS_REDIS_KEY and the close protocol
    (docs/distributed.md) replace them. `SCHEDULER_SERIALIZER` and `REDIS_PARAMS` are honoured.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        url = str(settings.get("FINEWS_REDIS_URL") or defaults.REDIS_URL).strip()
        if not url:
            raise NotConfigured  # off: Scrapy's own scheduler and dupefilter
        settings.set("REDIS_URL", url, priority="addon")
        settings.set("SCHEDULER", SCHEDULER, priority="addon")
        settings.set("DUPEFILTER_CLASS", DUPEFILTER, priority="addon")
