"""`scrapy crawl archive`: the archive's posts on Scrapy's engine, one run with its health.

Through the `scrapy` command (a subprocess) on the bundled posts: every readable post stored, the
unreadable one quarantined with its file and reason, one `crawl_runs` row with the run-health
verdict, judged against earlier archive runs only (a crawl's listings are no measure of an
archive). In process: the spider's arguments, and `finews import-archive` naming the post file of
an item that validation refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.paths import FIXTURES

from finews_crawler.commands.import_archive import import_posts
from finews_crawler.spiders.archive import ArchiveSpider
from finews_crawler.store.repository import Repository

POSTS = FIXTURES / "posts"
BROKEN = "-202205262391921712.md"
PAIR = ("2022-03-30-202203302328599218.md", "2022-03-30-NW202203302328599218.md")


def crawl_archive(run_scrapy, path: str) -> str:
    result = run_scrapy(["crawl", "archive", "-a", f"path={path}", "-s", "LOG_LEVEL=INFO"])
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def test_scrapy_crawl_archive_stores_posts_and_judges_the_run(run_scrapy) -> None:
    log = crawl_archive(run_scrapy, str(POSTS))
    assert f"Unreadable post {POSTS / BROKEN}: no date in the file name" in log
    assert "Spider closed (finished)" in log
    with Repository(run_scrapy.database_url) as repo:
        assert repo.article_count() == 76
        (entry,) = repo.list_quarantine()
        assert entry["url"] == str(POSTS / BROKEN)
        assert "no date in the file name" in entry["reason"]
        assert "霍尼韦尔" in entry["excerpt"]
        (run,) = repo.recent_runs()
        assert (run["spider"], run["outcome"], run["verdict"]) == ("archive", "finished", "healthy")
        assert run["health_reasons"] == [] and run["quarantined"] == 1
        assert run["id"] == entry["run_id"]
        stats = run["stats"]
        assert stats["finews/import/posts"] == 107 and stats["finews/pages"] == 106
        assert stats["finews/import/unreadable"] == 1 and stats["finews/offline"] is True
        assert stats["item_scraped_count"] + stats["item_dropped_count"] == 106
        assert "downloader/request_count" not in stats  # nothing was fetched


def test_an_archive_run_is_judged_against_archive_runs_only(run_scrapy) -> None:
    with Repository(run_scrapy.database_url) as repo:
        for _ in range(3):  # crawls whose listings linked many articles
            run_id = repo.start_run("finews")
            stats = {"finews/articles_listed": 500, "finews/pages": 400, "finews/valid": 400}
            repo.finish_run(run_id, "finished", {"pages": 400}, stats, "healthy")
    crawl_archive(run_scrapy, str(POSTS))
    log = crawl_archive(run_scrapy, str(POSTS))  # compared with the first archive run
    assert "is healthy" in log
    with Repository(run_scrapy.database_url) as repo:
        archive_runs = [run for run in repo.recent_runs() if run["spider"] == "archive"]
        assert [run["verdict"] for run in archive_runs] == ["healthy", "healthy"]
        assert archive_runs[0]["stats"]["finews/health/reasons"] == []


def test_an_archive_that_stops_giving_articles_is_unhealthy(run_scrapy, tmp_path: Path) -> None:
    crawl_archive(run_scrapy, str(POSTS))
    folder = tmp_path / "no_categories"
    folder.mkdir()
    for post in sorted(POSTS.glob("2021-12-08-*.md"))[:20]:
        text = post.read_text("utf-8").replace("categories: emnews\n", "")
        (folder / post.name).write_text(text, "utf-8")  # validation quarantines each
    crawl_archive(run_scrapy, str(folder))
    with Repository(run_scrapy.database_url) as repo:
        latest = repo.recent_runs()[0]
    assert latest["verdict"] == "unhealthy"
    (reason,) = latest["health_reasons"]
    assert reason.startswith("only 0 of 20 posts gave a valid article (0%), against 100%")


def test_several_paths_comma_separated(run_scrapy, tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(POSTS / PAIR[0], folder)
    log = crawl_archive(run_scrapy, f"{folder},{POSTS / PAIR[1]},{folder / PAIR[0]}")
    assert "'finews/import/posts': 2" in log  # the file inside the folder given is read once
    with Repository(run_scrapy.database_url) as repo:
        article = repo.get_article("NW202203302328599218")
        assert article["categories"] == ["emnews", "shanghaifabu"]


def test_spider_arguments() -> None:
    assert ArchiveSpider(path="a.md, ,b/").paths == ["a.md", "b/"]
    assert ArchiveSpider(path=["a,b.md"]).paths == ["a,b.md"]  # a list from code is kept whole
    with pytest.raises(ValueError, match="-a path="):
        ArchiveSpider()
    assert ArchiveSpider(path="a.md", name="import-archive").name == "import-archive"


def test_a_quarantined_post_is_reported_with_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`source_of` gives the import command the file of an item validation refused."""
    name = "2021-12-08-202112082206672930.md"
    text = (POSTS / name).read_text("utf-8").replace("categories: emnews\n", "")
    (tmp_path / name).write_text(text, "utf-8")
    shutil.copy(POSTS / PAIR[0], tmp_path)
    result = import_posts([tmp_path], f"sqlite:///{tmp_path / 'finews.sqlite3'}")
    assert (result.imported, result.quarantined) == (1, 1)
    assert f"{tmp_path / name}: quarantined: no category" in capsys.readouterr().err
