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
#: The archive spider's batch size (a custom setting of the spider: above the environment, below
#: `scrapy crawl -s`): an archive's posts all arrive at once, and the writer's CPU per post fell
#: by a fifth from 100 to 500 (bench/archive.py). Fewer such batches wait for the writer, so
#: memory stays near what it was (268 -> 281 MiB with the child processes).
ARCHIVE_STORE_BATCH_SIZE = 500
ARCHIVE_STORE_MAX_PENDING = 2
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
#: A run still `running` on another host (whose process cannot be seen) is taken for killed once
#: it is this many seconds old; on this host a run's process is checked directly.
STALE_RUN_AGE = 24 * 3600.0

# --- Alerts (finews_crawler.alerts): every destination is off until configured -------------
ALERT_WEBHOOK = ""
ALERT_SMTP_HOST = ""
ALERT_SMTP_PORT = 25
ALERT_SMTP_USER = ""
ALERT_SMTP_PASSWORD = ""
ALERT_SMTP_STARTTLS = False
ALERT_EMAIL_FROM = ""
ALERT_EMAIL_TO = ""
ALERT_COMMAND = ""
#: Seconds one delivery (to one destination) may take.
ALERT_TIMEOUT = 10.0

# --- Politeness and retries -----------------------------------------------------------------
RETRY_AFTER_MAX = 60.0
RETRY_BACKOFF_BASE = 0.5
RETRY_BACKOFF_MAX = 10.0
USER_AGENT = "finews-crawler/0.1 (+https://github.com/finews-crawler; news archiving bot)"
LOG_LEVEL = "INFO"

# --- Operation: lock, logs, dead-man's switch -------------------------------------------------
#: The lock `finews crawl` holds while it runs (`finews db restore` takes it too).
CRAWL_LOCK_FILE = "data/finews-crawl.lock"
#: `finews crawl` keeps at most this many crawl logs (`<spider>-<time>.log`) in its log folder,
#: and at most this many bytes of them, deleting the oldest first; 0 turns a limit off.
LOG_KEEP = 1000
LOG_MAX_BYTES = 256 * 1024 * 1024
#: `finews status`: the spool is not draining when a file has waited longer than this (seconds);
#: articles and quarantine entries of the last day are set against this many days before it.
STATUS_SPOOL_MAX_AGE = 3600
STATUS_BASELINE_DAYS = 7

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
