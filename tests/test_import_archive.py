"""`finews import-archive`: posts through the crawl's pipelines into the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.paths import FIXTURES

from finews_crawler import cli
from finews_crawler.commands.import_archive import import_posts
from finews_crawler.spiders.archive import find_posts
from finews_crawler.store.repository import Repository

POSTS = FIXTURES / "posts"
BROKEN = "-202205262391921712.md"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative defaults (data/spool) stay out of the tree


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'finews.sqlite3'}"


def test_import_the_corpus(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["import-archive", "--database-url", db, str(POSTS)]) == 0
    out, err = capsys.readouterr()
    assert "imported 106 posts" in out and "1 unreadable" in out
    assert f"{BROKEN}: no date in the file name" in err
    with Repository(db) as repo:
        assert repo.article_count() == 76
        (entry,) = repo.list_quarantine()
        assert entry["url"].endswith(BROKEN)
        assert "no date in the file name" in entry["reason"]
        assert "霍尼韦尔" in entry["excerpt"]
        # The date as the page shows it: no offset in the post means UTC (+8 hours on the page).
        naive = repo.get_article("NW202112082206735975")
        assert naive["published_at"] == "2021-12-08T18:39:01+08:00"
        pair = repo.get_article("NW202203302328599218")
        assert pair["categories"] == ["emnews", "shanghaifabu"]
        assert len(pair["urls"]) == 2
        (run,) = repo.recent_runs()
        assert run["spider"] == "import-archive"
        assert run["quarantined"] == 1


def test_reimport_changes_nothing(db: str) -> None:
    import_posts([POSTS], db)
    with Repository(db) as repo:
        before = list(repo.iter_articles())
    result = import_posts([POSTS], db)
    assert result.imported == 106
    with Repository(db) as repo:
        after = list(repo.iter_articles())
        assert [r["revision"] for r in after] == [1] * 76
        assert repo.revisions("NW202203302328599218") == []
    strip = ("last_seen_at",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in after] == [
        {k: v for k, v in r.items() if k not in strip} for r in before
    ]


def test_nothing_imported_is_a_failure(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["import-archive", "--database-url", db, str(POSTS / BROKEN)]) == 1
    assert cli.main(["import-archive", "--database-url", db, "no/such/folder"]) == 1
    assert "no/such/folder: no such file or folder" in capsys.readouterr().err


def test_invalid_post_is_quarantined_and_the_import_goes_on(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "archive" / "old_post"
    folder.mkdir(parents=True)
    shutil.copy(POSTS / "2021-12-01-init.md", folder)
    text = (POSTS / "2021-12-08-202112082206672930.md").read_text("utf-8")
    (folder / "2021-12-08-202112082206672930.md").write_text(
        text.replace("categories: emnews\n", ""), "utf-8"
    )  # no category: validation quarantines it
    result = import_posts([tmp_path / "archive"], db)
    assert (result.imported, result.quarantined, result.unreadable) == (1, 1, [])
    assert "quarantined: no category" in capsys.readouterr().err
    with Repository(db) as repo:
        assert repo.article_count() == 1
        assert "no category" in repo.list_quarantine()[0]["reason"]


def test_find_posts_recurses_and_skips_repeats(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.md", "a/b/y.md", "a/b/z.txt", "elsewhere/w.md", "elsewhere/v.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("", "utf-8")
    # A linked post file is read; a linked folder is not walked into (as os.walk does).
    (tmp_path / "a" / "linked.md").symlink_to(tmp_path / "elsewhere" / "w.md")
    (tmp_path / "a" / "folder.md").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    found = list(find_posts([tmp_path / "a", tmp_path / "a" / "x.md"]))
    assert [Path(p).relative_to(tmp_path).as_posix() for p in found] == [
        "a/b/y.md",
        "a/linked.md",
        "a/x.md",
    ]
