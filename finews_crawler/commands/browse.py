"""`finews browse [--port N] [--host 127.0.0.1]`: the SQLite database in a browser, read-only.

Datasette (the `browse` extra: `pip install 'finews-crawler[browse]'`) serves the database with
metadata written here: titles and descriptions, the view `article_list` (one row per article,
with its day) faceted by day, media and category, its search box wired to the full-text index
(`article_search`, trigram: three characters or more; the canned query `contains` finds any
term, one character too), and canned queries for articles per day and a stock's timeline
(`symbol`: `600519.SH`, or a bare code `600519`). PostgreSQL is not supported by Datasette:
the command says so and exits with status 2 (use `finews search`, `finews report` or `psql`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001

ARTICLES_PER_DAY = """SELECT day, count(*) AS articles
FROM article_list WHERE day IS NOT NULL
GROUP BY day ORDER BY day DESC"""

STOCK_TIMELINE = """SELECT l.day, l.published_at, l.title, l.info_code, l.media,
  json_extract(s.value, '$.name') AS stock_name, l.url
FROM articles AS a JOIN article_list AS l ON l.id = a.id, json_each(a.stocks) AS s
WHERE json_extract(s.value, '$.symbol') = :symbol OR json_extract(s.value, '$.code') = :symbol
ORDER BY l.published_at DESC"""

CONTAINS = """SELECT l.id, l.day, l.published_at, l.title, l.media, l.info_code, l.url
FROM articles AS a JOIN article_list AS l ON l.id = a.id
WHERE instr(lower(a.title), lower(:term)) OR instr(lower(coalesce(a.digest, '')), lower(:term))
   OR instr(lower(a.body_text), lower(:term))
ORDER BY instr(lower(a.title), lower(:term)) > 0 DESC, l.published_at DESC
LIMIT 200"""

TABLES = {
    "article_list": {
        "title": "Articles",
        "description": "One row per article (an article shown in several categories is one "
        "row). day and published_at are the site's (GMT+8). The search box uses the trigram "
        "index: three characters or more (新能源, 600519); for one or two (降准) use the "
        "query “contains”.",
        "facets": ["day", "media", {"array": "categories"}],
        "sort_desc": "published_at",
        "fts_table": "article_search",
        "fts_pk": "id",
        "label_column": "title",
    },
    "articles": {
        "title": "Articles (stored rows)",
        "description": "The merged record of each article, as `finews export` writes it.",
        "fts_table": "article_search",
        "fts_pk": "id",
        "label_column": "title",
    },
    "article_pages": {"description": "Every page an article was seen on, with its category."},
    "categories": {"description": "Category slugs (Jekyll splits two-word slugs)."},
    "article_categories": {"description": "Which articles are in which category."},
    "stock_mentions": {"description": "Stocks, indexes and boards the articles mention."},
    "revisions": {"description": "Old versions of articles whose content changed."},
    "crawl_runs": {
        "title": "Crawl runs",
        "description": "One row per crawl or import: outcome, counts, stats, field coverage.",
        "sort_desc": "id",
    },
    "quarantine": {
        "title": "Quarantine",
        "description": "Pages and posts that could not be stored, with the reason.",
        "facets": ["reason"],
        "sort_desc": "id",
    },
}

QUERIES = {
    "articles_per_day": {
        "title": "Articles per day",
        "description": "How many articles the site dated each day (GMT+8).",
        "sql": ARTICLES_PER_DAY,
    },
    "stock_timeline": {
        "title": "A stock's timeline",
        "description": "The articles that mention a stock, newest first: its symbol "
        "(600519.SH) or code (600519).",
        "sql": STOCK_TIMELINE,
    },
    "contains": {
        "title": "Articles containing a term",
        "description": "Exact substring search over title, digest and body (any length; "
        "A-Z in either case), titles first. `finews search` does the same with the index.",
        "sql": CONTAINS,
    },
}


def metadata(database_name: str) -> dict[str, Any]:
    """Datasette metadata for the database file `<database_name>.sqlite3`."""
    return {
        "title": "finews 金融消息",
        "description": "Chinese finance news from finews.withounder.com (East Money news by "
        "media category), as crawled by finews-crawler. Read-only.",
        "source": "finews.withounder.com",
        "source_url": "https://finews.withounder.com",
        "license": "Texts belong to their publishers; for research",
        "databases": {database_name: {"tables": TABLES, "queries": QUERIES}},
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}")


def sqlite_path(database_url: str) -> Path | None:
    """The SQLite file of a database URL; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def run(args: argparse.Namespace) -> int:
    path = sqlite_path(args.database_url)
    if path is None:
        print(
            "finews browse: Datasette serves SQLite files only; this database is not one. "
            "Use `finews search`, `finews report` or psql, or export to SQLite first.",
            file=sys.stderr,
        )
        return 2
    try:
        from datasette.cli import cli as datasette_cli
    except ImportError:
        print(
            "finews browse: Datasette is not installed: pip install 'finews-crawler[browse]'",
            file=sys.stderr,
        )
        return 2
    from finews_crawler.store import Repository

    with Repository(args.database_url):  # the schema (index and views) is current
        pass
    with tempfile.TemporaryDirectory(prefix="finews-browse-") as folder:
        metadata_file = Path(folder) / "metadata.json"
        metadata_file.write_text(json.dumps(metadata(path.stem), ensure_ascii=False), "utf-8")
        print(f"finews browse: http://{args.host}:{args.port}/ (read-only; Ctrl-C stops)")
        argv = ["serve", str(path), "--metadata", str(metadata_file)]
        argv += [
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--setting",
            "facet_time_limit_ms",
            "1000",
        ]
        with contextlib.suppress(KeyboardInterrupt):
            datasette_cli.main(args=argv, prog_name="finews browse", standalone_mode=False)
    return 0
