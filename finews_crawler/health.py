"""Is a finished run healthy? Compared with the previous runs of the same spider.

A cron crawler that silently collects nothing is the worst failure: the site changed its markup,
or went down, and three days later the posts are gone. So each run is compared with the median of
the previous finished runs of its spider:
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

MIN_ITEMS_FOR_COVERAGE = 10
PREVIOUS_RUNS = 5


def health_problems(
    stats: Mapping[str, Any],
    previous_runs: Sequence[Mapping[str, Any]],
    *,
    min_listed_ratio: float = 0.5,
    min_coverage_ratio: float = 0.5,
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
