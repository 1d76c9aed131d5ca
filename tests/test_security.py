"""Security (issue 5): bound SQL parameters, no secrets in logs, a configurable User-Agent and rate.

- A title and body full of quotes, semicolons and SQL round-trip unchanged through the store and
  the export (and no product SQL is built by string formatting from data).
- A crawl with a PostgreSQL URL holding a password never writes the password: not in the log
  file, the console, `finews runs` nor `finews quarantine`.
- FINEWS_USER_AGENT reaches the server on every request; DOWNLOAD_DELAY spaces the requests.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from support.cli_runner import PROJECT_ROOT, finews_cli
from support.db_fixtures import PG_SERVER_URL, fresh_pg_database, pg_unavailable_reason, truth_row
from support.fault_runs import export_records, setting_args

from finews_crawler.items import ArticleItem
from finews_crawler.store import Repository

HOSTILE_TEXT = (
    "Robert'); DROP TABLE articles; -- \"quoted\" ; SELECT * FROM crawl_runs; '' \\ %s %(x)s"
)


def test_sql_only_through_bound_parameters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'finews.sqlite3'}"
    row = truth_row("/shanghaifabu/2022/03/30/NW202203302328599218.html")
    row = {**row, "title": HOSTILE_TEXT, "body_text": HOSTILE_TEXT, "media": HOSTILE_TEXT}
    with Repository(url) as repository:
        repository.write_items([ArticleItem(**row)])
        repository.quarantine("/x';--.html", HOSTILE_TEXT, HOSTILE_TEXT)
    (record,) = export_records(url)
    assert record["title"] == HOSTILE_TEXT
    assert record["media"] == HOSTILE_TEXT
    assert HOSTILE_TEXT in record["body_text"]
    with Repository(url) as repository:
        (entry,) = repository.list_quarantine()
        assert entry["reason"] == HOSTILE_TEXT and entry["url"] == "/x';--.html"
        assert repository.article_count() == 1


def test_no_sql_is_formatted_from_data() -> None:
    """SQL text built with f-strings or % may only interpolate constants or int()."""
    allowed = {"PRAGMA busy_timeout = {int(timeout)}", "SELECT version_num FROM {VERSION_TABLE}"}
    pattern = re.compile(r"""(?:execute|text|exec_driver_sql)\(\s*f["'](.*?)["']""")
    found = []
    for folder in ("finews_crawler", "pipelines"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                if match.group(1) not in allowed:
                    found.append(f"{path.name}: {match.group(1)}")
    assert not found, found


@pytest.mark.postgres
def test_database_password_never_logged(mirror, tmp_path: Path) -> None:
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with fresh_pg_database(PG_SERVER_URL) as plain:
        # Trust authentication accepts any password: the crawl works and must hide it.
        url = make_url(plain).set(password="s3cretPassw0rd").render_as_string(hide_password=False)
        env = {"FINEWS_DATABASE_URL": url, "FINEWS_LOG_LEVEL": "DEBUG"}
        log_file = tmp_path / "crawl.log"
        args = ["crawl", "shanghaifabu", "--lock-file", str(tmp_path / "lock")]
        args += ["--log-file", str(log_file), *setting_args({"LOG_LEVEL": "DEBUG"})]
        args += ["-s", f"FINEWS_BASE_URL={mirror.url}", "-s", "FINEWS_FOLLOW_SHARE=false"]
        crawl = finews_cli(args, env=env)
        assert crawl.returncode == 0, crawl.stderr[-2000:]
        runs = finews_cli(["runs", "--json"], env=env)
        quarantine = finews_cli(["quarantine", "--json"], env=env)
        log = log_file.read_text(encoding="utf-8")
        assert "Stored" in log or "finews/new" in log  # it did write to this database
        for name, text in {
            "log": log,
            "crawl output": crawl.stdout + crawl.stderr,
            "runs": runs.stdout + runs.stderr,
            "quarantine": quarantine.stdout + quarantine.stderr,
        }.items():
            assert "s3cretPassw0rd" not in text, name
        assert runs.returncode == 0 and '"outcome": "finished"' in runs.stdout


class _RecordingHandler(SimpleHTTPRequestHandler):
    log: list[tuple[float, str, str]]

    def do_GET(self) -> None:
        self.log.append((time.time(), self.path, self.headers.get("User-Agent", "")))
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_user_agent_and_rate_are_configurable(run_scrapy, site_dir: Path, tmp_path: Path) -> None:
    handler = partial(_RecordingHandler, directory=str(site_dir))
    _RecordingHandler.log = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        agent = "finews-test-agent/9.9 (+security test)"
        env = {"FINEWS_BASE_URL": base, "FINEWS_USER_AGENT": agent}
        settings = {
            "FINEWS_FOLLOW_SHARE": "false",
            "DOWNLOAD_DELAY": "0.2",
            "RANDOMIZE_DOWNLOAD_DELAY": "false",
            "CONCURRENT_REQUESTS": "1",
            "LOG_FILE": str(tmp_path / "crawl.log"),
        }
        result = run_scrapy(["crawl", "shanghaifabu", *setting_args(settings)], env=env)
        assert result.returncode == 0, (tmp_path / "crawl.log").read_text()[-2000:]
    finally:
        server.shutdown()
        server.server_close()
    log = list(_RecordingHandler.log)
    assert len(log) >= 4, log
    assert {ua for _, _, ua in log} == {agent}
    pages = sorted(t for t, path, _ in log if path != "/robots.txt")
    gaps = [b - a for a, b in itertools.pairwise(pages)]
    assert min(gaps) >= 0.17, gaps
