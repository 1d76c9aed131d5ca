"""A worse reading never degrades stored data (SQLite and PostgreSQL).

Items say which layout (reader) read their page; `generic`, the layout-independent reader, is a
best effort. A generic reading of a page stored from a trusted reading changes nothing (the
export stays byte-identical) and, when it differs, waits as a pending revision for a person.
"""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.db_fixtures import (  # noqa: F401 - fixtures
    SEED_CODE,
    database_url,
    pg_database,
    pg_server,
    repository,
    truth_row,
    truth_rows,
)

from finews_crawler import cli
from finews_crawler.store import Repository
from finews_crawler.store.models import ArticlePage

KNOWN = "jekyll-minimal-2022"
EMNEWS_SEED = "/emnews/2022/03/30/202203302328599218.html"
MEDIA_SEED = "/shanghaifabu/2022/03/30/NW202203302328599218.html"


def read_by(layout: str | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "layout": layout} for row in rows]


def redesigned(row: dict[str, Any]) -> dict[str, Any]:
    """What the generic reader makes of a redesigned page: other body, no tags shown."""
    return {
        **row,
        "layout": "generic",
        "tags": [],
        "body_text": row["body_text"] + "\n分享到：微博 微信",
    }


def export(database_url: str, path: Path) -> bytes:
    assert cli.main(["export", "--output", str(path), "--database-url", database_url]) == 0
    return path.read_bytes()


def page_rows(repository: Repository) -> list[dict[str, Any]]:
    with repository.engine.connect() as connection:
        rows = connection.execute(select(ArticlePage.__table__).order_by(ArticlePage.id))
        return [dict(row._mapping) for row in rows]


def test_a_generic_refresh_leaves_the_export_byte_identical_and_holds_differences(
    repository: Repository, database_url: str, tmp_path: Path
) -> None:
    rows = truth_rows()
    repository.write_items(read_by(KNOWN, rows), run_id=repository.start_run("finews"))
    repository.write_items(read_by(KNOWN, rows), run_id=repository.start_run("finews"))
    before = export(database_url, tmp_path / "before.jsonl")
    pages_before = page_rows(repository)

    refresh = repository.start_run("finews")
    counts = repository.write_items([redesigned(row) for row in rows], run_id=refresh)

    assert counts["held_for_review"] == len(rows) == 106
    assert counts["new"] == counts["updated"] == counts["merged"] == counts["unchanged"] == 0
    assert export(database_url, tmp_path / "after.jsonl") == before
    assert page_rows(repository) == pages_before  # not even last_seen_at
    pending = repository.pending_revisions(limit=1000)
    assert len(pending) == 106 and {p["run_id"] for p in pending} == {refresh}
    seed = next(p for p in pending if p["page_path"] == MEDIA_SEED)
    assert seed["article_key"] == SEED_CODE and seed["status"] == "pending"
    assert seed["fields"] == ["body_text", "tags"] and seed["layout"] == "generic"
    assert "layout-independent reader" in seed["reason"]
    assert f"by the {KNOWN} layout" in seed["reason"] and "body_text, tags" in seed["reason"]
    assert seed["proposed"]["tags"] == [] and seed["proposed"]["url"] == MEDIA_SEED

    # The same generic readings again: nothing new to review.
    again = repository.write_items([redesigned(row) for row in rows])
    assert again["held_for_review"] == 106
    assert len(repository.pending_revisions(limit=1000)) == 106
    # A generic reading that says what is stored is held too, as the same.
    same = repository.write_items(read_by("generic", rows[:5]))
    assert same["held_same"] == 5 and len(repository.pending_revisions(limit=1000)) == 106
    assert export(database_url, tmp_path / "again.jsonl") == before


def test_accepting_applies_the_reading_as_a_revision_and_rejecting_keeps_the_stored(
    repository: Repository, database_url: str, tmp_path: Path
) -> None:
    emnews, media = truth_row(EMNEWS_SEED), truth_row(MEDIA_SEED)
    repository.write_items(read_by(KNOWN, [emnews, media]))
    repository.write_items([redesigned(emnews), redesigned(media)])
    by_path = {p["page_path"]: p for p in repository.pending_revisions()}
    stored = repository.get_article(SEED_CODE)

    assert repository.accept_revision(by_path[EMNEWS_SEED]["id"]) == "updated"
    article = repository.get_article(SEED_CODE)
    assert article["revision"] == 2 and article["layout"] == "generic"
    assert article["body_text"] == redesigned(emnews)["body_text"]
    assert article["tags"] == stored["tags"]  # tags merge as a union: none are lost
    (old,) = repository.revisions(SEED_CODE)
    assert old["data"]["body_text"] == stored["body_text"] and old["data"]["layout"] == KNOWN

    repository.reject_revision(by_path[MEDIA_SEED]["id"])
    decided = {p["page_path"]: p for p in repository.pending_revisions(status=None)}
    assert decided[EMNEWS_SEED]["status"] == "accepted" and decided[MEDIA_SEED]["decided_at"]
    assert decided[MEDIA_SEED]["status"] == "rejected"
    assert repository.pending_revisions() == []
    with pytest.raises(LookupError, match="already accepted"):
        repository.accept_revision(by_path[EMNEWS_SEED]["id"])
    with pytest.raises(LookupError, match="no such revision"):
        repository.reject_revision(10_000)
    # The accepted page is now stored from a generic reading: the next one merges as usual.
    assert repository.write_items([{**redesigned(emnews), "title": "新标题"}])["updated"] == 1


def test_an_article_only_generic_could_read_is_stored_then_replaced_by_a_trusted_reading(
    repository: Repository,
) -> None:
    emnews = truth_row(EMNEWS_SEED)
    assert repository.write_items([redesigned(emnews)])["new"] == 1
    article = repository.get_article(SEED_CODE)
    assert article["layout"] == "generic" and article["tags"] == []
    # A generic reading of a generic article merges as usual.
    assert repository.write_items([{**redesigned(emnews), "title": "另一个"}])["updated"] == 1
    # A trusted reading replaces it (a revision) and its layout is recorded.
    assert repository.write_items(read_by(KNOWN, [emnews]))["updated"] == 1
    article = repository.get_article(SEED_CODE)
    assert article["layout"] == KNOWN and article["revision"] == 3
    assert article["body_text"] == emnews["body_text"]
    assert repository.pending_revisions() == []


def test_a_trusted_reading_of_the_same_content_takes_over_a_generic_one(
    repository: Repository,
) -> None:
    emnews = truth_row(EMNEWS_SEED)
    repository.write_items(read_by("generic", [emnews]))
    assert repository.write_items(read_by(KNOWN, [emnews]))["merged"] == 1
    assert repository.get_article(SEED_CODE)["layout"] == KNOWN
    (page,) = page_rows(repository)
    assert page["layout"] == KNOWN
    # From now on a generic reading of it is held.
    assert repository.write_items([redesigned(emnews)])["held_for_review"] == 1


def test_a_new_page_read_by_generic_joins_a_trusted_article_but_never_leads_it(
    repository: Repository,
) -> None:
    emnews, media = truth_row(EMNEWS_SEED), truth_row(MEDIA_SEED)
    repository.write_items(read_by(KNOWN, [media]))
    stored = repository.get_article(SEED_CODE)
    # The emnews original sorts first: read by a known layout it would become the primary page.
    assert repository.write_items([redesigned(emnews)])["merged"] == 1
    article = repository.get_article(SEED_CODE)
    assert article["url"] == MEDIA_SEED and article["layout"] == KNOWN
    assert article["body_text"] == stored["body_text"] and article["revision"] == 1
    assert article["urls"] == sorted([EMNEWS_SEED, MEDIA_SEED])
    assert article["categories"] == ["emnews", "shanghaifabu"]
    layouts = {page["path"]: page["layout"] for page in page_rows(repository)}
    assert layouts == {EMNEWS_SEED: "generic", MEDIA_SEED: KNOWN}


def test_readings_from_before_layouts_and_imports_are_trusted(repository: Repository) -> None:
    media = truth_row(MEDIA_SEED)
    repository.write_items([media])  # no layout: an import, or a crawl before layouts
    assert repository.get_article(SEED_CODE)["layout"] is None
    assert repository.write_items([redesigned(media)])["held_for_review"] == 1
    (pending,) = repository.pending_revisions()
    assert "by a known layout" in pending["reason"]


def test_finews_revisions_lists_accepts_and_rejects(
    repository: Repository, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def finews(*args: str) -> tuple[int, str, str]:
        status = cli.main(["revisions", *args, "--database-url", database_url])
        out, err = capsys.readouterr()
        return status, out, err

    assert finews() == (0, "No readings wait for review.\n", "")
    emnews, media = truth_row(EMNEWS_SEED), truth_row(MEDIA_SEED)
    repository.write_items(read_by(KNOWN, [emnews, media]))
    repository.write_items([redesigned(emnews), redesigned(media)])
    status, listing, _ = finews()
    assert status == 0
    header, *lines = listing.splitlines()
    assert header.split()[:4] == ["id", "created", "(UTC)", "status"]
    assert sum(MEDIA_SEED in line and "body_text, tags" in line for line in lines) == 1
    assert sum(line.startswith("revision ") and "layout-independent" in line for line in lines) == 2
    ids = {p["page_path"]: p["id"] for p in repository.pending_revisions()}

    status, out, _ = finews("--accept", str(ids[EMNEWS_SEED]))
    assert status == 0 and "accepted" in out and "(updated)" in out
    assert finews("--reject", str(ids[MEDIA_SEED]))[:2] == (
        0,
        f"revision {ids[MEDIA_SEED]} rejected: the stored reading stays\n",
    )
    status, _, err = finews("--reject", str(ids[MEDIA_SEED]))
    assert status == 1 and "already rejected" in err
    assert finews()[1] == "No readings wait for review.\n"
    status, out, _ = finews("--all", "--json")
    assert sorted(line.count('"status": "accepted"') for line in out.splitlines()) == [0, 1]
