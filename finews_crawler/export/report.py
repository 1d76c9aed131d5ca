"""The corpus at a glance: one self-contained HTML file with charts and tables.

What came in per day and category, the media and stocks most in the news, and whether the
recent runs were healthy (pages, new articles, errors, field coverage, duration, verdict), with
the last runs and the quarantine as tables. Charts are inline SVG (`export.charts`); the page
loads nothing (no script, font, image or style sheet from anywhere) and uses the browser's own
fonts, Chinese included. The run verdict is the health extension's (`health` on the run or the
`finews/health/verdict` stat) when runs carry one, else the run's outcome.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finews_crawler.export import charts
from finews_crawler.site import SITE_TZ
from finews_crawler.store import queries

if TYPE_CHECKING:
    from finews_crawler.store.repository import Repository

#: Days of the per-day chart (ending with the newest article).
DAYS = 30
#: Categories drawn as their own series; the rest are "other".
TOP_CATEGORIES = 8
TOP_N = 10
RUNS = 20
#: Fields whose coverage the run health chart shows.
COVERAGE_FIELDS = ("title", "published_at", "body_text", "categories", "media", "digest", "stocks")
VERDICT_STAT = "finews/health/verdict"
REASONS_STAT = "finews/health/reasons"

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; margin: 24px auto; max-width: 960px; color: #111827; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; }
.lead { color: #4b5563; } .row { display: flex; gap: 24px; flex-wrap: wrap; }
.row > div { flex: 1 1 440px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 6px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #15803d; } .bad { color: #b91c1c; font-weight: 600; } .warn { color: #b45309; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }
.tile { border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.tile b { display: block; font-size: 22px; }
"""


def run_verdict(run: dict[str, Any]) -> tuple[str, str]:
    """The run's verdict and why: the health check's when recorded, else the outcome."""
    stats = run.get("stats") or {}
    verdict = run.get("health") or stats.get(VERDICT_STAT) or run.get("outcome") or "?"
    reasons = run.get("health_reasons") or stats.get(REASONS_STAT) or stats.get("outcome_reason")
    if isinstance(reasons, list | tuple):
        reasons = "; ".join(str(reason) for reason in reasons)
    return str(verdict), str(reasons or "")


def _verdict_class(verdict: str) -> str:
    if verdict in ("finished", "healthy", "ok"):
        return "ok"
    if verdict in ("running", "degraded", "warning"):
        return "warn"
    return "bad"


class Markup(str):
    """Table cell text that is already HTML."""


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="n"' if i in numeric else ""
            cells.append(f"<td{css}>{cell if isinstance(cell, Markup) else escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}">none</td></tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _per_day_chart(days: dict[str, Counter[str]]) -> str:
    labels = list(days)[-DAYS:]
    if not labels:
        return "<p>No dated articles yet.</p>"
    totals: Counter[str] = Counter()
    for day in labels:
        totals.update(days[day])
    top = [name for name, _ in totals.most_common(TOP_CATEGORIES)]
    series = {name: [days[day][name] for day in labels] for name in top}
    other = [
        sum(days[day].values()) - sum(s[i] for s in series.values()) for i, day in enumerate(labels)
    ]
    if any(other):
        series["other"] = other
    return charts.stacked_columns(labels, series, label="articles per day by category")


def _runs_section(runs: list[dict[str, Any]]) -> str:
    runs = list(reversed(runs))  # oldest first, left to right
    labels = [f"#{run['id']}" for run in runs]
    chart = charts.grouped_columns(
        labels,
        {
            "pages": [run.get("pages") or 0 for run in runs],
            "new articles": [run.get("new") or 0 for run in runs],
            "errors": [run.get("errors") or 0 for run in runs],
            "duration s": [run.get("duration_seconds") or 0 for run in runs],
        },
        label="recent runs: pages, new articles, errors, duration",
    )
    coverage = {
        (field, f"#{run['id']}"): (run.get("stats") or {}).get("field_coverage", {}).get(field)
        for run in runs
        for field in COVERAGE_FIELDS
    }
    heat = charts.heatmap(COVERAGE_FIELDS, labels, coverage, label="field coverage per run")
    rows = []
    for run in reversed(runs):
        verdict, why = run_verdict(run)
        rows.append(
            [
                run["id"],
                run["spider"],
                (run.get("started_at") or "")[:16].replace("T", " "),
                "-" if run.get("duration_seconds") is None else f"{run['duration_seconds']:.0f}",
                Markup(f'<span class="{_verdict_class(verdict)}">{escape(verdict)}</span>'),
                run.get("pages", 0),
                run.get("new", 0),
                run.get("updated", 0),
                run.get("errors", 0),
                run.get("quarantined", 0),
                why,
            ]
        )
    table = _table(
        [
            "run",
            "spider",
            "started (UTC)",
            "secs",
            "verdict",
            "pages",
            "new",
            "updated",
            "errors",
            "quar.",
            "why",
        ],
        rows,
        numeric={0, 3, 5, 6, 7, 8, 9},
    )
    return (
        "<h2>Recent runs</h2>"
        + chart
        + "<h3>Field coverage (share of items with the field)</h3>"
        + heat
        + "<h3>Last runs</h3>"
        + table
    )


def build_report(repository: Repository, now: datetime | None = None) -> str:
    """The report as one HTML document."""
    now = now or datetime.now(UTC)
    days = queries.articles_per_day(repository)
    total = repository.article_count()
    media = queries.top_media(repository, TOP_N)
    stocks = queries.top_stocks(repository, TOP_N)
    runs = repository.recent_runs(RUNS)
    reasons = queries.quarantine_summary(repository, TOP_N)
    recent_quarantine = repository.list_quarantine(limit=TOP_N)
    categories: Counter[str] = Counter()
    for counter in days.values():
        categories.update(counter)
    span = f"{next(iter(days))} to {next(reversed(days))}" if days else "-"
    last_run = runs[0] if runs else None
    last_verdict = run_verdict(last_run)[0] if last_run else "no runs yet"
    tiles = [
        ("articles", f"{total:,}"),
        ("categories", f"{len(categories):,}"),
        ("published (GMT+8)", span),
        ("last run", last_verdict),
        ("quarantined", f"{sum(n for _, n in reasons):,}"),
    ]
    stock_items = [
        (f"{s['symbol'] or s['code']} {s['name'] or ''}".strip(), s["articles"]) for s in stocks
    ]
    quarantine_rows = [
        [
            entry["created_at"][:16].replace("T", " "),
            entry["run_id"] or "-",
            entry["url"],
            entry["reason"],
        ]
        for entry in recent_quarantine
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>finews report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>finews 金融消息 corpus report</h1>",
        f'<p class="lead">Written {now.astimezone(SITE_TZ):%Y-%m-%d %H:%M} (GMT+8).</p>',
        '<div class="tiles">'
        + "".join(f'<div class="tile"><b>{escape(v)}</b>{escape(k)}</div>' for k, v in tiles)
        + "</div>",
        f"<h2>Articles per day by category (last {DAYS} days with articles)</h2>",
        _per_day_chart(days),
        '<div class="row"><div><h2>Top media</h2>',
        charts.horizontal_bars(media, colour=charts.PALETTE[1], label="top media"),
        "</div><div><h2>Top stocks (articles mentioning them)</h2>",
        charts.horizontal_bars(stock_items, colour=charts.PALETTE[2], label="top stocks"),
        "</div></div>",
        _runs_section(runs),
        "<h2>Quarantine</h2>",
        _table(["reason", "entries"], [[r, n] for r, n in reasons], numeric={1}),
        "<h3>Latest entries</h3>",
        _table(["when (UTC)", "run", "url", "reason"], quarantine_rows),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(repository: Repository, output: str | Path) -> Path:
    """Write the report to `output` atomically; its path."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    html = build_report(repository)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output
