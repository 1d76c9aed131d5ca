"""`finews status`: the dead-man's switch, on SQLite and PostgreSQL."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from support.cli_runner import finews_cli
from support.db_fixtures import database_url, pg_database, pg_server, truth_rows  # noqa: F401

from finews_crawler.cli import main
from finews_crawler.commands.status import EXIT_DATABASE, EXIT_OK, EXIT_SPOOL, EXIT_STALE
from finews_crawler.durations import format_age, parse_duration
from finews_crawler.store import Repository
from finews_crawler.store.models import Article, CrawlRun, QuarantineEntry
from finews_crawler.store.spool import Spool
from localsite.server import setting_args


def status(capsys, database_url: str, spool_dir: Path, *args: str) -> tuple[int, dict]:
    code = main(["status", "--database-url", database_url, "--spool-dir", str(spool_dir), *args])
    out = capsys.readouterr()
    assert out.err == "", out.err  # --json: the report is the one object on stdout
    return code, json.loads(out.out)


def add_run(
    repository: Repository, spider: str, verdict: str | None, age: timedelta, outcome="finished"
) -> int:
    run_id = repository.start_run(spider)
    repository.finish_run(run_id, outcome, {}, {"finews/pages": 1}, verdict)
    when = datetime.now(UTC) - age
    with repository.engine.begin() as connection:
        connection.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(started_at=when - timedelta(minutes=1), finished_at=when)
        )
    return run_id


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90m", 5400), ("6h", 21600), ("2d", 172800), ("1w", 604800), ("30s", 30), ("3600", 3600)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "-5m", "5 years", "2h30m"])
def test_durations_refused(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_ages_read_short():
    assert [format_age(timedelta(seconds=s)) for s in (5, 600, 3 * 3600 + 300, 2 * 86400)] == [
        "5s",
        "10m",
        "3h05m",
        "2d00h",
    ]


def test_max_age_judges_the_newest_successful_run(database_url, tmp_path, capsys):
    spool = tmp_path / "spool"
    with Repository(database_url) as repository:
        code, report = status(capsys, database_url, spool, "--max-age", "2h", "--json")
        assert code == EXIT_STALE and report["problems"] == ["no successful run recorded"]

        healthy = add_run(repository, "finews", "healthy", timedelta(hours=3))
        # Newer runs that did not succeed do not count as signs of life.
        add_run(repository, "finews", "unhealthy", timedelta(minutes=10))
        add_run(repository, "finews", "failed", timedelta(minutes=5), outcome="failed")
        add_run(repository, "finews", None, timedelta(minutes=1), outcome="running")

    code, report = status(capsys, database_url, spool, "--max-age", "2h", "--json")
    assert code == EXIT_STALE
    assert report["exit_status"] == EXIT_STALE
    assert "the newest successful run finished 3h00m ago" in report["problems"][0]
    [finews] = report["spiders"]
    assert (finews["spider"], finews["run_id"], finews["runs"]) == ("finews", healthy, 4)
    assert 3 * 3600 - 60 < finews["age_seconds"] < 3 * 3600 + 60
    assert status(capsys, database_url, spool, "--max-age", "4h", "--json")[0] == EXIT_OK
    assert status(capsys, database_url, spool, "--json")[0] == EXIT_OK  # age not judged

    # A run recorded before runs were judged (no verdict) counts when it finished.
    with Repository(database_url) as repository:
        add_run(repository, "import-archive", None, timedelta(minutes=30))
        add_run(repository, "shanghaifabu", "unhealthy", timedelta(minutes=3))
    code, report = status(capsys, database_url, spool, "--max-age", "2h", "--json")
    assert code == EXIT_OK and report["problems"] == []
    assert [s["spider"] for s in report["spiders"]] == ["import-archive", "finews", "shanghaifabu"]
    assert report["spiders"][-1]["run_id"] is None
    code, report = status(
        capsys, database_url, spool, "--max-age", "2h", "--spider", "finews", "--json"
    )
    assert code == EXIT_STALE and "run of finews finished" in report["problems"][0]
    code, report = status(
        capsys, database_url, spool, "--max-age", "2h", "--spider", "shanghaifabu", "--json"
    )
    assert code == EXIT_STALE
    assert report["problems"] == ["no successful run of shanghaifabu recorded"]


def test_spool_not_draining(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    spool_dir = tmp_path / "spool"
    with Repository(db) as repository:
        add_run(repository, "finews", "healthy", timedelta(minutes=5))
    spool = Spool(spool_dir)
    fresh = spool.write([{"kind": "item", "item": {"url": "/a"}}, {"kind": "item", "item": {}}])
    code, report = status(capsys, db, spool_dir, "--max-age", "1h", "--json")
    assert code == EXIT_OK
    assert report["spool"]["files"] == 1 and report["spool"]["records"] == 2
    assert report["spool"]["draining"] is True

    stale = spool.write([{"kind": "quarantine", "url": "/b", "reason": "r"}])
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(stale, (two_hours_ago, two_hours_ago))
    code, report = status(capsys, db, spool_dir, "--max-age", "1h", "--json")
    assert code == EXIT_SPOOL
    assert report["spool"]["draining"] is False and report["spool"]["files"] == 2
    assert "the spool is not draining: 2 files wait" in report["problems"][0]
    assert status(capsys, db, spool_dir, "--spool-max-age", "3h", "--json")[0] == EXIT_OK
    code, _ = status(capsys, db, spool_dir, "--max-age", "1m", "--json")
    assert code == EXIT_STALE | EXIT_SPOOL == 5

    # Human output: on stderr when something is wrong, so cron `>/dev/null` mails only trouble.
    assert main(["status", "--database-url", db, "--spool-dir", str(spool_dir)]) == EXIT_SPOOL
    out = capsys.readouterr()
    assert out.out == "" and "PROBLEM: the spool is not draining" in out.err
    stale.unlink()
    fresh.unlink()
    assert main(["status", "--database-url", db, "--spool-dir", str(spool_dir)]) == EXIT_OK
    out = capsys.readouterr()
    assert "finews: run 1" in out.out and out.out.rstrip().endswith("OK")


def test_unreadable_database(tmp_path, capsys):
    missing = tmp_path / "nothing-here.sqlite3"
    code, report = status(capsys, f"sqlite:///{missing}", tmp_path, "--json")
    assert code == EXIT_DATABASE and "no SQLite database" in report["problems"][0]
    assert not missing.exists()  # a check never creates the database it looks at
    down = "postgresql://postgres@127.0.0.1:9/finews"
    code, report = status(capsys, down, tmp_path, "--json")
    assert code == EXIT_DATABASE and "could not be read" in report["problems"][0]


def test_articles_and_quarantine_last_day_against_the_days_before(database_url, tmp_path, capsys):
    rows = truth_rows()[:12]
    now = datetime.now(UTC)
    with Repository(database_url) as repository:
        repository.write_items(rows)
        for _ in range(3):
            repository.quarantine("/x.html", "no date")
        with repository.engine.begin() as connection:
            ids = [row.id for row in connection.execute(Article.__table__.select())]
            # Stored in this order: 3 articles three days ago, 3 two days ago, 6 today (an old
            # article changed today); one quarantine entry 30 hours ago.
            for article_ids, days in ((ids[:3], 3), (ids[3:6], 2)):
                connection.execute(
                    update(Article)
                    .where(Article.id.in_(article_ids))
                    .values(
                        first_seen_at=now - timedelta(days=days, hours=1),
                        changed_at=now - timedelta(days=days, hours=1),
                    )
                )
            connection.execute(update(Article).where(Article.id == ids[0]).values(changed_at=now))
            first = connection.execute(QuarantineEntry.__table__.select()).first()
            connection.execute(
                update(QuarantineEntry)
                .where(QuarantineEntry.id == first.id)
                .values(created_at=now - timedelta(hours=30))
            )
    code, report = status(capsys, database_url, tmp_path / "spool", "--json")
    assert code == EXIT_OK
    # Days before: from the oldest article (3 days 1 hour ago) to a day ago: 3 whole days.
    assert report["articles"] == {"last_day": 6, "per_day_before": 2.0, "days_before": 3}
    assert report["quarantine"] == {"last_day": 2, "per_day_before": 1.0, "days_before": 1}
    assert report["database"]["bytes"] > 0


@pytest.mark.slow
def test_stale_database_fails_and_a_fresh_crawl_passes(database_url, tmp_path, mirror):
    with Repository(database_url) as repository:
        add_run(repository, "shanghaifabu", "healthy", timedelta(days=2))
    env = {"FINEWS_DATABASE_URL": database_url, "FINEWS_SPOOL_DIR": str(tmp_path / "spool")}
    stale = finews_cli(["status", "--max-age", "2h"], env=env, cwd=tmp_path)
    assert stale.returncode == EXIT_STALE
    assert "PROBLEM: the newest successful run finished 2d00h ago" in stale.stderr

    crawl = finews_cli(
        [
            "crawl",
            "shanghaifabu",
            "--lock-file",
            str(tmp_path / "crawl.lock"),
            *setting_args(mirror.crawl_settings()),
        ],
        env=env,
        cwd=tmp_path,
    )
    assert crawl.returncode == 0, crawl.stderr
    fresh = finews_cli(["status", "--max-age", "2h", "--json"], env=env, cwd=tmp_path)
    assert fresh.returncode == EXIT_OK, fresh.stdout + fresh.stderr
    report = json.loads(fresh.stdout)
    assert report["newest_success_age_seconds"] < 7200
    assert report["articles"]["last_day"] > 0
    [spider] = report["spiders"]
    assert spider["runs"] == 2 and spider["verdict"] == "healthy"
