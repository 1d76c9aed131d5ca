"""`finews export`: stored articles out as datasets (JSON Lines, Parquet) or Jekyll posts.

    finews export --format jsonl|parquet|jekyll [--database-url URL] [--output PATH]
                  [--since DATE] [--until DATE] [--category SLUG] [--info-code CODE]
                  [--stock SYMBOL]
                  [--partition day|category] [--gzip] [--since-last]

JSONL (`export.jsonl`): one article per line; `--output -` (the default) is stdout, a file is
written atomically, `--partition` writes one file per day or category into the `--output`
directory, `--gzip` compresses, `--since-last` exports only what changed since the previous
export to the same path. Parquet (`export.parquet`): a dataset folder `--output DIR` with Hive
partitions by day and a dataset card (`DIR/README.md`), replaced atomically. Jekyll
(`export.jekyll`): one post per article and category into the `--output` directory. Dates:
`--since` is inclusive; `--until` is exclusive for a date-time and takes the whole day for a
date (`--until 2021-12-08` includes that day). A date without an offset is the site's (+08:00).
`--stock` keeps the articles that name a security (`600519.SH`; a bare code is taken when one
stored security has it, and refused, naming them, when several do: `000001` is 上证指数
`000001.SH` and 平安银行 `000001.SZ`); JSONL then lists them newest first.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

from finews_crawler.export.jekyll import export_posts
from finews_crawler.export.jsonl import PARTITIONS, STDOUT, ExportState, write_jsonl
from finews_crawler.site import normalize_info_code

FORMATS = ("jsonl", "parquet", "jekyll")


def date_arg(value: str) -> str:
    """A date or ISO date-time (checked here, passed on as given)."""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date (YYYY-MM-DD) or ISO date-time"
        ) from None
    return value


class SymbolError(ValueError):
    """What a person typed names no stored security, or more than one."""


def resolve_symbol(repository: Any, value: str) -> tuple[str, str | None]:
    """(symbol, a note on how a bare code was read, or None) for `600519.SH` or `600519`."""
    typed = value.strip()
    if "." in typed:
        return typed.upper(), None
    found = repository.symbols_for_code(typed)
    if not found:
        raise SymbolError(f"no stored article mentions a security with code {typed!r}")
    if len(found) > 1:
        choices = ", ".join(f"{symbol} ({name})" for symbol, name in found)
        raise SymbolError(f"{typed} is ambiguous: {choices}; give the symbol")
    symbol, name = found[0]
    return symbol, None if symbol == typed.upper() else f"{typed} is {symbol} ({name})"


def _info_code_arg(value: str) -> str:
    code = normalize_info_code(value)
    if code is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an infoCode (NW + 18 digits)")
    return code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="jsonl", help="default: jsonl")
    parser.add_argument(
        "--output",
        default=None,
        metavar="PATH",
        help="file (jsonl; '-' = stdout, the default) or directory (parquet, jekyll, partitions)",
    )
    parser.add_argument("--since", type=date_arg, metavar="DATE", help="published on or after")
    parser.add_argument(
        "--until", type=date_arg, metavar="DATE", help="published before (a date: through it)"
    )
    parser.add_argument("--category", metavar="SLUG", help="only this category's articles")
    parser.add_argument("--info-code", type=_info_code_arg, metavar="CODE", help="one article")
    parser.add_argument(
        "--stock",
        metavar="SYMBOL",
        help="articles naming this security, newest first (600519.SH; a bare code if unambiguous)",
    )
    parser.add_argument("--partition", choices=PARTITIONS, help="jsonl: one file per day/category")
    parser.add_argument("--gzip", action="store_true", help="jsonl: gzip the output")
    parser.add_argument(
        "--since-last",
        action="store_true",
        help="only what changed since the last export to the same --output",
    )


def until_bound(value: str | None) -> str | None:
    """`--until` as the repository's exclusive bound: a bare date means the end of that day."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value  # a date-time: exclusive as given
    return (day + timedelta(days=1)).isoformat()


def _check(args: argparse.Namespace) -> str | None:
    """Why the arguments do not go together, or None."""
    output = args.output
    if args.format in ("jekyll", "parquet"):
        if not output or output == STDOUT:
            return f"--format {args.format} needs --output DIRECTORY"
        if args.partition or args.gzip:
            return "--partition and --gzip are for --format jsonl"
    if args.partition and (not output or output == STDOUT):
        return "--partition needs --output DIRECTORY"
    if args.since_last and (not output or output == STDOUT):
        return "--since-last needs --output PATH (the state is kept per output path)"
    return None


def _summary(count: int, written: dict[str, int], output: str) -> str:
    where = ", ".join(written) if len(written) <= 3 else f"{len(written)} files in {output}"
    return f"exported {count} articles to {where}"


def _export_jsonl(repo: Any, args: argparse.Namespace, filters: dict[str, Any], progress: Any):
    # A security's articles read as its news timeline: newest first.
    order = {"newest_first": True} if filters.get("stock") else {}
    written = write_jsonl(
        repo.iter_articles(**filters, **order),
        args.output or STDOUT,
        compress=args.gzip,
        partition=args.partition,
        progress=progress,
    )
    return 0, _summary(progress.count, written, args.output or STDOUT)


def _export_parquet(repo: Any, args: argparse.Namespace, filters: dict[str, Any], progress: Any):
    from finews_crawler.export.parquet import export_dataset

    used = {k: v for k, v in vars(args).items() if k in FILTER_ARGS and v}
    provenance = {
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": "finews-crawler `finews export --format parquet`",
        "filters": ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in used.items()) or "none",
    }
    summary = export_dataset(repo, args.output, progress=progress, provenance=provenance, **filters)
    return 0, f"exported {summary.count} articles to {args.output} ({summary.files} files)"


def _export_jekyll(repo: Any, args: argparse.Namespace, filters: dict[str, Any], progress: Any):
    counts = export_posts(
        repo.iter_article_pages(**filters), args.output, category=args.category, progress=progress
    )
    summary = f"exported {counts.written} posts to {args.output}"
    if counts.skipped:
        summary += f"; {counts.skipped} skipped (see the log)"
    # Some posts could not be named: fail only if nothing at all was written.
    return (1 if counts.skipped and not counts.written else 0), summary


EXPORTERS = {"jsonl": _export_jsonl, "parquet": _export_parquet, "jekyll": _export_jekyll}
FILTER_ARGS = ("since", "until", "category", "info_code", "stock", "since_last")


def run(args: argparse.Namespace) -> int:
    from finews_crawler.progress import ExportProgress
    from finews_crawler.store.queries import count_articles, count_pages
    from finews_crawler.store.repository import Repository

    problem = _check(args)
    if problem:
        print(f"finews export: {problem}", file=sys.stderr)
        return 2
    output = args.output or STDOUT
    started = datetime.now(UTC)
    state = ExportState(output) if args.since_last else None
    filters: dict[str, Any] = {
        "since": args.since,
        "until": until_bound(args.until),
        "category": args.category,
        "info_code": args.info_code,
        "changed_after": state.last_export() if state else None,
    }
    with Repository(args.database_url) as repo:
        if args.stock:
            try:
                filters["stock"], note = resolve_symbol(repo, args.stock)
            except SymbolError as exc:
                print(f"finews export: {exc}", file=sys.stderr)
                return 2
            if note:
                print(f"finews export: {note}", file=sys.stderr)
        count = count_pages if args.format == "jekyll" else count_articles
        with ExportProgress(total=count(repo, **filters)) as progress:
            status, summary = EXPORTERS[args.format](repo, args, filters, progress)
    if state is not None:
        state.save(started)
    print(summary, file=sys.stderr if output == STDOUT else sys.stdout)
    return status
