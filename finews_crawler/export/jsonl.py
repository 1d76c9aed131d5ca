"""Article records -> JSON Lines: the dataset format.

One article per line, UTF-8 with Chinese unescaped, keys in the order of the record schema
(`article.schema.json`, shipped beside this module; keys outside it are not exported). Files are
written atomically (a temp file in the same directory, then `os.replace`): a reader never sees
half an export. `-` writes to stdout. `gzip=True` compresses (reproducibly: no timestamp in the
header). Partitions write one file per day (`YYYY-MM-DD.jsonl`, the day the page shows, GMT+8) or
per category (`<slug>.jsonl`; an article in two categories is in both) inside the output directory.

Incremental exports (`--since-last`): `ExportState` remembers, in a small JSON file next to the
output (`.<output name>.finews-export.json`), when the last export to that path started; the next
one exports only what changed since then, replacing the previous file(s) with that delta.

Progress on a terminal: pass a `finews_crawler.progress.ExportProgress` (`advance()` per record).
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from finews_crawler.export.jekyll import CATEGORY_RE, category_slugs
from finews_crawler.site import SITE_TZ, parse_published_at

if TYPE_CHECKING:
    from finews_crawler.progress import ExportProgress

logger = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("article.schema.json")
PARTITIONS = ("day", "category")
STDOUT = "-"
UNDATED = "undated"


@cache
def record_schema() -> dict[str, Any]:
    """The JSON Schema of one exported record."""
    return json.loads(SCHEMA_PATH.read_text("utf-8"))


def export_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as exported: the schema's keys in order, lists for missing list fields."""
    properties = record_schema()["properties"]
    out: dict[str, Any] = {}
    for key, spec in properties.items():
        value = record.get(key)
        if value is None and spec.get("type") == "array":
            value = []
        out[key] = value
    return out


def record_line(record: Mapping[str, Any]) -> str:
    """One JSON line (without the newline)."""
    return json.dumps(export_record(record), ensure_ascii=False, separators=(",", ":"))


def partition_keys(record: Mapping[str, Any], partition: str) -> list[str]:
    """The partition file names (without extension) a record goes to."""
    if partition == "day":
        try:
            published = parse_published_at(record.get("published_at"))
        except ValueError:
            published = None
        return [f"{published.astimezone(SITE_TZ):%Y-%m-%d}"] if published else [UNDATED]
    if partition == "category":
        slugs = category_slugs(record) or ["uncategorized"]
        # Slugs are plain words (a space at most); anything else is percent-encoded.
        return [slug if CATEGORY_RE.fullmatch(slug) else quote(slug, safe="") for slug in slugs]
    raise ValueError(f"unknown partition {partition!r} (expected one of {PARTITIONS})")


class _AtomicFile:
    """A file written to a temp name in its directory and renamed into place on commit."""

    def __init__(self, path: Path, compress: bool) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self.raw: IO[bytes] = os.fdopen(fd, "wb")
        self.stream: IO[bytes] = (
            gzip_module.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0)
            if compress
            else self.raw
        )
        self.count = 0

    def write_line(self, line: str) -> None:
        self.stream.write(line.encode("utf-8") + b"\n")
        self.count += 1

    def commit(self) -> None:
        if self.stream is not self.raw:
            self.stream.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        for stream in (self.stream, self.raw):
            with contextlib.suppress(Exception):  # already broken: the temp file goes anyway
                stream.close()
        Path(self.tmp).unlink(missing_ok=True)


def write_jsonl(
    records: Iterable[Mapping[str, Any]],
    output: str | Path,
    *,
    compress: bool = False,
    partition: str | None = None,
    progress: ExportProgress | None = None,
    stdout: IO[bytes] | None = None,
) -> dict[str, int]:
    """Write records; returns {file written: records in it} (`-` for stdout)."""
    if str(output) == STDOUT:
        if partition:
            raise ValueError("partitions need an output directory, not stdout")
        return {STDOUT: _write_stream(records, stdout, compress, progress)}
    output = Path(output)
    suffix = ".jsonl.gz" if compress else ".jsonl"
    files: dict[str, _AtomicFile] = {}
    try:
        for record in records:
            line = record_line(record)
            keys = partition_keys(record, partition) if partition else [""]
            for key in keys:
                target = files.get(key)
                if target is None:
                    path = output / f"{key}{suffix}" if partition else output
                    target = files[key] = _AtomicFile(path, compress)
                target.write_line(line)
            if progress is not None:
                progress.advance()
        if partition:
            output.mkdir(parents=True, exist_ok=True)
        elif not files:
            files[""] = _AtomicFile(output, compress)  # an empty export is an empty file
        for target in files.values():
            target.commit()
    except BaseException:
        for target in files.values():
            target.discard()
        raise
    return {str(target.path): target.count for target in files.values()}


def _write_stream(
    records: Iterable[Mapping[str, Any]],
    stream: IO[bytes] | None,
    compress: bool,
    progress: ExportProgress | None,
) -> int:
    raw = stream if stream is not None else sys.stdout.buffer
    out: IO[bytes] = (
        gzip_module.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if compress else raw
    )
    count = 0
    for record in records:
        out.write(record_line(record).encode("utf-8") + b"\n")
        count += 1
        if progress is not None:
            progress.advance()
    if out is not raw:
        out.close()
    raw.flush()
    return count


class ExportState:
    """When the last export to an output path started (for `--since-last`)."""

    def __init__(self, output: str | Path) -> None:
        if str(output) == STDOUT:
            raise ValueError("--since-last needs an output path, not stdout")
        output = Path(output).absolute()
        self.output = output
        self.path = output.parent / f".{output.name}.finews-export.json"

    def last_export(self) -> datetime | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if data.get("output") != str(self.output):
                return None
            return datetime.fromisoformat(data["last_export_at"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("ignoring unreadable export state %s: %s", self.path, exc)
            return None

    def save(self, started_at: datetime) -> None:
        data = {
            "output": str(self.output),
            "last_export_at": started_at.astimezone(UTC).isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f"{self.path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.path)


__all__ = [
    "PARTITIONS",
    "STDOUT",
    "ExportState",
    "export_record",
    "partition_keys",
    "record_line",
    "record_schema",
    "write_jsonl",
]
