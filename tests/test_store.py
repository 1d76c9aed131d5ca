"""The article store on SQLite and PostgreSQL: migrations, upserts, merge, revisions, queries."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import argparse
import copy
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, select, text
from support.db_fixtures import (  # noqa: F401 - fixtures
    SEED_CODE,
    database_url,
    fresh_pg_database,
    pg_database,
    pg_server,
    repository,
    truth_row,
    truth_rows,
)
from support.schema import schema_differences

from finews_crawler.commands import db as db_command
from finews_crawler.site import parse_published_at
from finews_crawler.store import Repository, mask_url, normalize_url
from finews_crawler.store.engine import create_db_engine
from finews_crawler.store.merge import article_key, content_hash
from finews_crawler.store.migrate import current_revision, head_revision
from finews_crawler.store.models import (
    Article,
    ArticleCategory,
    ArticlePage,
    Category,
    Revision,
    StockMention,
)

EMNEWS_SEED = "/emnews/2022/03/30/202203302328599218.html"
MEDIA_SEED = "/shanghaifabu/2022/03/30/NW202203302328599218.html"
TABLES = {
    "articles",
    "article_pages",
    "categories",
    "article_categories",
    "stock_mentions",
    "revisions",
    "crawl_runs",
    "quarantine",
    "alembic_version",
}


#: write_items counts of a batch without generic readings of stored pages.
NOT_HELD = {"held_for_review": 0, "held_same": 0}


def snapshot(repo: Repository) -> dict[str, list[dict]]:
    """Every row of the article tables, as dicts, in a stable order."""
    tables = {
        "articles": Article,
        "article_pages": ArticlePage,
        "categories": Category,
        "article_categories": ArticleCategory,
        "stock_mentions": StockMention,
        "revisions": Revision,
    }
    result = {}
    with repo.engine.connect() as connection:
        for name, model in tables.items():
            table = model.__table__
            rows = connection.execute(select(table).order_by(*table.primary_key.columns))
            result[name] = [dict(row._mapping) for row in rows]
    return result


def without(rows: list[dict], *columns: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in columns} for row in rows]


# --- URLs and engines ------------------------------------------------------------------------


def test_postgres_urls_use_psycopg3_and_passwords_are_masked() -> None:
    url = normalize_url("postgresql://user:s3cret@db.example:5432/finews")
    assert url.drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg2://u@h/d").drivername == "postgresql+psycopg"
    masked = mask_url("postgresql://user:s3cret@db.example:5432/finews")
    assert "s3cret" not in masked and "***" in masked
    assert mask_url("sqlite:///data/finews.sqlite3") == "sqlite:///data/finews.sqlite3"
    with pytest.raises(ValueError):
        normalize_url("mysql://u:p@h/d")


def test_sqlite_creates_parent_dir_wal_and_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "finews.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
    assert path.parent.is_dir()


# --- migrations ------------------------------------------------------------------------------


def _check_migrated(url: str) -> None:
    repo = Repository(url)
    try:
        assert set(inspect(repo.engine).get_table_names()) >= TABLES
        assert current_revision(repo.engine) == head_revision()
        with repo.engine.connect() as connection:
            diff = schema_differences(connection)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        repo.close()


def test_migration_applies_on_first_use_sqlite(tmp_path: Path) -> None:
    _check_migrated(f"sqlite:///{tmp_path / 'new.sqlite3'}")


def test_migration_applies_on_first_use_postgresql(pg_server: str) -> None:
    with fresh_pg_database(pg_server) as url:
        _check_migrated(url)


def test_db_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cmd.sqlite3'}"
    parser = argparse.ArgumentParser()
    db_command.add_arguments(parser)
    args = parser.parse_args(["upgrade"])
    args.database_url = url
    assert db_command.run(args) == 0
    assert "upgraded from (empty) to" in capsys.readouterr().out
    assert db_command.run(args) == 0
    assert "already at" in capsys.readouterr().out


# --- writes ----------------------------------------------------------------------------------


def test_batch_write_is_one_transaction(repository: Repository) -> None:
    commits = []
    event.listen(repository.engine, "commit", lambda conn: commits.append(1))
    counts = repository.write_items(truth_rows())
    assert counts == {"new": 76, "updated": 0, "merged": 30, "unchanged": 0, **NOT_HELD}
    assert len(commits) == 1
    assert repository.article_count() == 76


def test_upsert_is_idempotent(repository: Repository) -> None:
    rows = truth_rows()
    repository.write_items(rows[:50])
    repository.write_items(rows[50:])
    first = snapshot(repository)
    assert repository.write_items(rows) == {
        "new": 0,
        "updated": 0,
        "merged": 0,
        "unchanged": 106,
        **NOT_HELD,
    }
    again = snapshot(repository)
    for table in first:
        assert without(again[table], "last_seen_at") == without(first[table], "last_seen_at")
    assert len(again["articles"]) == 76
    assert len(again["article_pages"]) == 106


def test_unchanged_rewrite_touches_only_last_seen_at(repository: Repository) -> None:
    repository.write_items(truth_rows())
    before = snapshot(repository)
    repository.write_items(truth_rows())
    after = snapshot(repository)
    for table in ("articles", "article_pages"):
        for old, new in zip(before[table], after[table], strict=True):
            changed = {k for k in old if old[k] != new[k]}
            assert changed == {"last_seen_at"}, (table, changed)
            assert new["last_seen_at"] > old["last_seen_at"]
    for table in ("categories", "article_categories", "stock_mentions", "revisions"):
        assert before[table] == after[table]


@pytest.mark.parametrize("order", ["emnews_first", "media_first"])
@pytest.mark.parametrize("batches", ["one_batch", "two_runs"])
def test_seed_pages_merge_into_one_article(
    repository: Repository, order: str, batches: str
) -> None:
    emnews, media = truth_row(EMNEWS_SEED), truth_row(MEDIA_SEED)
    pages = [emnews, media] if order == "emnews_first" else [media, emnews]
    if batches == "one_batch":
        counts = repository.write_items(pages)
        assert counts["new"] == 1 and counts["merged"] == 1
    else:
        repository.write_items(pages[:1], repository.start_run("finews"))
        counts = repository.write_items(pages[1:], repository.start_run("finews"))
        assert counts == {"new": 0, "updated": 0, "merged": 1, "unchanged": 0, **NOT_HELD}
    assert repository.article_count() == 1
    article = repository.get_article(SEED_CODE)
    assert article is not None
    assert article["categories"] == ["emnews", "shanghaifabu"]
    assert set(article["tags"]) == {"东财滚动新闻", "上海发布新闻"}
    assert article["tags"] == sorted(article["tags"])
    assert article["urls"] == [EMNEWS_SEED, MEDIA_SEED]
    # Kept from whichever page has them.
    assert article["digest"] == emnews["digest"] and article["digest"]
    assert article["upstream_url"] == emnews["upstream_url"]
    assert article["share_url"] == media["share_url"]
    assert article["media"] == "上海发布"
    # The primary page (the emnews original) gives url, name and content, whatever the order.
    assert article["url"] == EMNEWS_SEED
    assert article["name"] == emnews["name"]
    assert article["title"] == emnews["title"]
    assert article["body_text"] == emnews["body_text"]
    assert article["published_at"] == "2022-03-30T23:23:14+08:00"
    assert article["revision"] == 1
    assert repository.revisions(SEED_CODE) == []
    with repository.engine.connect() as connection:
        slugs = connection.execute(
            select(Category.slug)
            .join(ArticleCategory, ArticleCategory.category_id == Category.id)
            .order_by(Category.slug)
        ).scalars()
        assert list(slugs) == ["emnews", "shanghaifabu"]


def test_pages_that_disagree_on_the_date_are_a_merge_not_a_revision(
    repository: Repository,
) -> None:
    # The site shows this emnews original 8 hours off its media copy.
    code = "NW202112082206753163"
    rows = [row for row in truth_rows() if row["info_code"] == code]
    assert len({row["published_at"] for row in rows}) == 2
    repository.write_items(rows[::-1])
    repository.write_items(rows)
    article = repository.get_article(code)
    assert article["revision"] == 1
    assert repository.revisions(code) == []
    emnews = next(row for row in rows if row["url"].startswith("/emnews/"))
    assert article["published_at"] == emnews["published_at"]
    pages = list(repository.iter_article_pages(info_code=code))
    assert {page["published_at"] for page in pages} == {row["published_at"] for row in rows}


def test_changed_content_creates_a_revision(repository: Repository) -> None:
    run_id = repository.start_run("finews")
    original = truth_row(EMNEWS_SEED)
    repository.write_items([original, truth_row(MEDIA_SEED)], run_id)
    old = repository.get_article(SEED_CODE)

    changed = copy.deepcopy(original)
    changed["body_text"] = original["body_text"] + "（更正）"
    counts = repository.write_items([changed], run_id)
    assert counts == {"new": 0, "updated": 1, "merged": 0, "unchanged": 0, **NOT_HELD}
    article = repository.get_article(SEED_CODE)
    assert article["revision"] == 2
    assert article["body_text"].endswith("（更正）")
    assert article["content_hash"] != old["content_hash"]
    # Merged fields survive the content change.
    assert article["categories"] == ["emnews", "shanghaifabu"]
    assert article["share_url"] == old["share_url"]

    revisions = repository.revisions(SEED_CODE)
    assert [r["revision"] for r in revisions] == [1]
    assert revisions[0]["content_hash"] == old["content_hash"]
    assert revisions[0]["data"]["body_text"] == original["body_text"]
    assert revisions[0]["run_id"] == run_id

    # The same change again is no change.
    assert repository.write_items([changed])["unchanged"] == 1
    assert len(repository.revisions(SEED_CODE)) == 1


def test_whitespace_and_markup_are_not_content(repository: Repository) -> None:
    row = truth_row(EMNEWS_SEED)
    repository.write_items([row])
    spaced = copy.deepcopy(row)
    spaced["body_text"] = "\r\n ".join(row["body_text"][i : i + 40] for i in range(0, 400, 40))
    spaced["body_text"] += row["body_text"][400:]
    spaced["title"] = f"  {row['title']}\u3000"
    spaced["body_html"] = "<p>different markup, back links</p>"
    assert repository.write_items([spaced])["unchanged"] == 1
    assert repository.get_article(SEED_CODE)["revision"] == 1


def test_content_hash_covers_title_date_and_body() -> None:
    when = parse_published_at("2022-03-30T23:23:14+08:00")
    base = content_hash("标题", when, "正文 内容")
    assert base == content_hash(
        " 标题 ", parse_published_at("2022-03-30T15:23:14+00:00"), "正文内容"
    )
    assert base != content_hash("标题2", when, "正文内容")
    assert base != content_hash("标题", parse_published_at("2022-03-30T23:23:15+08:00"), "正文内容")
    assert base != content_hash("标题", when, "正文内容。")


def test_article_keys() -> None:
    assert article_key({"info_code": "NW202203302328599218", "url": MEDIA_SEED}) == SEED_CODE
    assert article_key({"info_code": None, "url": EMNEWS_SEED}) == SEED_CODE
    assert article_key({"info_code": "202203302328599218", "url": "/x.html"}) == SEED_CODE
    init = "/sitenews/2021/12/01/init.html"
    assert article_key({"info_code": None, "url": init}) == f"url:{init}"
    assert article_key({"url": f"https://finews.withounder.com{init}"}) == f"url:{init}"
    assert article_key({"info_code": None, "url": ""}) is None


def test_post_without_info_code_is_keyed_by_url(repository: Repository) -> None:
    init = truth_row("2021-12-01-init.md")
    repository.write_items([init])
    repository.write_items([init])
    records = list(repository.iter_articles())
    assert len(records) == 1
    assert records[0]["info_code"] is None and records[0]["url"] == init["url"]
    assert repository.get_article(f"url:{init['url']}")["title"] == "开站大吉"


def test_fill_fields_stocks_and_images(repository: Repository) -> None:
    emnews, media = truth_row(EMNEWS_SEED), truth_row(MEDIA_SEED)
    stocks = [
        dict(symbol="300959.SZ", kind="stock", market="0", code="300959", name="线上线下"),
    ]
    with_stocks = {**media, "stocks": stocks, "images": ["http://img.example/k.png"]}
    repository.write_items([with_stocks])
    repository.write_items([{**emnews, "stocks": [], "images": [], "digest": None}])
    article = repository.get_article(SEED_CODE)
    assert article["stocks"] == stocks
    assert article["images"] == ["http://img.example/k.png"]
    with repository.engine.connect() as connection:
        mentions = connection.execute(select(StockMention.market, StockMention.code)).all()
    assert mentions == [("0", "300959")]


def test_invalid_item_writes_nothing(repository: Repository) -> None:
    bad = {**truth_row(EMNEWS_SEED), "published_at": "yesterday"}
    with pytest.raises(ValueError):
        repository.write_items([truth_row(MEDIA_SEED), bad])
    with pytest.raises(ValueError):
        repository.write_items([{"info_code": None, "url": ""}])
    assert repository.article_count() == 0


def test_stored_page_paths(repository: Repository) -> None:
    rows = truth_rows()
    repository.write_items(rows)
    assert repository.stored_page_paths() == {r["url"] for r in rows}


# --- queries ---------------------------------------------------------------------------------


def test_iter_articles_records_and_order(repository: Repository) -> None:
    repository.write_items(truth_rows())
    records = list(repository.iter_articles())
    assert len(records) == 76
    keys = [(r["published_at"], r["info_code"] or "") for r in records]
    assert keys == sorted(keys)
    expected = {
        "info_code",
        "url",
        "name",
        "title",
        "published_at",
        "categories",
        "tags",
        "media",
        "digest",
        "body_html",
        "body_text",
        "share_url",
        "upstream_url",
        "stocks",
        "images",
        "crawled_at",
        "share_status",
        "urls",
        "revision",
        "content_hash",
        "first_seen_at",
        "last_seen_at",
    }
    assert expected <= set(records[0])
    assert all(r["published_at"].endswith("+08:00") for r in records)
    seed = next(r for r in records if r["info_code"] == SEED_CODE)
    assert seed["categories"] == ["emnews", "shanghaifabu"]


def test_iter_articles_filters(repository: Repository) -> None:
    repository.write_items(truth_rows())

    def codes(**filters) -> set:
        return {r["info_code"] for r in repository.iter_articles(**filters)}

    assert codes(info_code=SEED_CODE) == {SEED_CODE}
    assert codes(info_code="202203302328599218") == {SEED_CODE}
    assert codes(category="shanghaifabu") >= {SEED_CODE}
    assert all(
        "shanghaifabu" in r["categories"] for r in repository.iter_articles(category="shanghaifabu")
    )
    space_slug = "21shijijingjibaodao 21caijingAPP"
    assert len(codes(category=space_slug)) == 3 == len(codes(category="21caijingAPP"))
    assert codes(category="no-such-category") == set()

    in_2022 = codes(since="2022-01-01")
    assert SEED_CODE in in_2022 and len(in_2022) == 2
    assert codes(since=date(2022, 3, 30), until=date(2022, 3, 31)) == {SEED_CODE}
    assert codes(until="2021-12-02") == {None}  # the site's opening post

    cutoff = datetime.now().astimezone()
    assert codes(changed_after=cutoff) == set()
    changed = {**truth_row(EMNEWS_SEED), "title": "新标题"}
    repository.write_items([changed])
    assert codes(changed_after=cutoff) == {SEED_CODE}


def test_iter_article_pages(repository: Repository) -> None:
    repository.write_items(truth_rows())
    pages = list(repository.iter_article_pages(info_code=SEED_CODE))
    assert [p["url"] for p in pages] == [EMNEWS_SEED, MEDIA_SEED]
    emnews, media = pages
    assert emnews["category"] == "emnews" and media["category"] == "shanghaifabu"
    assert emnews["categories"] == ["emnews"] and media["tags"] == ["上海发布新闻"]
    assert emnews["digest"] and media["digest"] is None
    assert media["share_url"] and emnews["share_url"] is None
    assert media["name"] == "2022-03-30-NW202203302328599218.md"
    assert {p["article_url"] for p in pages} == {EMNEWS_SEED}
    assert emnews["body_text"] == media["body_text"]
    only_media = list(repository.iter_article_pages(category="shanghaifabu", info_code=SEED_CODE))
    assert [p["url"] for p in only_media] == [MEDIA_SEED]
    assert len(list(repository.iter_article_pages())) == 106


# --- runs and quarantine ---------------------------------------------------------------------


def test_crawl_runs(repository: Repository) -> None:
    first = repository.start_run("finews")
    second = repository.start_run("category", "cron-2024-01-01T00:00")
    assert repository.start_run("category", "cron-2024-01-01T00:00") == second
    counts = {"pages": 120, "new": 76, "merged": 30, "duplicate": 30, "errors": 1}
    stats = {"field_coverage": {"title": 0.99}, "start_time": datetime(2024, 1, 1)}
    repository.finish_run(second, "finished", counts, stats)
    runs = repository.recent_runs(10)
    assert [r["id"] for r in runs] == [second, first]
    done = runs[0]
    assert done["outcome"] == "finished" and done["spider"] == "category"
    assert done["run_key"] == "cron-2024-01-01T00:00"
    assert (done["pages"], done["new"], done["merged"], done["errors"]) == (120, 76, 30, 1)
    assert done["unchanged"] == 0 and done["finished_at"] is not None
    assert done["stats"]["field_coverage"] == {"title": 0.99}
    assert done["stats"]["start_time"] == "2024-01-01T00:00:00"
    assert runs[1]["outcome"] == "running" and runs[1]["finished_at"] is None
    assert len(repository.recent_runs(1)) == 1


def test_workers_of_one_run_add_up_in_its_row(repository: Repository) -> None:
    run_id = repository.start_run("finews", "shared-run")
    assert repository.start_run("finews", "shared-run") == run_id  # the second worker joins
    repository.finish_run(
        run_id,
        "finished",
        {"pages": 66, "new": 30},
        {"finews/pages": 66, "finish_reason": "finished"},
    )
    repository.finish_run(
        run_id,
        "failed",
        {"pages": 54, "new": 46},
        {"finews/pages": 54, "finish_reason": "finished"},
    )
    (run,) = repository.recent_runs(1)
    assert (run["pages"], run["new"]) == (120, 76)
    assert run["stats"]["finews/pages"] == 120
    assert run["outcome"] == "failed"  # the worst outcome stands


def test_quarantine(repository: Repository) -> None:
    run_id = repository.start_run("finews")
    repository.quarantine("/bad.html", "no publication date", "x" * 10_000, run_id)
    repository.quarantine("/worse.html", "not an article URL", None)
    entries = repository.list_quarantine()
    assert [e["url"] for e in entries] == ["/worse.html", "/bad.html"]
    assert len(entries[1]["excerpt"]) == 2000
    assert entries[1]["run_id"] == run_id and entries[1]["reason"] == "no publication date"
    assert [e["url"] for e in repository.list_quarantine(run_id=run_id)] == ["/bad.html"]
    assert len(repository.list_quarantine(limit=1)) == 1


def test_sql_is_bound_not_interpolated(repository: Repository) -> None:
    hostile = "/x'); DROP TABLE articles; --.html"
    repository.quarantine(hostile, "reason'--", 'excerpt"; DELETE FROM quarantine;')
    row = {**truth_row(EMNEWS_SEED), "title": "'; DROP TABLE articles; --"}
    repository.write_items([row])
    assert repository.list_quarantine()[0]["url"] == hostile
    assert repository.get_article(SEED_CODE)["title"] == row["title"]
    with repository.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM articles")).scalar() == 1


def test_imported_post_text_is_kept_with_its_page(repository: Repository) -> None:
    source = "---\nlayout: post\n---\nbody\n"
    imported = {**truth_row(MEDIA_SEED), "source_markdown": source}
    repository.write_items([imported])
    repository.write_items([truth_row(MEDIA_SEED)])  # a crawl of the same page: no post text
    (page,) = list(repository.iter_article_pages(info_code=SEED_CODE))
    assert page["source_markdown"] == source
    assert "source_markdown" not in repository.get_article(SEED_CODE)
