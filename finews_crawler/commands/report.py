"""`finews report --output report.html`: the corpus and the recent runs at a glance.

One self-contained HTML file (inline SVG charts, no script or font fetched): articles per day by
category, top media, top stocks, run health (pages, new articles, errors, field coverage,
duration, verdict), the last runs and the quarantine (`export.report`).
"""

from __future__ import annotations

import argparse

DEFAULT_OUTPUT = "data/report.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", default=DEFAULT_OUTPUT, metavar="FILE", help=f"default: {DEFAULT_OUTPUT}"
    )


def run(args: argparse.Namespace) -> int:
    from finews_crawler.export.report import write_report
    from finews_crawler.store import Repository

    with Repository(args.database_url) as repository:
        path = write_report(repository, args.output)
    print(f"report: {path}")
    return 0
