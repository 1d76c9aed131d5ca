"""Article records -> a Parquet dataset: typed columns, Hive partitions by day, a dataset card.

    DIR/README.md                         the dataset card (fields, counts, provenance, licence)
    DIR/day=2021-12-08/part-0.parquet     the articles the site dated that day (GMT+8)
    DIR/day=__HIVE_DEFAULT_PARTITION__/   articles without a date

Columns are the JSON Schema's (`article.schema.json`), in its order, typed: `published_at` as
`timestamp[us, tz=+08:00]` (the site's clock), `crawled_at`, `first_seen_at`, `last_seen_at` as
`timestamp[us, tz=UTC]`, lists of strings as `list<string>`, `stocks` as
`list<struct<symbol, kind, market, code, name>>` (keys a record lacks are null), integers as
int32. The `day` column comes from the directory names (DuckDB `hive_partitioning`, pyarrow
`partitioning="hive"` with `exclude_invalid_files=True` for the card, polars
`hive_partitioning`); Hugging Face `datasets` reads the files as
they are (`load_dataset("parquet", data_dir=DIR)`).

Records are export records (`Repository.iter_articles`) or the same rows as the database
returns them (`store.queries.iter_rows`: JSON text, timestamps without offset are UTC), which
is three times faster. They are converted in batches (`BATCH_SIZE`) and written as they come,
so memory does not grow with the corpus; a day's file is closed when the next day starts
(records arrive in date order).
The dataset is written into a temporary folder beside DIR and renamed into place at the end: a
reader sees the previous dataset or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from finews_crawler.export.jsonl import record_schema
from finews_crawler.site import SITE_TZ

BATCH_SIZE = 5000
#: Hive's name for the partition of a null key (pyarrow and DuckDB read it back as null).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION = "day"
SITE_OFFSET = "+08:00"
#: Timestamp columns and the time zone each is written in.
TIMESTAMPS = {
    "published_at": SITE_OFFSET,
    "crawled_at": "UTC",
    "first_seen_at": "UTC",
    "last_seen_at": "UTC",
}
STOCK_FIELDS = ("symbol", "kind", "market", "code", "name")
STOCK_TYPE = pa.struct([(name, pa.string()) for name in STOCK_FIELDS])
COMPRESSION = "zstd"


def _column_type(name: str, spec: Mapping[str, Any]) -> pa.DataType:
    if name in TIMESTAMPS:
        return pa.timestamp("us", tz=TIMESTAMPS[name])
    if name == "stocks":
        return pa.list_(STOCK_TYPE)
    kinds = spec.get("type")
    kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
    if "array" in kinds:
        return pa.list_(pa.string())
    if "integer" in kinds:
        return pa.int32()
    return pa.string()


def arrow_schema() -> pa.Schema:
    """The dataset's columns: the JSON Schema's properties, typed."""
    properties = record_schema()["properties"]
    return pa.schema(
        [
            pa.field(name, _column_type(name, spec), nullable=name not in ("url", "title"))
            for name, spec in properties.items()
        ]
    )


def _timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _list(value: Any) -> list[Any]:
    """A list field: a list, JSON text of one (a raw database value), or None (empty)."""
    if isinstance(value, str):
        return json.loads(value)
    return value or []


def partition_day(published_at: datetime | None) -> str:
    return f"{published_at.astimezone(SITE_TZ):%Y-%m-%d}" if published_at else NULL_PARTITION


@dataclass
class DatasetSummary:
    """What went into the dataset (for the card and the command's message)."""

    count: int = 0
    files: int = 0
    first_published: datetime | None = None
    last_published: datetime | None = None
    undated: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    media: Counter[str] = field(default_factory=Counter)

    def add(self, record: Mapping[str, Any], published: datetime | None) -> None:
        self.count += 1
        if record.get("media"):
            self.media[record["media"]] += 1
        if published is None:
            self.undated += 1
            return
        if self.first_published is None or published < self.first_published:
            self.first_published = published
        if self.last_published is None or published > self.last_published:
            self.last_published = published


class _Batch:
    """Records of one day, as columns of raw values, until there are enough for a row group."""

    def __init__(self, schema: pa.Schema, summary: DatasetSummary) -> None:
        self.schema = schema
        self.summary = summary
        self.columns: dict[str, list[Any]] = {name: [] for name in schema.names}

    def __len__(self) -> int:
        return len(self.columns["url"])

    def add(self, record: Mapping[str, Any], published: datetime | None) -> None:
        for name, values in self.columns.items():
            values.append(published if name == "published_at" else record.get(name))

    def _column(self, name: str) -> list[Any]:
        values = self.columns[name]
        if name in TIMESTAMPS and name != "published_at":
            return [_timestamp(value) for value in values]
        if not pa.types.is_list(self.schema.field(name).type):
            return values
        if all(isinstance(value, str) for value in values):  # JSON text: decoded in one call
            lists = json.loads("[" + ",".join(values) + "]")
        else:
            lists = [_list(value) for value in values]
        if name == "categories":
            for categories in lists:
                self.summary.categories.update(categories)
        if name == "stocks":
            return [[{key: s.get(key) for key in STOCK_FIELDS} for s in stocks] for stocks in lists]
        return lists

    def table(self) -> pa.Table:
        arrays = [
            pa.array(self._column(name), type=self.schema.field(name).type)
            for name in self.schema.names
        ]
        return pa.Table.from_arrays(arrays, schema=self.schema)


class _DayWriter:
    """The open file of one day's partition."""

    def __init__(
        self, root: Path, day: str, part: int, schema: pa.Schema, summary: DatasetSummary
    ) -> None:
        folder = root / f"{PARTITION}={day}"
        folder.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(
            folder / f"part-{part}.parquet", schema, compression=COMPRESSION
        )
        self.batch = _Batch(schema, summary)

    def flush(self) -> None:
        if len(self.batch):
            self.writer.write_table(self.batch.table())
            self.batch = _Batch(self.batch.schema, self.batch.summary)

    def close(self) -> None:
        self.flush()
        self.writer.close()


def write_parquet(
    records: Iterable[Mapping[str, Any]],
    output: str | Path,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Any = None,
    provenance: Mapping[str, Any] | None = None,
) -> DatasetSummary:
    """Write the dataset to the folder `output` (replacing it atomically); what went in."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"))
    schema = arrow_schema()
    summary = DatasetSummary()
    parts: Counter[str] = Counter()
    current: tuple[str, _DayWriter] | None = None
    try:
        for record in records:
            published = _timestamp(record.get("published_at"))
            day = partition_day(published)
            if current is None or current[0] != day:
                if current is not None:
                    current[1].close()
                current = (day, _DayWriter(staging, day, parts[day], schema, summary))
                parts[day] += 1
            writer = current[1]
            writer.batch.add(record, published)
            if len(writer.batch) >= batch_size:
                writer.flush()
            summary.add(record, published)
            if progress is not None:
                progress.advance()
        if current is not None:
            current[1].close()
        summary.files = sum(parts.values())
        (staging / "README.md").write_text(
            dataset_card(summary, schema, provenance or {}), encoding="utf-8"
        )
        _replace_folder(staging, output)
    except BaseException:
        if current is not None:
            with contextlib.suppress(Exception):  # already failing: the staging folder goes
                current[1].writer.close()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _replace_folder(staging: Path, output: Path) -> None:
    """Rename `staging` to `output`; a previous dataset there is moved aside, then removed."""
    old = None
    if output.exists():
        old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".old"))
        os.replace(output, old / output.name)
    os.replace(staging, output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _type_name(data_type: pa.DataType) -> str:
    return str(data_type).replace("<item: ", "<").replace("element: ", "")


def dataset_card(summary: DatasetSummary, schema: pa.Schema, provenance: Mapping[str, Any]) -> str:
    """The dataset's README.md: what it holds, field by field, where it came from, its terms."""
    properties = record_schema()["properties"]

    def when(value: datetime | None) -> str:
        return value.astimezone(SITE_TZ).isoformat() if value else "-"

    lines = [
        "---",
        "configs:",
        "- config_name: default",
        f'  data_files: "{PARTITION}=*/*.parquet"',
        "language:",
        "- zh",
        "pretty_name: finews articles",
        "---",
        "",
        "# finews articles",
        "",
        "Chinese finance news as published by 金融消息 (finews.withounder.com), a site that "
        "republishes East Money news by media category, collected by finews-crawler. One row per "
        "article (an article shown in several categories is one row, keyed by its infoCode).",
        "",
        "| | |",
        "| --- | --- |",
        f"| articles | {summary.count:,} |",
        f"| published | {when(summary.first_published)} to {when(summary.last_published)}"
        + (f" ({summary.undated} undated)" if summary.undated else "")
        + " |",
        f"| files | {summary.files} Parquet files, one folder per day (`{PARTITION}=YYYY-MM-DD`, "
        "GMT+8) |",
    ]
    for key, value in provenance.items():
        lines.append(f"| {key} | {value} |")
    lines += [
        "",
        "## Reading it",
        "",
        "```python",
        "duckdb.sql(\"SELECT * FROM read_parquet('DIR/*/*.parquet', hive_partitioning=true)\")",
        'polars.scan_parquet("DIR/*/*.parquet", hive_partitioning=True)',
        'pyarrow.dataset.dataset("DIR", format="parquet", partitioning="hive",',
        "                        exclude_invalid_files=True)  # skips README.md",
        'datasets.load_dataset("parquet", data_dir="DIR")',
        "```",
        "",
        "## Fields",
        "",
        "| field | type | meaning |",
        "| --- | --- | --- |",
    ]
    for column in schema:
        meaning = properties.get(column.name, {}).get("description", "")
        lines.append(f"| `{column.name}` | `{_type_name(column.type)}` | {meaning} |")
    lines.append(
        f"| `{PARTITION}` | partition | the day `published_at` falls on, GMT+8 (from the folder "
        "name) |"
    )
    lines += ["", "## Categories", "", "| category | articles |", "| --- | --- |"]
    lines += [f"| {slug} | {count:,} |" for slug, count in sorted(summary.categories.items())]
    lines += [
        "",
        "## Provenance and licence",
        "",
        "Collected from the public pages of finews.withounder.com, which republishes articles "
        "from East Money (eastmoney.com) and the media named in `media`. The texts remain the "
        "property of their authors and publishers; this dataset carries no licence of its own "
        "to them. Use it for research and analysis, cite the original publishers, and check "
        "their terms before redistributing the texts.",
        "",
    ]
    return "\n".join(lines)


__all__ = ["DatasetSummary", "arrow_schema", "dataset_card", "write_parquet"]
