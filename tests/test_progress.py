"""Progress: live on a terminal (a pseudo-terminal here), nothing extra in a pipe.

Crawls (the `CrawlProgress` extension, `scrapy crawl` and a spider that says its total) and
exports (`ExportProgress`, `finews export`) are run in subprocesses whose stderr is a pty or a
pipe.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from support.paths import PROJECT_ROOT

from finews_crawler import cli
from finews_crawler.progress import ExportProgress, progress_mode

POSTS = PROJECT_ROOT / "tests" / "fixtures" / "posts"
BAR = "━"

COUNTED_SPIDER = textwrap.dedent(
    """
    import scrapy

    class Counted(scrapy.Spider):
        name = "counted"
        progress_total = 7
        custom_settings = {
            "EXTENSIONS": {"finews_crawler.progress.CrawlProgress": 500},
            "FINEWS_PROGRESS_INTERVAL": 0.05,
        }

        async def start(self):
            for n in range(7):
                yield {"n": n}
    """
)


def run_on(
    terminal: bool, args: Sequence[str], env: Mapping[str, str], cwd: Path
) -> tuple[int, str]:
    """Run `python ARGS` with stderr on a pseudo-terminal (or a pipe); exit status and stderr."""
    if not terminal:
        done = subprocess.run(
            [sys.executable, *args],
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, *args],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINEWS_", "SCRAPY_"))}
    env.pop("TERM", None)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return {**env, "COLUMNS": "120", **extra}


@pytest.mark.parametrize("terminal", [True, False])
def test_a_spider_with_a_total_gets_a_bar(tmp_path: Path, terminal: bool) -> None:
    (tmp_path / "counted.py").write_text(COUNTED_SPIDER, "utf-8")
    status, stderr = run_on(
        terminal, ["-m", "scrapy", "runspider", "counted.py"], clean_env(), tmp_path
    )
    assert status == 0, stderr
    if terminal:
        assert BAR in stderr and "7/7" in stderr and "100%" in stderr
        assert "items 7" in stderr and "pages/s" in stderr
        assert "Spider closed" in stderr  # the log still shows, above the progress
    else:
        assert BAR not in stderr and "pages/s" not in stderr
        assert "Spider closed" in stderr


@pytest.mark.parametrize("terminal", [True, False])
def test_crawl_progress(run_scrapy, tmp_path: Path, terminal: bool) -> None:
    env = run_scrapy.environment({"FINEWS_PROGRESS_INTERVAL": "0.05", "COLUMNS": "120"})
    env.pop("TERM", None)
    status, stderr = run_on(terminal, ["-m", "scrapy", "crawl", "shanghaifabu"], env, PROJECT_ROOT)
    assert status == 0, stderr
    if terminal:
        assert "shanghaifabu" in stderr and "pages/s" in stderr and "errors 0" in stderr
        assert BAR not in stderr  # a crawl does not know its total
    else:
        assert "pages/s" not in stderr
    assert "Spider closed (finished)" in stderr


def test_progress_can_be_switched_off_and_forced(tmp_path: Path) -> None:
    (tmp_path / "counted.py").write_text(COUNTED_SPIDER, "utf-8")
    args = ["-m", "scrapy", "runspider", "counted.py"]
    _, stderr = run_on(True, [*args, "-s", "FINEWS_PROGRESS=off"], clean_env(), tmp_path)
    assert "pages/s" not in stderr
    _, stderr = run_on(False, [*args, "-s", "FINEWS_PROGRESS=on"], clean_env(), tmp_path)
    assert "pages/s" in stderr
    assert [progress_mode(v) for v in ("auto", "1", "False", "ON")] == ["auto", "on", "off", "on"]
    with pytest.raises(ValueError, match="FINEWS_PROGRESS"):
        progress_mode("sometimes")


@pytest.mark.parametrize("terminal", [True, False])
def test_import_archive_progress(tmp_path: Path, terminal: bool) -> None:
    """The archive spider knows its total: the post files (108: one unreadable, one that
    validation quarantines, each counted once)."""
    invalid = tmp_path / "2021-12-08-202112082206999999.md"
    text = (POSTS / "2021-12-08-202112082206672930.md").read_text("utf-8")
    invalid.write_text(text.replace("categories: emnews\n", ""), "utf-8")
    args = ["-m", "finews_crawler.cli", "import-archive", str(POSTS), str(invalid)]
    args += ["--database-url", f"sqlite:///{tmp_path / 'finews.sqlite3'}"]
    env = clean_env(FINEWS_PROGRESS_INTERVAL="0.05")
    status, stderr = run_on(terminal, args, env, tmp_path)
    assert status == 0, stderr
    if terminal:  # the reports are printed above the bar (wrapped at the terminal's width)
        assert BAR in stderr and "108/108" in stderr and "100%" in stderr
        assert "import-archive" in stderr and "posts 107 · items 76" in stderr
        assert "posts/s" in stderr
    else:
        assert BAR not in stderr and "pages/s" not in stderr and "posts/s" not in stderr
        assert "no date in the file name" in stderr and "quarantined: no category" in stderr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('progress') / 'finews.sqlite3'}"
    cli.main(["import-archive", str(POSTS), "--database-url", url])
    return url


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "jekyll"])
@pytest.mark.parametrize("terminal", [True, False])
def test_export_progress(corpus: str, tmp_path: Path, fmt: str, terminal: bool) -> None:
    output = tmp_path / ("out.jsonl" if fmt == "jsonl" else "out")
    args = ["-m", "finews_crawler.cli", "export", "--format", fmt, "--output", str(output)]
    status, stderr = run_on(terminal, [*args, "--database-url", corpus], clean_env(), tmp_path)
    assert status == 0, stderr
    total = 76 if fmt != "jekyll" else 106  # articles; posts (one per page)
    if terminal:
        assert f"{total}/{total}" in stderr and "100%" in stderr and BAR in stderr
    else:
        assert stderr == ""  # the summary goes to stdout; nothing else is printed


def test_export_progress_counts_without_a_terminal() -> None:
    piped = io.StringIO()
    with ExportProgress(total=10, stream=piped) as progress:
        progress.advance(5)
    assert progress.count == 5 and not progress.enabled and piped.getvalue() == ""
    forced = io.StringIO()
    with ExportProgress(total=10, stream=forced, enabled=True) as progress:
        progress.advance(10)
    assert "10/10" in forced.getvalue() and "100%" in forced.getvalue()
    unknown = io.StringIO()
    with ExportProgress(stream=unknown, enabled=True) as progress:
        progress.advance(3)
    assert "3 records" in unknown.getvalue() and BAR not in unknown.getvalue()
