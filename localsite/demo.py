"""`make demo`: serve the bundled mirror on loopback, crawl it into SQLite, export JSONL, report.

Run from the repository root: `python -m localsite.demo [--site DIR] [--database-url URL]
[--output FILE] [--report FILE]`. Everything stays on 127.0.0.1 (share links too), and a second
run is an incremental cron run: it reads the listings and fetches no stored article.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from finews_crawler import cli
from localsite.server import serve, setting_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="finews-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path("tests/fixtures/site"))
    parser.add_argument("--database-url", default="sqlite:///data/finews.sqlite3")
    parser.add_argument("--output", default="data/finews.jsonl")
    parser.add_argument("--report", default="data/report.html")
    args = parser.parse_args(argv)

    with serve(args.site) as mirror:
        print(f"serving {args.site} at {mirror.url}")
        status = cli.main(
            [
                "crawl",
                "finews",
                "--database-url",
                args.database_url,
                *setting_args(mirror.crawl_settings()),
            ]
        )
        print(f"the mirror answered {len(mirror.requests)} requests")
    if status:
        return status
    status = cli.main(
        [
            "export",
            "--format",
            "jsonl",
            "--database-url",
            args.database_url,
            "--output",
            args.output,
        ]
    )
    if status:
        return status
    lines = Path(args.output).read_text(encoding="utf-8").count("\n")
    print(f"dataset: {args.output} ({lines} articles)")
    return cli.main(["report", "--database-url", args.database_url, "--output", args.report])


if __name__ == "__main__":
    sys.exit(main())
