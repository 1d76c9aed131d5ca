"""A crawl shared by several worker processes through Redis (scrapy-redis), switched on by
FINEWS_REDIS_URL.

Workers started with the same run id (`-a run_id=ID`) share one request queue and dupefilter,
all under keys built from FINEWS_REDIS_KEY; each records its state in the run's `workers` hash,
and the run closes when the queue is empty and no worker is busy; the last worker out deletes
the keys. docs/distributed.md describes the protocol, the keys and how the run closes.

One module per concept, as scrapy-redis is laid out: `addon` (`RedisFrontier`, listed in
`ADDONS`), `scheduler` (`RedisScheduler`), `queue` (`WorkerQueue`), `workers` (`WorkerRegistry`),
`keys` (run ids, `RunKeys`), `frontier` (`Frontier`, what a spider sees of the run); the
defaults are in `finews_crawler.defaults`. The names below import neither Scrapy nor Redis.
"""

from finews_crawler.distributed.frontier import RUN_ALREADY_DONE, Frontier
from finews_crawler.distributed.keys import RunKeys, check_run_id, fresh_run_id, run_keys

__all__ = ["RUN_ALREADY_DONE", "Frontier", "RunKeys", "check_run_id", "fresh_run_id", "run_keys"]
