"""`finews export --format parquet`: read back, the dataset equals the JSONL export record for
record, with typed columns, Hive day partitions, a dataset card, and an atomic replace."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from support.db_fixtures import database_url, pg_database, pg_server, repository, truth_rows  # noqa: F401

from finews_crawler import cli
from finews_crawler.export import parquet
from finews_crawler.export.jsonl import record_schema
from finews_crawler.site import SITE_TZ
from finews_crawler.store import Repository

POSTS = Path(__file__).parent / "fixtures" / "posts"
CRAWLED_AT = "2024-01-02T03:04:05.123456+00:00"
FULL_STOCK = {
    "symbol": "600519.SH",
    "kind": "stock",
    "market": "1",
    "code": "600519",
    "name": "贵州茅台",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundled posts imported into SQLite, plus one crawled record with a full stock."""
    url = f"sqlite:///{tmp_path_factory.mktemp('parquet') / 'finews.sqlite3'}"
    assert cli.main(["import-archive", str(POSTS), "--database-url", url]) in (0, 1)
    with Repository(url) as store:
        record = next(store.iter_articles(category="shanghaifabu"))
        store.write_items([{**record, "crawled_at": CRAWLED_AT, "stocks": [FULL_STOCK]}])
    return url


def export(corpus: str, tmp_path: Path, fmt: str, *args: str) -> Path:
    output = tmp_path / ("out.jsonl" if fmt == "jsonl" else "dataset")
    argv = ["export", "--format", fmt, "--output", str(output), "--database-url", corpus, *args]
    assert cli.main(argv) == 0
    return output


def read_dataset(path: Path) -> pa.Table:
    # README.md (the card) sits beside the partitions: pyarrow is told to pass over it.
    return ds.dataset(
        path, format="parquet", partitioning="hive", exclude_invalid_files=True
    ).to_table()


def as_jsonl_record(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row in the JSONL export's form (timestamps as ISO strings, no partition key)."""
    record = {key: value for key, value in row.items() if key != "day"}
    for name in ("published_at", "first_seen_at", "last_seen_at", "crawled_at"):
        if record[name] is not None:
            record[name] = record[name].isoformat()
    record["stocks"] = [{k: v for k, v in s.items() if v is not None} for s in record["stocks"]]
    return record


def jsonl_records(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    for record in records:  # the same instant, as Python writes it
        if record["crawled_at"]:
            record["crawled_at"] = datetime.fromisoformat(record["crawled_at"]).isoformat()
    return records


def test_read_back_equals_the_jsonl_export(corpus: str, tmp_path: Path) -> None:
    expected = jsonl_records(export(corpus, tmp_path, "jsonl"))
    table = read_dataset(export(corpus, tmp_path, "parquet"))
    got = [as_jsonl_record(row) for row in table.to_pylist()]
    assert len(got) == len(expected) > 50
    by_url = {record["url"]: record for record in got}
    for record in expected:
        assert by_url[record["url"]] == record
    assert list(table.schema.names)[:-1] == list(record_schema()["properties"])
    assert any(record["crawled_at"] == CRAWLED_AT for record in got)
    assert any(record["stocks"] == [FULL_STOCK] for record in got)


def test_column_types(corpus: str, tmp_path: Path) -> None:
    schema = read_dataset(export(corpus, tmp_path, "parquet")).schema
    assert schema.field("published_at").type == pa.timestamp("us", tz="+08:00")
    for name in ("crawled_at", "first_seen_at", "last_seen_at"):
        assert schema.field(name).type == pa.timestamp("us", tz="UTC")
    for name in ("categories", "tags", "images", "urls"):
        assert schema.field(name).type == pa.list_(pa.string())
    stock = pa.struct([(key, pa.string()) for key in ("symbol", "kind", "market", "code", "name")])
    assert schema.field("stocks").type == pa.list_(stock)
    assert schema.field("revision").type == pa.int32()
    for name in ("info_code", "title", "body_text", "media"):
        assert schema.field(name).type == pa.string()


def test_partitions_by_day(corpus: str, tmp_path: Path) -> None:
    output = export(corpus, tmp_path, "parquet")
    folders = sorted(path.name for path in output.iterdir() if path.is_dir())
    assert folders and all(name.startswith("day=") for name in folders)
    for folder in folders:
        day = folder.removeprefix("day=")
        for file in (output / folder).glob("*.parquet"):
            for published in pq.read_table(file).column("published_at").to_pylist():
                assert f"{published.astimezone(SITE_TZ):%Y-%m-%d}" == day
    assert not list(tmp_path.glob(".dataset.*"))  # no temporary folder left


def test_duckdb_reads_it_as_is(corpus: str, tmp_path: Path) -> None:
    output = export(corpus, tmp_path, "parquet")
    source = f"read_parquet('{output}/*/*.parquet', hive_partitioning = true)"
    connection = duckdb.connect()
    count, kind, days = connection.execute(
        f"SELECT count(*), any_value(typeof(published_at)), count(DISTINCT day) FROM {source}"
    ).fetchone()
    assert count == len(read_dataset(output))
    assert kind == "TIMESTAMP WITH TIME ZONE"
    assert days == len([path for path in output.iterdir() if path.is_dir()])
    stocked = f"SELECT count(*) FROM {source} WHERE len(stocks) > 0"
    assert connection.execute(stocked).fetchone()[0] > 0


def test_filters_match_the_jsonl_export(corpus: str, tmp_path: Path) -> None:
    args = ("--category", "shanghaifabu", "--since", "2021-12-08")
    expected = jsonl_records(export(corpus, tmp_path, "jsonl", *args))
    got = [
        as_jsonl_record(row)
        for row in read_dataset(export(corpus, tmp_path, "parquet", *args)).to_pylist()
    ]
    assert sorted(got, key=lambda r: r["url"]) == sorted(expected, key=lambda r: r["url"])
    assert len(got) > 0


def test_dataset_card(corpus: str, tmp_path: Path) -> None:
    output = export(corpus, tmp_path, "parquet")
    card = (output / "README.md").read_text("utf-8")
    table = read_dataset(output)
    assert f"| articles | {table.num_rows:,} |" in card
    for name, spec in record_schema()["properties"].items():
        assert f"| `{name}` |" in card
        if "description" in spec:
            assert spec["description"] in card
    first = min(table.column("published_at").to_pylist()).astimezone(SITE_TZ).isoformat()
    assert first in card
    assert "| shanghaifabu |" in card and "licence" in card.lower()
    assert card.startswith("---\nconfigs:")  # Hugging Face reads the files named there


def test_batches_and_atomic_replace(tmp_path: Path) -> None:
    records = [
        {
            "url": f"/c/2022/03/30/{n}.html",
            "title": f"t{n}",
            "published_at": "2022-03-30T10:00:00+08:00",
            "first_seen_at": "2024-01-01T00:00:00+00:00",
            "last_seen_at": "2024-01-01T00:00:00+00:00",
            "revision": 1,
        }
        for n in range(25)
    ]
    output = tmp_path / "dataset"
    summary = parquet.write_parquet(records, output, batch_size=10)
    assert summary.count == 25
    file = next(output.glob("day=2022-03-30/*.parquet"))
    assert pq.ParquetFile(file).metadata.num_row_groups == 3  # written as it came, 10 at a time

    def failing():
        yield records[0]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        parquet.write_parquet(failing(), output)
    assert read_dataset(output).num_rows == 25  # the previous dataset is intact
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dataset"]
    parquet.write_parquet(records[:3], output)
    assert read_dataset(output).num_rows == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dataset"]


def test_undated_articles_have_their_own_partition(tmp_path: Path) -> None:
    dated = {"url": "/d.html", "title": "", "published_at": "2022-03-30T10:00:00+08:00"}
    undated = {"url": "/u.html", "title": "", "published_at": None}
    summary = parquet.write_parquet([dated, undated], tmp_path / "d")
    assert summary.undated == 1
    assert (tmp_path / "d" / "day=__HIVE_DEFAULT_PARTITION__").is_dir()
    rows = {row["url"]: row for row in read_dataset(tmp_path / "d").to_pylist()}
    assert rows["/u.html"]["published_at"] is None and rows["/u.html"]["day"] is None
    assert str(rows["/d.html"]["day"]) == "2022-03-30"


def test_needs_an_output_folder(corpus: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", "--format", "parquet", "--database-url", corpus]) == 2
    assert "--format parquet needs --output DIRECTORY" in capsys.readouterr().err


def test_timestamps_keep_the_instant() -> None:
    assert parquet._timestamp("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parquet._timestamp("2024-01-02T03:04:05").tzinfo is UTC  # stored without offset: UTC


def test_raw_rows_give_the_export_records_on_both_databases(
    repository: Repository,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The fast reader (raw driver values) writes what `iter_articles` says."""
    repository.write_items(truth_rows())
    parquet.export_dataset(repository, tmp_path / "fast", batch_size=7)  # many fetches
    parquet.write_parquet(repository.iter_articles(), tmp_path / "slow")
    fast, slow = (read_dataset(tmp_path / name).to_pylist() for name in ("fast", "slow"))
    assert sorted(fast, key=lambda r: r["url"]) == sorted(slow, key=lambda r: r["url"])
    assert len(fast) == repository.article_count()
