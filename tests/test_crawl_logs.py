"""`finews crawl` keeps its log folder bounded: FINEWS_LOG_KEEP files, FINEWS_LOG_MAX_BYTES."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from support.cli_runner import finews_cli

from finews_crawler.commands.crawl import rotate_logs
from localsite.server import setting_args


def make_logs(directory: Path, sizes: list[int]) -> list[Path]:
    """Crawl logs, oldest first, one minute apart, of the given sizes."""
    directory.mkdir(parents=True, exist_ok=True)
    logs = []
    now = time.time()
    for number, size in enumerate(sizes):
        path = directory / f"finews-20260101T00{number:02d}00Z.log"
        path.write_bytes(b"x" * size)
        when = now - 60 * (len(sizes) - number)
        os.utime(path, (when, when))
        logs.append(path)
    return logs


def test_keeps_the_newest_files(tmp_path):
    logs = make_logs(tmp_path, [10] * 6)
    other = tmp_path / "cron.log"
    other.write_text("appended by cron", encoding="utf-8")
    deleted = rotate_logs(tmp_path, keep=4, max_bytes=0, current=logs[-1])
    assert sorted(deleted) == logs[:2]
    assert sorted(p for p in tmp_path.iterdir() if p != other) == logs[2:]
    assert other.exists()  # only files named like crawl logs are touched
    assert rotate_logs(tmp_path, keep=0, max_bytes=0, current=logs[-1]) == []


def test_keeps_at_most_max_bytes_never_the_current_log(tmp_path):
    logs = make_logs(tmp_path, [100, 5, 300, 100])
    # Newest first: 100 + 300 > 350, so the 300-byte log and every older one go, even the
    # 5-byte one that would still fit: never a newer log before an older one.
    assert sorted(rotate_logs(tmp_path, keep=0, max_bytes=350, current=logs[-1])) == logs[:3]
    big = make_logs(tmp_path / "big", [10, 1000])
    assert rotate_logs(tmp_path / "big", keep=1, max_bytes=100, current=big[-1]) == [big[0]]
    assert big[-1].exists()


@pytest.mark.slow
def test_finews_crawl_rotates_its_logs(tmp_path, mirror):
    logs_dir = tmp_path / "data" / "logs"
    old = make_logs(logs_dir, [10, 10, 10])
    cron = logs_dir / "cron.log"
    cron.write_text("cron output\n", encoding="utf-8")
    result = finews_cli(
        [
            "crawl",
            "shanghaifabu",
            "--database-url",
            f"sqlite:///{tmp_path / 'finews.sqlite3'}",
            "--lock-file",
            str(tmp_path / "crawl.lock"),
            "-s",
            "FINEWS_LOG_KEEP=2",
            *setting_args(mirror.crawl_settings()),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    [current] = [p for p in logs_dir.glob("shanghaifabu-*.log")]
    assert sorted(logs_dir.iterdir()) == sorted([cron, old[-1], current])
    assert "Deleted 2 old crawl logs" in current.read_text(encoding="utf-8")
