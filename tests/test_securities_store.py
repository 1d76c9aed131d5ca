"""Stock mentions in the store, on SQLite and PostgreSQL: symbol and kind columns, one row per
article and security, and migration 0003 converting what older versions stored."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from support.db_fixtures import (  # noqa: F401 - fixtures
    SEED_CODE,
    database_url,
    empty_url,
    pg_database,
    pg_server,
    repository,
    truth_row,
)
from support.mentions import HANG_SENG, MOUTAI, NEW_ENERGY, NO_MARKET, PING_AN, SSE_INDEX, stock
from support.schema import downgrade, schema_differences

from finews_crawler.store import Repository
from finews_crawler.store.engine import create_db_engine
from finews_crawler.store.migrate import current_revision, head_revision, upgrade
from finews_crawler.store.models import Article, StockMention

MEDIA_SEED = "2022-03-30-NW202203302328599218.md"
OTHER = "2021-12-08-202112082206672930.md"


def mention_rows(repo: Repository) -> list[tuple[Any, ...]]:
    """(info_code, symbol, kind, market, code, name) of every stored mention, sorted."""
    columns = (StockMention.symbol, StockMention.kind, StockMention.market, StockMention.code)
    with repo.engine.connect() as connection:
        rows = connection.execute(
            select(Article.info_code, *columns, StockMention.name).join(
                Article, Article.id == StockMention.article_id
            )
        )
        return sorted((tuple(row) for row in rows), key=str)


def test_mentions_are_stored_with_symbol_and_kind(repository: Repository) -> None:
    mentions = [MOUTAI, SSE_INDEX, PING_AN, NEW_ENERGY, HANG_SENG, NO_MARKET]
    repository.write_items([{**truth_row(MEDIA_SEED), "stocks": mentions}])
    assert repository.get_article(SEED_CODE)["stocks"] == mentions
    expected = [(SEED_CODE, *mention.values()) for mention in mentions]
    assert mention_rows(repository) == sorted(expected, key=str)


def test_mentions_written_in_the_old_shape_get_symbols(repository: Repository) -> None:
    old = [{k: m[k] for k in ("market", "code", "name")} for m in (MOUTAI, HANG_SENG)]
    repository.write_items([{**truth_row(MEDIA_SEED), "stocks": old}])
    assert repository.get_article(SEED_CODE)["stocks"] == [MOUTAI, HANG_SENG]
    assert [row[1] for row in mention_rows(repository)] == ["600519.SH", None]


def test_mentions_follow_the_article_and_rewrites_are_idempotent(repository: Repository) -> None:
    item = {**truth_row(MEDIA_SEED), "stocks": [MOUTAI, HANG_SENG]}
    repository.write_items([item])
    repository.write_items([item])
    assert len(mention_rows(repository)) == 2
    repository.write_items([{**item, "stocks": [PING_AN], "title": "changed"}])
    assert [row[1] for row in mention_rows(repository)] == ["000001.SZ"]


def test_one_row_per_article_and_symbol(repository: Repository) -> None:
    repository.write_items([{**truth_row(MEDIA_SEED), "stocks": [MOUTAI]}])
    with repository.engine.connect() as connection:
        article_id = connection.execute(select(Article.id)).scalar_one()
    with pytest.raises(IntegrityError), repository.engine.begin() as connection:
        # The same symbol under another market/code spelling is still the same security.
        connection.execute(
            insert(StockMention).values(
                article_id=article_id, **{**MOUTAI, "market": "", "name": "茅台"}
            )
        )


# --- migration 0003 -------------------------------------------------------------------------


def test_migration_converts_what_older_versions_stored(empty_url: str) -> None:
    with Repository(empty_url) as repo:
        repo.write_items(
            [
                {**truth_row(MEDIA_SEED), "stocks": [MOUTAI, NEW_ENERGY, HANG_SENG]},
                {**truth_row(OTHER), "stocks": []},
            ]
        )
    downgrade(empty_url, "0001")

    engine = create_db_engine(empty_url)
    try:
        assert current_revision(engine) == "0001"
        with engine.begin() as connection:
            old_rows = connection.exec_driver_sql(
                "SELECT market, code, name FROM stock_mentions"
            ).all()
            assert sorted(tuple(r) for r in old_rows) == [
                ("1", "600519", "贵州茅台"),
                ("100", "HSI", "恒生指数"),
                ("90", "BK0493", "新能源"),
            ]
            article_id = connection.exec_driver_sql(
                f"SELECT id FROM articles WHERE info_code = '{SEED_CODE}'"
            ).scalar_one()
            # What version 0001 wrote by itself: a mention it kept as read.
            connection.exec_driver_sql(
                "INSERT INTO stock_mentions (article_id, market, code, name)"
                f" VALUES ({article_id}, '0', '399001', '深证成指')"
            )
            old_stocks = [
                {"market": "1", "code": "600519", "name": "贵州茅台"},
                {"market": "90", "code": "BK0493", "name": "新能源"},
                {"market": "100", "code": "HSI", "name": "恒生指数"},
                {"market": "0", "code": "399001", "name": "深证成指"},
            ]
            stocks = connection.execute(select(Article.stocks).where(Article.id == article_id))
            assert stocks.scalar_one() == old_stocks[:3], "downgrade strips symbol and kind"
            connection.execute(
                update(Article.__table__)
                .where(Article.__table__.c.id == article_id)
                .values(stocks=old_stocks)
            )

        assert upgrade(engine) == head_revision()
        with engine.connect() as connection:
            diff = schema_differences(connection)
            assert diff == [], f"models and the upgraded schema differ: {diff}"
            converted = [
                MOUTAI,
                NEW_ENERGY,
                HANG_SENG,
                stock("399001.SZ", "index", "0", "399001", "深证成指"),
            ]
            stocks = connection.execute(select(Article.stocks).where(Article.id == article_id))
            assert stocks.scalar_one() == converted
            other = connection.execute(select(Article.stocks).where(Article.id != article_id))
            assert other.scalar_one() == []
    finally:
        engine.dispose()

    with Repository(empty_url) as repo:
        assert mention_rows(repo) == sorted(((SEED_CODE, *m.values()) for m in converted), key=str)
        # The upgraded store goes on as a new one would.
        repo.write_items([{**truth_row(MEDIA_SEED), "stocks": [PING_AN], "title": "revised"}])
        assert [row[1] for row in mention_rows(repo)] == ["000001.SZ"]
