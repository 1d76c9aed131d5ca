"""The default of every `FINEWS_*` setting, in one place (as `scrapy_redis/defaults.py` keeps its).

`finews_crawler.settings` publishes these (an environment variable of the same name overrides
each), and every component that reads a setting falls back to the constant here, so a crawl
started with bare `Settings()` (tests, tools) behaves like one started from the project. What
each setting means is documented in the README ("Settings").
"""

from __future__ import annotations

import os

from finews_crawler.site import DEFAULT_BASE_URL

#: Parsing and database writes get processes of their own only where there is a core for them.
MULTI_CORE = (os.cpu_count() or 1) > 1

# --- What to crawl --------------------------------------------------------------------------
BASE_URL = DEFAULT_BASE_URL
SHARE_BASE_URL = ""
FOLLOW_SHARE = True
SHARE_TIMEOUT = 10.0
ARTICLE_WINDOW = 500
PARSER_PROCESSES = 1 if MULTI_CORE else 0

# --- Where it goes --------------------------------------------------------------------------
DATABASE_URL = "sqlite:///data/finews.sqlite3"
STORE_BATCH_SIZE = 100
STORE_PROCESS = MULTI_CORE
STORE_MAX_PENDING = 4
STORE_RETRIES = 3
STORE_RETRY_DELAY = 0.5
#: Milliseconds a SQLite connection waits for another writer's lock before failing (read from
#: the environment by the store's engine, which commands use too, not from Scrapy settings).
SQLITE_BUSY_TIMEOUT_MS = 15_000
SPOOL_DIR = "data/spool"
FEED_UNIQUE = True
MAX_BODY_CHARS = 2_000_000

# --- Run health -----------------------------------------------------------------------------
MAX_ERROR_RATIO = 0.2
MIN_LISTED_RATIO = 0.5
MIN_COVERAGE_RATIO = 0.5

# --- Politeness and retries -----------------------------------------------------------------
RETRY_AFTER_MAX = 60.0
RETRY_BACKOFF_BASE = 0.5
RETRY_BACKOFF_MAX = 10.0
USER_AGENT = "finews-crawler/0.1 (+https://github.com/finews-crawler; news archiving bot)"
LOG_LEVEL = "INFO"

# --- Crawl process tuning -------------------------------------------------------------------
GC_TUNING = True
GC_GEN0_THRESHOLD = 100_000

# --- What a person sees -----------------------------------------------------------------------
#: auto: live progress only when stderr is a terminal (never under cron or in a pipe); on; off.
PROGRESS = "auto"
PROGRESS_INTERVAL = 0.5

# --- Several workers (Redis) ----------------------------------------------------------------
REDIS_URL = ""
#: Every key of a shared run is built from this one pattern.
REDIS_KEY = "finews:%(run_id)s:%(name)s"
REDIS_KEY_TTL = 24 * 3600
REDIS_HEARTBEAT = 1.0
REDIS_WORKER_TIMEOUT = 60.0
REDIS_DONE_TTL = 3600
