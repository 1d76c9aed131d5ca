"""The package works when installed as a zipped egg (scrapyd deploys those) and as a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_migrations_run_from_a_zipped_package(tmp_path: Path) -> None:
    egg = tmp_path / "finews.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        for package in ("finews_crawler", "pipelines"):
            for path in (PROJECT_ROOT / package).rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(PROJECT_ROOT).as_posix())
    script = (
        "import finews_crawler, sys\n"
        "assert finews_crawler.__file__.startswith(sys.argv[1]), finews_crawler.__file__\n"
        "from finews_crawler.store.repository import Repository\n"
        "with Repository(sys.argv[2]) as repository:\n"
        "    print(repository.article_count(), repository.recent_runs())\n"
    )
    database = f"sqlite:///{tmp_path / 'egg.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", script, str(egg), database],
        env={"PYTHONPATH": str(egg), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "0 []"


def test_scrapy_finds_the_project_settings_through_the_entry_point() -> None:
    text = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points.scrapy]\nsettings = "finews_crawler.settings"' in text
