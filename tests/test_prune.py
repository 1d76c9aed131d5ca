"""`finews db prune`: old runs' stats and resolved quarantine entries, on SQLite and PostgreSQL."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from support.db_fixtures import database_url, pg_database, pg_server, truth_rows  # noqa: F401

from finews_crawler.cli import main
from finews_crawler.health import PREVIOUS_RUNS
from finews_crawler.store import Repository
from finews_crawler.store.models import ArticlePage, CrawlRun, QuarantineEntry
from finews_crawler.store.prune import prune

STATS = {"finews/pages": 10, "field_coverage": {"title": 1.0}}


def add_run(repository: Repository, spider: str, outcome: str, age: timedelta) -> int:
    run_id = repository.start_run(spider)
    if outcome != "running":
        repository.finish_run(run_id, outcome, {"pages": 10}, STATS, "healthy")
    started = datetime.now(UTC) - age
    with repository.engine.begin() as connection:
        connection.execute(
            update(CrawlRun).where(CrawlRun.id == run_id).values(started_at=started, stats=STATS)
        )
    return run_id


def quarantine_at(repository: Repository, url: str, age: timedelta) -> int:
    entry = repository.quarantine(url, "fetch failed: http 503")
    with repository.engine.begin() as connection:
        connection.execute(
            update(QuarantineEntry)
            .where(QuarantineEntry.id == entry)
            .values(created_at=datetime.now(UTC) - age)
        )
    return entry


def stats_by_run(repository: Repository) -> dict[int, dict]:
    with repository.engine.connect() as connection:
        return dict(connection.execute(select(CrawlRun.id, CrawlRun.stats)).all())


def quarantine_ids(repository: Repository) -> set[int]:
    with repository.engine.connect() as connection:
        return set(connection.scalars(select(QuarantineEntry.id)))


def test_prune_old_stats_and_resolved_quarantine(database_url, capsys):
    old, month = timedelta(days=40), timedelta(days=30)
    rows = truth_rows()[:2]
    with Repository(database_url) as repository:
        finews_old = [add_run(repository, "finews", "finished", old) for _ in range(8)]
        failed = add_run(repository, "finews", "failed", old)
        running = add_run(repository, "finews", "running", old)
        recent = add_run(repository, "finews", "finished", timedelta(days=1))
        fabu = [add_run(repository, "shanghaifabu", "finished", old) for _ in range(2)]

        repository.write_items(rows)
        resolved = quarantine_at(repository, rows[0]["url"], old)  # stored later: a passing failure
        stale_page = quarantine_at(repository, rows[1]["url"], old)
        never = quarantine_at(repository, "/never/stored.html", old)
        young = quarantine_at(repository, rows[0]["url"], timedelta(days=1))
        with repository.engine.begin() as connection:
            # The second page was stored before its entry and not read since: not resolved.
            connection.execute(
                update(ArticlePage)
                .where(ArticlePage.path == rows[1]["url"])
                .values(last_seen_at=datetime.now(UTC) - timedelta(days=50))
            )

        # The newest finished runs of each spider keep their stats: run health reads them.
        baseline = {recent, *finews_old[-(PREVIOUS_RUNS - 1) :], *fabu}
        pruned_runs = set(finews_old[: 8 - (PREVIOUS_RUNS - 1)]) | {failed}

        counts = prune(repository, month, datetime.now(UTC), dry_run=True)
        assert counts == {"run_stats": len(pruned_runs), "quarantine": 1}
        assert all(stats == STATS for stats in stats_by_run(repository).values())
        assert len(quarantine_ids(repository)) == 4

        assert main(["db", "prune", "--older-than", "30d", "--database-url", database_url]) == 0
        assert capsys.readouterr().out.strip() == (
            f"pruned (older than 30d00h): stats of {len(pruned_runs)} crawl runs,"
            " 1 resolved quarantine entries"
        )
        stats = stats_by_run(repository)
        assert {run for run, value in stats.items() if value == {}} == pruned_runs
        assert all(stats[run] == STATS for run in baseline | {running})
        assert quarantine_ids(repository) == {stale_page, never, young}
        assert resolved not in quarantine_ids(repository)
        # Rows stay, with their counts and verdicts; health still has its history.
        assert len(repository.recent_runs(100)) == len(stats)
        assert all(run["stats"] == STATS for run in repository.finished_runs("finews", 5))
        assert repository.get_run(failed)["pages"] == 10

        assert prune(repository, month, datetime.now(UTC)) == {"run_stats": 0, "quarantine": 0}


def test_prune_needs_an_age(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    assert main(["db", "prune", "--database-url", db]) == 2
    assert "--older-than" in capsys.readouterr().err
