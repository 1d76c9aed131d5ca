"""Scrapy settings for finews-crawler.

Every `FINEWS_*` setting has a default here and may also be given as an environment variable of
the same name (the environment wins over this file, `-s NAME=value` wins over both). The
defaults themselves live in `finews_crawler.defaults`; the README documents each one.
"""

from __future__ import annotations

import os

from finews_crawler import defaults


def _env(name: str, default):
    return os.environ.get(name, default)


BOT_NAME = "finews_crawler"
SPIDER_MODULES = ["finews_crawler.spiders"]
NEWSPIDER_MODULE = "finews_crawler.spiders"

# --- What to crawl --------------------------------------------------------------------------
#: Root of the site; links on any of the site's host names are mapped onto it.
FINEWS_BASE_URL = _env("FINEWS_BASE_URL", defaults.BASE_URL)
#: Fetch share links here instead of on their own host (mirrors, tests). Empty: their own host.
FINEWS_SHARE_BASE_URL = _env("FINEWS_SHARE_BASE_URL", defaults.SHARE_BASE_URL)
#: Article requests let out to the scheduler at once; the rest wait as paths (bounded memory).
FINEWS_ARTICLE_WINDOW = _env("FINEWS_ARTICLE_WINDOW", defaults.ARTICLE_WINDOW)
#: Child processes that parse article pages, so parsing runs on other cores than the crawl's
#: event loop (bench/: the full crawl goes from ~70% to ~85% of a link-only crawl's page rate).
#: 0 parses in the crawl process. Default: 1 on a machine with more than one core, else 0.
FINEWS_PARSER_PROCESSES = _env("FINEWS_PARSER_PROCESSES", defaults.PARSER_PROCESSES)
#: Follow share links at all (the live share host is gone; the article never waits on it).
FINEWS_FOLLOW_SHARE = _env("FINEWS_FOLLOW_SHARE", defaults.FOLLOW_SHARE)
#: Seconds a share request may take before the article is kept without it.
FINEWS_SHARE_TIMEOUT = _env("FINEWS_SHARE_TIMEOUT", defaults.SHARE_TIMEOUT)

# --- Where it goes --------------------------------------------------------------------------
FINEWS_DATABASE_URL = _env("FINEWS_DATABASE_URL", defaults.DATABASE_URL)
#: Items per database transaction.
FINEWS_STORE_BATCH_SIZE = _env("FINEWS_STORE_BATCH_SIZE", defaults.STORE_BATCH_SIZE)
#: Write batches in a writer process, off the crawl's core (a batch it cannot write is written in
#: the crawl process instead). Default: on a machine with more than one core.
FINEWS_STORE_PROCESS = _env("FINEWS_STORE_PROCESS", defaults.STORE_PROCESS)
#: Batches in flight to the writer process before items wait for one to land.
FINEWS_STORE_MAX_PENDING = _env("FINEWS_STORE_MAX_PENDING", defaults.STORE_MAX_PENDING)
#: Attempts, and the first pause in seconds (doubling), for a database write that failed.
FINEWS_STORE_RETRIES = _env("FINEWS_STORE_RETRIES", defaults.STORE_RETRIES)
FINEWS_STORE_RETRY_DELAY = _env("FINEWS_STORE_RETRY_DELAY", defaults.STORE_RETRY_DELAY)
#: A run whose errors exceed this share of its pages is recorded (and exits) as failed.
FINEWS_MAX_ERROR_RATIO = _env("FINEWS_MAX_ERROR_RATIO", defaults.MAX_ERROR_RATIO)
#: Run health (finews_crawler.health): a run whose listings link fewer articles than this share
#: of the recent runs' median, or whose field coverage falls below this share of theirs.
FINEWS_MIN_LISTED_RATIO = _env("FINEWS_MIN_LISTED_RATIO", defaults.MIN_LISTED_RATIO)
FINEWS_MIN_COVERAGE_RATIO = _env("FINEWS_MIN_COVERAGE_RATIO", defaults.MIN_COVERAGE_RATIO)
#: Seconds after which a run still `running` on another host is taken for killed (on this host
#: the run's process is checked directly).
FINEWS_STALE_RUN_AGE = _env("FINEWS_STALE_RUN_AGE", defaults.STALE_RUN_AGE)
#: Alerts (finews_crawler.alerts): where a run that is not healthy, and a run found killed, is
#: reported: a webhook (JSON POST), an email through an SMTP server, a command (JSON on stdin).
FINEWS_ALERT_WEBHOOK = _env("FINEWS_ALERT_WEBHOOK", defaults.ALERT_WEBHOOK)
FINEWS_ALERT_SMTP_HOST = _env("FINEWS_ALERT_SMTP_HOST", defaults.ALERT_SMTP_HOST)
FINEWS_ALERT_SMTP_PORT = _env("FINEWS_ALERT_SMTP_PORT", defaults.ALERT_SMTP_PORT)
FINEWS_ALERT_SMTP_USER = _env("FINEWS_ALERT_SMTP_USER", defaults.ALERT_SMTP_USER)
FINEWS_ALERT_SMTP_PASSWORD = _env("FINEWS_ALERT_SMTP_PASSWORD", defaults.ALERT_SMTP_PASSWORD)
FINEWS_ALERT_SMTP_STARTTLS = _env("FINEWS_ALERT_SMTP_STARTTLS", defaults.ALERT_SMTP_STARTTLS)
FINEWS_ALERT_EMAIL_FROM = _env("FINEWS_ALERT_EMAIL_FROM", defaults.ALERT_EMAIL_FROM)
FINEWS_ALERT_EMAIL_TO = _env("FINEWS_ALERT_EMAIL_TO", defaults.ALERT_EMAIL_TO)
FINEWS_ALERT_COMMAND = _env("FINEWS_ALERT_COMMAND", defaults.ALERT_COMMAND)
#: Seconds one delivery to one destination may take.
FINEWS_ALERT_TIMEOUT = _env("FINEWS_ALERT_TIMEOUT", defaults.ALERT_TIMEOUT)
#: Larger article bodies (characters of HTML) are quarantined.
FINEWS_MAX_BODY_CHARS = _env("FINEWS_MAX_BODY_CHARS", defaults.MAX_BODY_CHARS)
#: FINEWS_SQLITE_BUSY_TIMEOUT_MS is an environment variable only, not a Scrapy setting: the store's
#: engine reads it (the `finews` commands open the database outside Scrapy too). Milliseconds a
#: SQLite connection waits for another writer's lock (default: defaults.SQLITE_BUSY_TIMEOUT_MS).
#: Where writes that failed after retries are spooled, replayed by the next run.
FINEWS_SPOOL_DIR = _env("FINEWS_SPOOL_DIR", defaults.SPOOL_DIR)
#: `finews crawl` keeps at most FINEWS_LOG_KEEP crawl logs and FINEWS_LOG_MAX_BYTES of them in
#: its log folder (data/logs), deleting the oldest; 0 turns a limit off.
FINEWS_LOG_KEEP = _env("FINEWS_LOG_KEEP", defaults.LOG_KEEP)
FINEWS_LOG_MAX_BYTES = _env("FINEWS_LOG_MAX_BYTES", defaults.LOG_MAX_BYTES)
#: Send each article to the feed (-O) once per run, however many pages show it.
FINEWS_FEED_UNIQUE = _env("FINEWS_FEED_UNIQUE", defaults.FEED_UNIQUE)
#: Redis URL; when set, the scheduler and dupefilter are shared through scrapy-redis.
FINEWS_REDIS_URL = _env("FINEWS_REDIS_URL", defaults.REDIS_URL)
#: Redis key pattern of a shared run, its TTL, the workers' heartbeat and when a silent worker
#: counts as dead, and how long a finished run's `done` marker stays (docs/distributed.md).
FINEWS_REDIS_KEY = _env("FINEWS_REDIS_KEY", defaults.REDIS_KEY)
FINEWS_REDIS_KEY_TTL = _env("FINEWS_REDIS_KEY_TTL", defaults.REDIS_KEY_TTL)
FINEWS_REDIS_HEARTBEAT = _env("FINEWS_REDIS_HEARTBEAT", defaults.REDIS_HEARTBEAT)
FINEWS_REDIS_WORKER_TIMEOUT = _env("FINEWS_REDIS_WORKER_TIMEOUT", defaults.REDIS_WORKER_TIMEOUT)
FINEWS_REDIS_DONE_TTL = _env("FINEWS_REDIS_DONE_TTL", defaults.REDIS_DONE_TTL)
#: The add-on that reads FINEWS_REDIS_URL and, when set, shares the scheduler and dupefilter
#: through scrapy-redis (finews_crawler/distributed/addon.py; off when the URL is empty).
ADDONS = {"finews_crawler.distributed.addon.RedisFrontier": 0}

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.normalize.NormalizePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.store.StorePipeline": 400,
}

# --- Politeness for the live site -----------------------------------------------------------
USER_AGENT = _env("FINEWS_USER_AGENT", defaults.USER_AGENT)
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
#: Scrapy starts this many worker tasks for every response's output (default 100); an article
#: yields one or two things, so 100 idle tasks per page cost ~15% of a crawl's CPU (bench/).
CONCURRENT_ITEMS = 16
#: Scrapy's check for `return value` in generator callbacks re-reads and parses the callback's
#: source for every response (its cache is keyed by short-lived bound methods): ~3% of a crawl.
WARN_ON_GENERATOR_RETURN_VALUE = False
#: Freeze what is loaded at engine start out of the garbage collector's walks and collect the
#: youngest generation every FINEWS_GC_GEN0_THRESHOLD allocations instead of 700
#: (finews_crawler.extensions.GarbageCollectionTuning; ~10% of a crawl's CPU, bench/).
FINEWS_GC_TUNING = _env("FINEWS_GC_TUNING", defaults.GC_TUNING)
FINEWS_GC_GEN0_THRESHOLD = _env("FINEWS_GC_GEN0_THRESHOLD", defaults.GC_GEN0_THRESHOLD)
#: Live progress (pages, items, errors, rate; a bar where the total is known): auto (only when
#: stderr is a terminal), on or off; redrawn every FINEWS_PROGRESS_INTERVAL seconds.
FINEWS_PROGRESS = _env("FINEWS_PROGRESS", defaults.PROGRESS)
FINEWS_PROGRESS_INTERVAL = _env("FINEWS_PROGRESS_INTERVAL", defaults.PROGRESS_INTERVAL)
#: RunHealth judges every run at its end (finews_crawler.health; FINEWS_MAX_ERROR_RATIO,
#: FINEWS_MIN_LISTED_RATIO, FINEWS_MIN_COVERAGE_RATIO) and the store records the verdict;
#: Alerts, built after it and so called after it at spider_closed, sends a verdict that is not
#: healthy to the FINEWS_ALERT_* destinations (off when none is configured).
#: StoredState hands the spider what the database holds as it opens (stored pages are not
#: fetched again; stored categories are crawled again).
EXTENSIONS = {
    "finews_crawler.extensions.GarbageCollectionTuning": 0,
    "finews_crawler.extensions.StoredState": 100,
    "finews_crawler.extensions.RunHealth": 500,
    "finews_crawler.alerts.Alerts": 550,
    "finews_crawler.progress.CrawlProgress": 600,
}
DOWNLOAD_TIMEOUT = 30
#: Pages larger than this are aborted (the site's biggest article is well under 1 MiB).
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
#: Longest Retry-After we are willing to wait for; longer ones are capped.
FINEWS_RETRY_AFTER_MAX = _env("FINEWS_RETRY_AFTER_MAX", defaults.RETRY_AFTER_MAX)
#: Exponential backoff between retries: base * 2**attempt seconds, at most _MAX.
FINEWS_RETRY_BACKOFF_BASE = _env("FINEWS_RETRY_BACKOFF_BASE", defaults.RETRY_BACKOFF_BASE)
FINEWS_RETRY_BACKOFF_MAX = _env("FINEWS_RETRY_BACKOFF_MAX", defaults.RETRY_BACKOFF_MAX)
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "finews_crawler.middlewares.BackoffRetryMiddleware": 550,
    # Before robots.txt (100): no request, not even robots.txt, goes to another host.
    "finews_crawler.middlewares.SiteOnlyMiddleware": 40,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "finews_crawler.middlewares.SiteRedirectMiddleware": 600,
}

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = _env("FINEWS_LOG_LEVEL", defaults.LOG_LEVEL)
