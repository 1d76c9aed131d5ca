"""Run health: a run far below the previous runs of its spider is a failure, with its reason."""

from __future__ import annotations

import subprocess

from support.cli_runner import finews_cli

from finews_crawler.health import health_problems
from localsite.server import MirrorServer, setting_args


def run(listed: int, coverage: dict | None = None, valid: int = 0) -> dict:
    stats = {"finews/articles_listed": listed, "finews/valid": valid}
    if coverage is not None:
        stats["field_coverage"] = coverage
    return {"stats": stats}


def test_first_run_and_a_quiet_rerun_are_healthy() -> None:
    assert health_problems(run(106)["stats"], []) == []
    # Nothing new: no item, but the listings still link every article.
    assert health_problems(run(106)["stats"], [run(106, {"title": 1.0}, valid=106)]) == []


def test_listings_that_collapse_are_reported() -> None:
    problems = health_problems(run(3)["stats"], [run(106), run(100), run(110)])
    assert len(problems) == 1 and "linked 3 articles, against 106" in problems[0]


def test_field_coverage_that_collapses_is_reported() -> None:
    before = [run(106, {"title": 1.0, "media": 0.3, "tags": 1.0}, valid=106)] * 3
    now = run(106, {"title": 0.1, "media": 0.0, "tags": 1.0}, valid=50)["stats"]
    problems = health_problems(now, before)
    assert problems == ["only 10% of items have title, against 100% in recent runs"]
    few_items = run(106, {"title": 0.0}, valid=3)["stats"]
    assert health_problems(few_items, before) == []


def test_finews_crawl_fails_when_the_site_stops_listing_articles(
    tmp_path, mirror, serve_site, site_dir
):
    db = f"sqlite:///{tmp_path / 'finews.sqlite3'}"

    def crawl(site: MirrorServer) -> subprocess.CompletedProcess[str]:
        args = ["crawl", "finews", "--database-url", db, *setting_args(site.crawl_settings())]
        return finews_cli(args, cwd=tmp_path)

    assert crawl(mirror).returncode == 0
    assert crawl(mirror).returncode == 0  # nothing new is healthy
    # The site "changes its markup": every page is still there, but no listing links an article.
    changed = tmp_path / "changed-site"
    for page in [
        "index.html",
        "feed.xml",
        "emnews/index.html",
        *(f"category/{p.name}" for p in (site_dir / "category").glob("*.html")),
    ]:
        (changed / page).parent.mkdir(parents=True, exist_ok=True)
        (changed / page).write_text("<html><body><p>新版页面</p></body></html>", "utf-8")
    broken = crawl(serve_site(changed))
    assert broken.returncode == 1
    assert "did the site change its markup" in broken.stderr
