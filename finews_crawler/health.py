"""How did a run go? Its outcome, and whether it looks healthy next to the previous runs.

Pure rules over a run's stats (no Scrapy, no database here); the `RunHealth` extension
(`finews_crawler.extensions`) applies them at the end of every crawl.

Outcome (`run_outcome`): `interrupted` when shut down by a signal; `failed` when the crawl did not
finish, no page was fetched (unless `finews/offline`: an archive import) or read, or errors
(`error_count`) exceed FINEWS_MAX_ERROR_RATIO of the pages; else `finished`.

Health: a cron crawler that silently collects nothing, or collects worse data, is the worst
failure: the site changed its markup, or went down, and three days later the posts are gone.
- Layouts (`layout_problems`), from this run alone: any article page read by the
  layout-independent reader (`generic`) rather than a known page layout, and any article page
  that no reader accepted, means the site's page layout changed.
- Against the median of the previous finished runs of the spider (`health_problems`):
  - article links found on the listings (`finews/articles_listed`, stored ones included, so an
    incremental run with nothing new still counts them) must not fall below
    FINEWS_MIN_LISTED_RATIO of the median (not compared for a worker of a shared
    run, which reads only some of the listings);
  - the share of fetched article pages that gave a valid article, and for each field the
    previous runs filled in most items (coverage >= 0.5) this run's coverage, must not fall
    below FINEWS_MIN_COVERAGE_RATIO of the median, when the run fetched (for
    coverage: parsed) at least 10.

An archive run (`finews/offline`: the archive spider, `finews import-archive`) fetches nothing and
reads no listing: its pages are the posts it read, its layouts none (posts are not pages), and it
is compared with the previous runs of the archive spider only (runs are compared by spider name)
on the share of posts that gave a valid article and on field coverage.

Verdict (`judge`): `failed` or `interrupted` with the outcome's reason; else `unhealthy` with every
problem found, or `healthy`; `skipped` for a worker that joined a shared run already finished.
A run whose process died without a word (SIGKILL, the OOM killer, a reboot) is judged by the next
run instead: when it starts, it finds the run still `running` with its process gone
(`finews_crawler.processes.liveness`) and records outcome and verdict `killed` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

from finews_crawler import defaults
from finews_crawler.distributed import RUN_ALREADY_DONE
from finews_crawler.store.merge import GENERIC_LAYOUT

MIN_ITEMS_FOR_COVERAGE = 10
PREVIOUS_RUNS = 5

#: Verdicts. `failed` and `interrupted` are the run outcomes of those names.
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
FAILED = "failed"
INTERRUPTED = "interrupted"
SKIPPED = "skipped"
#: Verdicts of runs that need no one's attention.
OK_VERDICTS = (HEALTHY, SKIPPED)
#: Stat prefix of the article pages each layout (reader) read: `finews/layout/<name>`.
LAYOUT_STAT = "finews/layout/"


def error_count(stats: Mapping[str, Any]) -> int:
    """Pages that failed after their retries, and callbacks that raised.

    Not every ERROR log line: the share host being gone is expected and costs no article.
    """
    exceptions = (v for k, v in stats.items() if k.startswith("spider_exceptions/"))
    return stats.get("finews/errors", 0) + sum(exceptions)


def run_outcome(
    reason: str | None, stats: Mapping[str, Any], max_error_ratio: float
) -> tuple[str, str]:
    """(outcome, why) of a run from the spider's close reason and the crawler stats."""
    if reason == "shutdown":
        return "interrupted", "shut down before the crawl finished"
    if reason != "finished":
        return "failed", f"the crawl did not finish ({reason})"
    if not stats.get("finews/offline") and not stats.get("downloader/response_count", 0):
        return "failed", "no page was fetched"
    pages = stats.get("finews/pages", 0) + stats.get("finews/listing_pages", 0)
    if not pages:
        return "failed", "no listing or article page could be read"
    errors = error_count(stats)
    if errors > max_error_ratio * pages:
        return "failed", f"{errors} errors for {pages} pages (more than {max_error_ratio:.0%})"
    return "finished", ""


def health_problems(
    stats: Mapping[str, Any],
    previous_runs: Sequence[Mapping[str, Any]],
    *,
    min_listed_ratio: float = defaults.MIN_LISTED_RATIO,
    min_coverage_ratio: float = defaults.MIN_COVERAGE_RATIO,
    compare_listings: bool = True,
) -> list[str]:
    """Why this run looks broken next to `previous_runs` (newest first); empty when healthy.

    `compare_listings=False` for a worker of a shared run, which reads only some listings.
    """
    history = [run.get("stats") or {} for run in previous_runs[:PREVIOUS_RUNS]]
    if not history:
        return []
    problems = _listing_problems(stats, history, min_listed_ratio) if compare_listings else []
    problems += _item_problems(stats, history, min_coverage_ratio)
    problems += _coverage_problems(stats, history, min_coverage_ratio)
    return problems


def _listing_problems(
    stats: Mapping[str, Any], history: list[Mapping[str, Any]], min_ratio: float
) -> list[str]:
    listed_before = median(h.get("finews/articles_listed", 0) for h in history)
    listed_now = stats.get("finews/articles_listed", 0)
    if listed_before >= 10 and listed_now < min_ratio * listed_before:
        return [
            f"the listings linked {listed_now} articles, against {listed_before:g} in recent runs"
            " (did the site change its markup, or go down?)"
        ]
    return []


def _valid_share(stats: Mapping[str, Any]) -> float | None:
    """The share of the article pages fetched that gave a valid article (None: too few)."""
    pages = stats.get("finews/pages", 0)
    if pages < MIN_ITEMS_FOR_COVERAGE:
        return None
    return stats.get("finews/valid", 0) / pages


def _item_problems(
    stats: Mapping[str, Any], history: list[Mapping[str, Any]], min_ratio: float
) -> list[str]:
    now = _valid_share(stats)
    before = [share for h in history if (share := _valid_share(h)) is not None]
    if now is None or not before or now >= min_ratio * median(before):
        return []
    pages = "posts" if stats.get("finews/offline") else "article pages"
    return [
        f"only {stats.get('finews/valid', 0)} of {stats['finews/pages']} {pages} gave a"
        f" valid article ({now:.0%}), against {median(before):.0%} in recent runs"
    ]


def _coverage_problems(
    stats: Mapping[str, Any], history: list[Mapping[str, Any]], min_ratio: float
) -> list[str]:
    coverage_now = stats.get("field_coverage") or {}
    if stats.get("finews/valid", 0) < MIN_ITEMS_FOR_COVERAGE or not coverage_now:
        return []
    problems = []
    for field in sorted(coverage_now):
        before = [
            h["field_coverage"][field] for h in history if field in (h.get("field_coverage") or {})
        ]
        if not before or median(before) < 0.5:
            continue
        if coverage_now[field] < min_ratio * median(before):
            problems.append(
                f"only {coverage_now[field]:.0%} of items have {field}, against"
                f" {median(before):.0%} in recent runs"
            )
    return problems


def layout_problems(stats: Mapping[str, Any]) -> list[str]:
    """Signs that the site's page layout changed, from this run alone: pages the
    layout-independent reader read (`finews/layout/generic`), and article pages no reader
    accepted (`finews/layout_refused`). Pages read by known layouts, whichever, are read
    exactly: no sign (an incremental run reads a few pages, so which known layouts it met says
    little next to the previous runs)."""
    read = {
        key.removeprefix(LAYOUT_STAT): count
        for key, count in stats.items()
        if key.startswith(LAYOUT_STAT)
    }
    problems = []
    generic = read.get(GENERIC_LAYOUT, 0)
    if generic:
        problem = (
            f"{generic} of {sum(read.values())} article pages were read by the layout-independent"
            " reader, not a known page layout: the site's page layout changed; check the readers"
        )
        if held := stats.get("finews/held_for_review", 0):
            problem += f" ({held} readings of stored articles wait for review: finews revisions)"
        problems.append(problem)
    if refused := stats.get("finews/layout_refused", 0):
        problems.append(
            f"{refused} article pages matched no known page layout and were quarantined"
        )
    return problems


def judge(
    reason: str | None,
    stats: Mapping[str, Any],
    previous_runs: Sequence[Mapping[str, Any]],
    *,
    max_error_ratio: float = defaults.MAX_ERROR_RATIO,
    min_listed_ratio: float = defaults.MIN_LISTED_RATIO,
    min_coverage_ratio: float = defaults.MIN_COVERAGE_RATIO,
) -> tuple[str, list[str]]:
    """The run's verdict and its reasons: `failed` or `interrupted` (the outcome's reason),
    `unhealthy` (layout or health problems), `healthy`, or `skipped` (a worker that came to a
    shared run the others had finished)."""
    if reason == RUN_ALREADY_DONE:
        return SKIPPED, []
    outcome, why = run_outcome(reason, stats, max_error_ratio)
    if outcome != "finished":
        return outcome, [why]
    problems = layout_problems(stats) + health_problems(
        stats,
        previous_runs,
        min_listed_ratio=min_listed_ratio,
        min_coverage_ratio=min_coverage_ratio,
        # A worker of a shared run reads only some listings; an archive run reads none.
        compare_listings="finews/redis/run_id" not in stats and not stats.get("finews/offline"),
    )
    return (UNHEALTHY if problems else HEALTHY), problems
