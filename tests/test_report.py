"""`finews report`: one self-contained HTML file whose charts a browser draws.

The corpus posts are imported (one import run, one quarantined post) and a few crawl runs are
recorded with counts, field coverage and a health verdict; the report is written with `finews
report` and opened in headless Chromium: the screenshot must show each chart in its colour and
Chinese text in real glyphs.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.chromium import (
    bounding_box,
    inked,
    keep,
    pixels_of,
    requires_chromium,
    screenshot,
    text_render,
)

from finews_crawler import cli
from finews_crawler.export import charts
from finews_crawler.export.report import STYLE, build_report, run_verdict
from finews_crawler.store import Repository

POSTS = Path(__file__).parent / "fixtures" / "posts"
FONTS = re.search(r"font-family: ([^;]+);", STYLE).group(1)  # type: ignore[union-attr]


def record_runs(repository: Repository) -> None:
    """Five crawl runs, the last one unhealthy (coverage collapsed, errors)."""
    full = {"title": 1.0, "published_at": 1.0, "body_text": 1.0, "categories": 1.0, "media": 0.7}
    for n in range(5):
        run_id = repository.start_run("finews", run_key=f"run-{n}")
        last = n == 4
        stats = {
            "field_coverage": {**full, "media": 0.1} if last else full,
            "finews/health/verdict": "unhealthy" if last else "healthy",
            "finews/health/reasons": ["media coverage fell to 10%"] if last else [],
        }
        counts = {"pages": 120 - 40 * last, "new": 30 - n, "errors": 6 * last}
        repository.finish_run(run_id, "finished", counts, stats)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'finews.sqlite3'}"
    # Imported by a relative path: quarantine entries (shown in the report and its committed
    # screenshot) then name `posts/...`, no folder of this machine.
    here = Path.cwd()
    os.chdir(POSTS.parent)
    try:
        cli.main(["import-archive", POSTS.name, "--database-url", url])
    finally:
        os.chdir(here)
    with Repository(url) as repository:
        record_runs(repository)
    return url


@pytest.fixture(scope="module")
def report(corpus: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("out") / "report.html"
    assert cli.main(["report", "--output", str(output), "--database-url", corpus]) == 0
    return output


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<img|@import|url\(|src=", html, re.I)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)
    assert html.count("<svg") == 5  # per day, media, stocks, runs, coverage


def test_report_content(report: Path, corpus: str) -> None:
    html = report.read_text("utf-8")
    with Repository(corpus) as repository:
        total = repository.article_count()
        runs = repository.recent_runs(20)
    assert f"<b>{total:,}</b>articles" in html
    for text in ("上海发布", "shanghaifabu", "emnews", "unhealthy", "media coverage fell to 10%"):
        assert text in html
    assert "no date in the file name" in html  # the quarantine summary
    assert all(f"#{run['id']}" in html for run in runs)
    assert "import-archive" in html


def test_verdict_falls_back_to_the_outcome() -> None:
    assert run_verdict({"outcome": "failed", "stats": {"outcome_reason": "fetched nothing"}}) == (
        "failed",
        "fetched nothing",
    )
    assert run_verdict({"outcome": "finished", "health": "healthy", "stats": {}})[0] == "healthy"


def test_empty_database(tmp_path: Path) -> None:
    with Repository(f"sqlite:///{tmp_path / 'empty.sqlite3'}") as repository:
        html = build_report(repository, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert "No dated articles yet." in html and "no runs yet" in html


def test_charts_escape_labels() -> None:
    svg = charts.horizontal_bars([("<b>&", 3)])
    assert "&lt;b&gt;&amp;" in svg and "<b>" not in svg
    assert charts.stacked_columns(["2022-01-01"], {"a": [0]}).startswith("<svg")
    assert "#d1d5db" in charts.heatmap(["f"], ["#1"], {})  # unknown coverage is grey


@requires_chromium
def test_report_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    image = screenshot(report.as_uri(), png, 1000, 2000)
    # Every chart is drawn in its colour: per-day columns (first series), media, stocks.
    per_day = bounding_box(image, charts.PALETTE[0])
    assert per_day is not None and pixels_of(image, charts.PALETTE[0]) > 500
    media = bounding_box(image, charts.PALETTE[1])
    stocks = bounding_box(image, charts.PALETTE[2])
    assert media is not None and stocks is not None
    assert media[0] < stocks[0]  # side by side: media left, stocks right
    assert pixels_of(image, charts.PALETTE[1]) > 500 and pixels_of(image, charts.PALETTE[2]) > 500
    # The coverage heatmap: full coverage in green, the collapsed field in red-ish.
    assert pixels_of(image, charts._share_colour(1.0)) > 300
    assert pixels_of(image, charts._share_colour(0.1)) > 100
    keep(png, "report.png")


@requires_chromium
def test_chinese_renders_as_glyphs_not_tofu(tmp_path: Path) -> None:
    """Different characters render differently in the report's fonts (tofu boxes are alike),
    and differently from a box of the same size."""
    first = text_render(tmp_path, "金融", FONTS)
    second = text_render(tmp_path, "消息", FONTS)
    assert first.getbbox() is not None
    assert first.tobytes() != second.tobytes()
    assert inked(first) > 500 and inked(second) > 500
    boxes = text_render(tmp_path, "\U000f0000\U000f0001", FONTS)  # private use: no font has them
    assert boxes.tobytes() != first.tobytes()


def test_now_is_shown_in_site_time(corpus: str) -> None:
    with Repository(corpus) as repository:
        html = build_report(repository, now=datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    assert "Written 2026-01-01 08:00 (GMT+8)" in html
