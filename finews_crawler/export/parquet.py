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

`export_dataset` reads the store's rows as the driver returns them
(`store.queries.iter_row_batches`: JSON text, timestamps without offset in UTC), several times
faster than export records; `write_parquet` takes export records (`Repository.iter_articles`).
Either way rows are converted in batches (`BATCH_SIZE`) and written as they come, so memory
does not grow with the corpus; a day's file is closed when the next day starts (records
arrive in date order). The dataset is written into a temporary folder beside DIR and renamed
into place at the end: a reader sees the previous dataset or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from finews_crawler.export.jsonl import record_schema
from finews_crawler.site import SITE_TZ
from finews_crawler.store.queries import iter_row_batches

if TYPE_CHECKING:
    from finews_crawler.store.repository import Repository

BATCH_SIZE = 5000
#: Hive's name for the partition of a null key (pyarrow and DuckDB read it back as null).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION = "day"
SITE_OFFSET = "+08:00"
SITE_OFFSET_MICROSECONDS = int(SITE_TZ.utcoffset(None).total_seconds() * 1_000_000)
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


def timestamps(values: Sequence[Any], tz: str) -> pa.Array:
    """Timestamps (datetimes, ISO strings; no offset means UTC) as `timestamp[us, tz]`."""
    utc = pa.timestamp("us", tz="UTC")
    if set(map(type, values)) <= {str, type(None)}:
        strings = pa.array(
            [value or None for value in values] if "" in values else values, pa.string()
        )
        try:  # SQLite's own form: no offset, in UTC
            array = pc.assume_timezone(strings.cast(pa.timestamp("us")), "UTC")
        except pa.ArrowInvalid:
            try:  # ISO 8601 with offsets
                array = strings.cast(utc)
            except pa.ArrowInvalid:  # a mix of both
                array = pa.array([_timestamp(value) for value in values], utc)
    else:
        array = pa.array([_timestamp(value) for value in values], utc)
    return array.cast(pa.timestamp("us", tz=tz))


def lists(values: Sequence[Any], data_type: pa.DataType) -> pa.Array:
    """List values (lists, None, or JSON text as SQLite returns them) as an Arrow array."""
    if values and set(map(type, values)) == {str}:
        # JSON text: parsed by Arrow's JSON reader, one line per value (3x json.loads' speed).
        lines = '{"v":' + '}\n{"v":'.join(values) + "}"
        table = pa_json.read_json(
            io.BytesIO(lines.encode("utf-8")),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(lines) * 4 + 64),
            parse_options=pa_json.ParseOptions(explicit_schema=pa.schema([("v", data_type)])),
        )
        return table.column("v").combine_chunks()
    return pa.array([_list(value) for value in values], data_type)


@dataclass
class DatasetSummary:
    """What went into the dataset (for the card and the command's message)."""

    count: int = 0
    files: int = 0
    first_published: datetime | None = None
    last_published: datetime | None = None
    undated: int = 0
    categories: Counter[str] = field(default_factory=Counter)

    def add(self, table: pa.Table) -> None:
        self.count += table.num_rows
        published = table.column("published_at")
        self.undated += published.null_count
        for bound, pick in (("first_published", pc.min), ("last_published", pc.max)):
            value = pick(published).as_py()
            current = getattr(self, bound)
            if value is not None and (
                current is None
                or (value < current if bound == "first_published" else value > current)
            ):
                setattr(self, bound, value)
        counts = pc.value_counts(pc.list_flatten(table.column("categories")))
        for entry in counts.to_pylist():
            self.categories[entry["values"]] += entry["counts"]


def records_table(records: list[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """A batch of records (export records or raw rows) as a table of the dataset's columns."""
    return columns_table(
        [[record.get(name) for record in records] for name in schema.names], schema
    )


def rows_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """A batch of rows holding the dataset's columns in order, as a table."""
    return columns_table(list(zip(*rows, strict=True)), schema)


def columns_table(columns: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.Table:
    """Values column by column (export record values or raw database values) as a table."""
    arrays = []
    for column, values in zip(schema, columns, strict=True):
        if column.name in TIMESTAMPS:
            arrays.append(timestamps(values, TIMESTAMPS[column.name]))
        elif pa.types.is_list(column.type):
            arrays.append(lists(values, column.type))
        else:
            arrays.append(pa.array(values, column.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def batched(records: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _days(table: pa.Table) -> list[str]:
    # The site's wall-clock day: shift the UTC instants by the site's fixed offset and format them
    # without a time zone (pyarrow before 26 cannot look "+08:00" up in its time zone database).
    instants = table.column("published_at").cast(pa.int64())
    wall_clock = pc.add(instants, SITE_OFFSET_MICROSECONDS).cast(pa.timestamp("us"))
    days = pc.strftime(wall_clock, format="%Y-%m-%d").to_pylist()
    return [day or NULL_PARTITION for day in days]


class _Partitions:
    """The open file of the current day; a day seen again (unsorted input) gets a new part."""

    def __init__(self, root: Path, schema: pa.Schema) -> None:
        self.root = root
        self.schema = schema
        self.parts: Counter[str] = Counter()
        self.day: str | None = None
        self.writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        days = _days(table)
        start = 0
        for end in range(1, len(days) + 1):
            if end == len(days) or days[end] != days[start]:
                self._writer(days[start]).write_table(table.slice(start, end - start))
                start = end

    def _writer(self, day: str) -> pq.ParquetWriter:
        if day != self.day or self.writer is None:
            self.close()
            folder = self.root / f"{PARTITION}={day}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{self.parts[day]}.parquet"
            self.writer = pq.ParquetWriter(path, self.schema, compression=COMPRESSION)
            self.parts[day] += 1
            self.day = day
        return self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def write_parquet(
    records: Iterable[Mapping[str, Any]],
    output: str | Path,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Any = None,
    provenance: Mapping[str, Any] | None = None,
) -> DatasetSummary:
    """Write export records (dicts) as the dataset in the folder `output`; what went in."""
    schema = arrow_schema()
    tables = (records_table(batch, schema) for batch in batched(records, batch_size))
    return write_tables(tables, output, progress=progress, provenance=provenance)


def export_dataset(
    repository: Repository,
    output: str | Path,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Any = None,
    provenance: Mapping[str, Any] | None = None,
    **filters: Any,
) -> DatasetSummary:
    """The stored articles `iter_articles(**filters)` would give, as the dataset in `output`,
    read as raw rows (`store.queries.iter_row_batches`)."""
    schema = arrow_schema()
    batches = iter_row_batches(repository, schema.names, batch_size, **filters)
    tables = (rows_table(rows, schema) for rows in batches)
    return write_tables(tables, output, progress=progress, provenance=provenance)


def write_tables(
    tables: Iterable[pa.Table],
    output: str | Path,
    *,
    progress: Any = None,
    provenance: Mapping[str, Any] | None = None,
) -> DatasetSummary:
    """Write batches of the dataset's rows (`records_table`, `rows_table`) to the folder
    `output`, replacing it atomically; what went in."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"))
    schema = arrow_schema()
    summary = DatasetSummary()
    partitions = _Partitions(staging, schema)
    try:
        # Arrow compresses and writes without the GIL: a writer thread does that for one batch
        # while the next is read and converted (one batch in flight, in order).
        with ThreadPoolExecutor(1, thread_name_prefix="parquet-writer") as writer:
            pending: Future[None] | None = None
            for table in tables:
                if pending is not None:
                    pending.result()
                pending = writer.submit(partitions.write, table)
                summary.add(table)
                if progress is not None:
                    progress.advance(table.num_rows)
            if pending is not None:
                pending.result()
        partitions.close()
        summary.files = sum(partitions.parts.values())
        (staging / "README.md").write_text(
            dataset_card(summary, schema, provenance or {}), encoding="utf-8"
        )
        _replace_folder(staging, output)
    except BaseException:
        with contextlib.suppress(Exception):  # already failing: the staging folder goes
            partitions.close()
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
