"""How did a run go? Its outcome, and whether it looks healthy next to the previous runs.

Pure rules over a run's stats (no Scrapy, no database here).

Outcome (`run_outcome`): `interrupted` when shut down by a signal; `failed` when the crawl did not
finish, no page was fetched (unless `finews/offline`: an archive import) or read, or errors
(`error_count`) exceed FINEWS_MAX_ERROR_RATIO of the pages; else `finished`.

Health (`health_problems`): a cron crawler that silently collects nothing is the worst failure:
the site changed its markup, or went down, and three days later the posts are gone. So each run is
compared with the median of the previous finished runs of its spider:
- article links found on the listings (`finews/articles_listed`, stored ones included, so an
  incremental run with nothing new still counts them) must not fall below
  FINEWS_MIN_LISTED_RATIO (default 0.5) of the median;
- for each field the previous runs filled in most items (coverage >= 0.5), this run's coverage
  must not fall below FINEWS_MIN_COVERAGE_RATIO (default 0.5) of the median, when the run parsed
  at least 10 items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

from finews_crawler import defaults

MIN_ITEMS_FOR_COVERAGE = 10
PREVIOUS_RUNS = 5


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
) -> list[str]:
    """Why this run looks broken next to `previous_runs` (newest first); empty when healthy."""
    history = [run.get("stats") or {} for run in previous_runs[:PREVIOUS_RUNS]]
    if not history:
        return []
    problems = []
    listed_before = median(h.get("finews/articles_listed", 0) for h in history)
    listed_now = stats.get("finews/articles_listed", 0)
    if listed_before >= 10 and listed_now < min_listed_ratio * listed_before:
        problems.append(
            f"the listings linked {listed_now} articles, against {listed_before:g} in recent runs"
            " (did the site change its markup, or go down?)"
        )
    coverage_now = stats.get("field_coverage") or {}
    if stats.get("finews/valid", 0) >= MIN_ITEMS_FOR_COVERAGE and coverage_now:
        for field in sorted(coverage_now):
            before = [
                h["field_coverage"][field]
                for h in history
                if field in (h.get("field_coverage") or {})
            ]
            if not before or median(before) < 0.5:
                continue
            if coverage_now[field] < min_coverage_ratio * median(before):
                problems.append(
                    f"only {coverage_now[field]:.0%} of items have {field}, against"
                    f" {median(before):.0%} in recent runs"
                )
    return problems
