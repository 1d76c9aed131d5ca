"""`finews import-archive [--database-url URL] PATH...`: the site's archive of Jekyll posts in.

Reads posts (files, or folders searched recursively for `*.md`) with `parsing.post`, which reads a
post's date the way the live site shows it, and feeds each one through the same item pipelines as
a crawl (validation, normalization, dedupe/merge, store: see `finews_crawler.offline`). A post
that cannot be read is reported on stderr with its file name and reason and recorded in
quarantine; the import goes on. Exit status 0 when at least one post was imported, else 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finews_crawler.offline import OfflinePipelines, project_settings
from finews_crawler.parsing.post import PostError, read_post
from finews_crawler.signals import page_quarantined
from pipelines.errors import QuarantineItem

logger = logging.getLogger(__name__)

#: How much of an unreadable post goes to quarantine.
EXCERPT_CHARS = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="post files or folders of posts")


@dataclass
class ImportResult:
    """Posts stored (new or merged into a stored article), quarantined, failed, unreadable."""

    imported: int = 0
    quarantined: int = 0
    failed: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def find_posts(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every `*.md` under the given paths (files as given, folders recursively, sorted)."""
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        found = sorted(p for p in path.rglob("*.md") if p.is_file()) if path.is_dir() else [path]
        for post in found:
            key = post.resolve()
            if key not in seen:
                seen.add(key)
                yield post


def import_posts(
    paths: Iterable[str | Path],
    database_url: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ImportResult:
    """Import posts through the pipelines into the store at `database_url`.

    `settings` override project settings (as `-s NAME=value` would for a crawl).
    """
    overrides = dict(settings or {})
    if database_url:
        overrides["FINEWS_DATABASE_URL"] = database_url
    result = ImportResult()
    with OfflinePipelines(project_settings(overrides)) as pipelines:
        # An archive import fetches nothing: each post read is a page of the archive.
        pipelines.stats.set_value("finews/offline", True)
        for path in find_posts(paths):
            pipelines.stats.inc_value("finews/import/posts")
            try:
                item = read_post(path)
            except (PostError, OSError) as exc:
                reason = exc.reason if isinstance(exc, PostError) else str(exc)
                result.unreadable.append((str(path), reason))
                print(f"{path}: {reason}", file=sys.stderr)
                pipelines.send(
                    page_quarantined, url=str(path), reason=reason, excerpt=_excerpt(path)
                )
                continue
            pipelines.stats.inc_value("finews/pages")
            outcome = pipelines.process(item)
            if outcome.error is not None:
                result.failed += 1
            elif isinstance(outcome.dropped, QuarantineItem):
                result.quarantined += 1
                print(f"{path}: quarantined: {outcome.dropped.reason}", file=sys.stderr)
            else:  # stored, or a later page merged into its article (DuplicateItem)
                result.imported += 1
        pipelines.stats.set_value("finews/import/unreadable", len(result.unreadable))
    return result


def _excerpt(path: Path) -> str:
    try:
        return path.read_bytes()[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    except OSError:
        return ""


def run(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not Path(path).exists()]
    for path in missing:
        print(f"{path}: no such file or folder", file=sys.stderr)
    result = import_posts([p for p in args.paths if p not in missing], args.database_url)
    print(
        f"imported {result.imported} posts; {result.quarantined} quarantined, "
        f"{len(result.unreadable)} unreadable, {result.failed} failed"
    )
    return 0 if result.imported else 1
