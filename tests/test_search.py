"""`finews search`: the result set is exactly the substring truth, on SQLite and PostgreSQL.

The truth is computed in Python over the export (`Repository.iter_articles`): an article matches
when its title, digest or body text contains the query, A-Z in either case. Checked for one-, two-,
three- and longer Chinese terms, mixed terms, stock codes and Latin words, and again after an
update (a revision), a merge (a second page fills the digest) and a delete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.db_fixtures import (  # noqa: F401 - fixtures
    database_url,
    pg_database,
    pg_server,
    repository,
    truth_rows,
)
from support.schema import downgrade

from finews_crawler import cli
from finews_crawler.store import Repository
from finews_crawler.store.migrate import upgrade
from finews_crawler.store.search import contains, fold, make_snippet, normalize_query, search

QUERIES = {
    "one character": ["股", "涨", "鑫", "\u4e00"],
    "two characters": ["降准", "茅台", "亿元", "A股", "a股"],
    "three characters": ["新能源", "央行宣", "比亚迪"],
    "longer terms": ["新能源汽车", "免征车辆购置税", "贵州茅台股价"],
    "stock codes": ["600519", "300750", "00700"],
    "latin words": ["IPO", "ipo", "omicron", "Sunoco", "shibor", "GWP", "ET7"],
    "no match": ["不存在的词语", "zzqx", "丂"],
}
ALL_QUERIES = [query for queries in QUERIES.values() for query in queries]


def truth(store: Repository, query: str) -> set[str]:
    """The URLs of the exported articles that contain `query` (Python's own substring test)."""
    return {
        record["url"]
        for record in store.iter_articles()
        if any(contains(query, record.get(field)) for field in ("title", "digest", "body_text"))
    }


def found(store: Repository, query: str, **filters: Any) -> list[str]:
    return [hit.url for hit in search(store, query, limit=None, **filters)]


@pytest.fixture
def corpus(repository: Repository) -> Iterator[Repository]:  # noqa: F811
    repository.write_items(truth_rows())
    yield repository


def test_the_queries_exercise_both_sides(corpus: Repository) -> None:
    """Each kind of query has matches somewhere (else the equality below proves little)."""
    for kind, queries in QUERIES.items():
        counts = [len(truth(corpus, query)) for query in queries]
        if kind == "no match":
            assert counts == [0] * len(queries)
        else:
            assert any(counts), kind
    assert len(truth(corpus, "股")) > 20  # a frequent character: many candidates


@pytest.mark.parametrize("query", ALL_QUERIES)
def test_results_equal_the_substring_truth(corpus: Repository, query: str) -> None:
    urls = found(corpus, query)
    assert len(urls) == len(set(urls))
    assert set(urls) == truth(corpus, query)


def test_ranking_titles_first_then_newest(corpus: Repository) -> None:
    hits = search(corpus, "股", limit=None)
    in_title = [fold("股") in fold(hit.title) for hit in hits]
    assert in_title == sorted(in_title, reverse=True)
    assert 0 < sum(in_title) < len(hits)
    for tier in (True, False):
        dates = [
            hit.published_at for hit, hit_in in zip(hits, in_title, strict=True) if hit_in == tier
        ]
        dated = [d for d in dates if d]
        assert dated == sorted(dated, reverse=True)
    assert [hit.url for hit in search(corpus, "股", limit=5)] == [hit.url for hit in hits[:5]]


def test_filters(corpus: Repository) -> None:
    since = "2021-12-08T12:00:00"
    expected = {
        record["url"]
        for record in corpus.iter_articles(since=since)
        if record["url"] in truth(corpus, "股")
    }
    assert set(found(corpus, "股", since=since)) == expected
    shanghai = {record["url"] for record in corpus.iter_articles(category="shanghaifabu")}
    assert set(found(corpus, "上海", category="shanghaifabu")) == shanghai & truth(corpus, "上海")
    assert found(corpus, "股", category="no-such-category") == []


def _fts_consistent(store: Repository) -> None:
    if store.dialect != "sqlite":
        return
    with store.engine.begin() as connection:  # raises if the index and the view disagree
        connection.execute(
            text("INSERT INTO article_search(article_search, rank) VALUES ('integrity-check', 1)")
        )


def test_index_follows_revision_merge_and_delete(corpus: Repository) -> None:
    rows = {row["url"]: row for row in truth_rows()}
    emnews = next(row for row in rows.values() if row["url"].startswith("/emnews/"))
    # A revision: the body changes; the old text is gone, the new one found.
    old_term = emnews["body_text"][5:8]
    revised = {**emnews, "body_text": "修订后的正文提到钒电池和Xylophone。"}
    assert corpus.write_items([revised])["updated"] == 1
    assert found(corpus, "钒电池") == [emnews["url"]]
    assert found(corpus, "xylophone") == [emnews["url"]]
    assert emnews["url"] not in found(corpus, old_term) or contains(old_term, emnews["title"])
    # A merge: a second page of an article without a digest fills one in.
    plain = next(row for row in rows.values() if not row["digest"] and row["info_code"])
    copy = {
        **plain,
        "url": "/othermedia/" + plain["url"].rsplit("/", 1)[1],
        "categories": ["othermedia"],
        "digest": "第二个页面带来的摘要：钪元素",
    }
    assert corpus.write_items([copy])["merged"] == 1
    assert found(corpus, "钪元素") == [plain["url"]]
    for query in ("股", "降准", "钒电池", "新能源汽车"):
        assert set(found(corpus, query)) == truth(corpus, query), query
    _fts_consistent(corpus)
    # A delete (by hand: the crawler never deletes) leaves the index behind too.
    with corpus.engine.begin() as connection:
        article_id = connection.execute(
            text("SELECT id FROM articles WHERE url = :url"), {"url": emnews["url"]}
        ).scalar_one()
        for child in ("article_pages", "article_categories", "stock_mentions", "revisions"):
            connection.execute(
                text(f"DELETE FROM {child} WHERE article_id = :id"), {"id": article_id}
            )
        connection.execute(text("DELETE FROM articles WHERE id = :id"), {"id": article_id})
    assert found(corpus, "钒电池") == []
    assert set(found(corpus, "股")) == truth(corpus, "股")
    _fts_consistent(corpus)


def _update_trigger_sql(store: Repository) -> str:
    with store.engine.connect() as connection:
        return connection.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'article_search_update'")
        ).scalar_one()


def test_a_merge_that_keeps_the_text_leaves_the_index_alone(tmp_path: Path) -> None:
    """Migration 0006: the update trigger re-indexes an article only when its text changed (a
    merge sets the text columns to what they were), and 0005's trigger comes back on downgrade."""
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    rows = truth_rows()
    with Repository(url) as store:
        store.write_items(rows)
        assert "WHEN old.title IS NOT new.title" in _update_trigger_sql(store)
        segments = _index_segments(store)
        plain = next(row for row in rows if row["info_code"])
        copy = {**plain, "url": "/othermedia/" + plain["url"].rsplit("/", 1)[1]}
        copy["categories"] = ["othermedia"]
        assert store.write_items([copy])["merged"] == 1
        assert _index_segments(store) == segments  # nothing re-indexed
        _fts_consistent(store)
    downgrade(url, "0005")
    with Repository(url, migrate=False) as store:
        assert "WHEN" not in _update_trigger_sql(store)
        segments = _index_segments(store)
        copy["tags"] = [*copy["tags"], "另一个标签"]
        assert store.write_items([copy])["merged"] == 1
        assert _index_segments(store) != segments  # 0005's trigger: the same text re-indexed
        assert upgrade(store.engine) == "0006"
        assert "WHEN old.title IS NOT new.title" in _update_trigger_sql(store)
        revised = {**plain, "body_text": "修订后的正文提到钇元素。"}
        assert store.write_items([revised])["updated"] == 1
        assert found(store, "钇元素") == [plain["url"]]
        _fts_consistent(store)


def _index_segments(store: Repository) -> list[tuple[int, bytes]]:
    """The FTS5 table's stored segments and structure record: any write to the index adds one."""
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, block FROM article_search_data ORDER BY id"))
        return [tuple(row) for row in rows]


def test_query_rules() -> None:
    assert normalize_query("  降准 ") == "降准"
    for bad in ("", "   ", "a\x00b", "\t"):
        with pytest.raises(ValueError):
            normalize_query(bad)
    assert fold("AbC股Ｚ") == "abc股Ｚ"  # only A-Z fold
    assert contains("a股", "原A股上市") and not contains("ａ股", "原A股上市")


def test_snippet_marks_every_match() -> None:
    snippet = make_snippet(
        "降准", {"title": "标题", "digest": None, "body_text": "央行降准，再降准。"}
    )
    assert snippet.field == "body_text"
    assert snippet.marked() == "央行[降准]，再[降准]。"
    long_body = "甲" * 100 + "降准" + "乙" * 100
    snippet = make_snippet("降准", {"title": "t", "body_text": long_body})
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    start, end = snippet.spans[0]
    assert snippet.text[start:end] == "降准"
    assert make_snippet("X", {"title": "X光", "body_text": "无"}).field == "title"


def test_cli_json_and_text(corpus: Repository, capsys: pytest.CaptureFixture[str]) -> None:
    url = corpus.database_url
    assert cli.main(["search", "新能源汽车", "--json", "--database-url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert {record["url"] for record in records} == truth(corpus, "新能源汽车")
    for record in records:
        assert {"info_code", "title", "published_at", "snippet"} <= record.keys()
        start, end = record["highlights"][0]
        assert record["snippet"][start:end] == "新能源汽车"
    assert cli.main(["search", "降准", "--limit", "1", "--database-url", url]) == 0
    out, err = capsys.readouterr()
    assert "[降准]" in out and "1 article" in err
    assert cli.main(["search", " ", "--database-url", url]) == 2
    assert "empty search query" in capsys.readouterr().err


def test_short_terms_at_the_edges_of_a_field(corpus: Repository) -> None:
    """One- and two-character terms that end a field, or are the whole field, are found."""
    base = next(row for row in truth_rows() if row["info_code"])
    items = []
    for n, (title, digest, body) in enumerate(
        [
            ("钛", None, "正文"),
            ("标题以钛白", None, "正文"),
            ("标题", "摘要末尾钛白", "无"),
            ("标", None, "末尾钛"),
        ]
    ):
        code = f"NW2099010100000000{n:02d}"
        items.append(
            {
                **base,
                "info_code": code,
                "url": f"/edge/2099/01/01/{code}.html",
                "name": f"2099-01-01-{code}.md",
                "title": title,
                "digest": digest,
                "body_text": body,
            }
        )
    corpus.write_items(items)
    for query in ("钛", "钛白", "白", "尾钛", "标"):
        assert set(found(corpus, query)) == truth(corpus, query), query
    assert {item["url"] for item in items} <= set(found(corpus, "钛"))


@pytest.mark.parametrize("query", ["股", "降准", "新能源", "IPO", "不存在的词语"])
def test_walking_the_date_index_ranks_as_sorting(
    corpus: Repository, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many candidates are ranked by walking down the date index; the result is the same."""
    for limit in (1, 5, 40):
        sorted_hits = [hit.url for hit in search(corpus, query, limit=limit)]
        monkeypatch.setattr("finews_crawler.store.search.SORT_AT_MOST", -1)
        walked = [hit.url for hit in search(corpus, query, limit=limit)]
        monkeypatch.undo()
        assert walked == sorted_hits, limit
