"""`finews stocks` and `finews export --stock` on SQLite and PostgreSQL, and the record schema's
`stocks`."""

# ruff: noqa: F811 - pytest fixtures imported from db_fixtures are redefined as arguments

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from support.db_fixtures import database_url, pg_database, pg_server, truth_row  # noqa: F401 - fixtures
from support.mentions import CSI_ETF, HANG_SENG, MOUTAI, NEW_ENERGY, PING_AN, SSE_INDEX

from finews_crawler import cli
from finews_crawler.export import jsonl
from finews_crawler.store import Repository

#: Four articles, oldest first, and what each names.
ARTICLES = (
    ("2021-12-08-202112082206736335.md", "NW202112082206736335"),
    ("2021-12-08-202112082206797286.md", "NW202112082206797286"),
    ("2021-12-08-202112082206890854.md", "NW202112082206890854"),
    ("2021-12-08-202112082206936037.md", "NW202112082206936037"),
)
MENTIONS = (
    [MOUTAI, NEW_ENERGY],
    [{**MOUTAI, "name": "茅台"}, PING_AN, SSE_INDEX, CSI_ETF],
    [MOUTAI, HANG_SENG],
    [PING_AN, NEW_ENERGY],
)


@pytest.fixture
def stocks_db(database_url: str) -> str:
    items = [
        {**truth_row(name), "stocks": mentions}
        for (name, _), mentions in zip(ARTICLES, MENTIONS, strict=True)
    ]
    with Repository(database_url) as repository:
        repository.write_items(items)
    return database_url


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative defaults (data/spool) stay out of the tree


def finews(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def stocks_json(capsys, db: str, *argv: str) -> list[dict[str, Any]]:
    status, out, _ = finews(capsys, "stocks", "--database-url", db, "--json", *argv)
    assert status == 0
    return [json.loads(line) for line in out.splitlines()]


def test_stocks_lists_securities_by_articles(stocks_db: str, capsys) -> None:
    listed = stocks_json(capsys, stocks_db)
    assert [(e["symbol"], e["articles"]) for e in listed] == [
        ("600519.SH", 3),
        ("000001.SZ", 2),
        ("510300.SH", 1),
    ]
    moutai = listed[0]
    assert moutai == {
        "symbol": "600519.SH",
        "kind": "stock",
        "market": "1",
        "code": "600519",
        "name": "贵州茅台",  # the name most articles use
        "articles": 3,
        "last_published_at": truth_row(ARTICLES[2][0])["published_at"],
    }


def test_stocks_kinds_boards_and_indices_apart(stocks_db: str, capsys) -> None:
    boards = stocks_json(capsys, stocks_db, "--kind", "board")
    assert [(e["symbol"], e["kind"], e["articles"]) for e in boards] == [("BK0493", "board", 2)]
    indices = stocks_json(capsys, stocks_db, "--kind", "index")
    assert [e["symbol"] for e in indices] == ["000001.SH"]
    unknown = stocks_json(capsys, stocks_db, "--kind", "unknown")
    assert [(e["symbol"], e["market"], e["code"]) for e in unknown] == [(None, "100", "HSI")]
    everything = stocks_json(capsys, stocks_db, "--kind", "all")
    assert len(everything) == 6
    assert [e["symbol"] for e in stocks_json(capsys, stocks_db, "--top", "2")] == [
        "600519.SH",
        "000001.SZ",
    ]


def test_stocks_since_counts_later_articles_only(stocks_db: str, capsys) -> None:
    since = truth_row(ARTICLES[2][0])["published_at"]
    listed = stocks_json(capsys, stocks_db, "--since", since, "--kind", "all")
    assert {(e["symbol"], e["articles"]) for e in listed} == {
        ("600519.SH", 1),
        ("000001.SZ", 1),
        ("BK0493", 1),
        (None, 1),
    }


def test_stocks_table(stocks_db: str, capsys) -> None:
    status, out, _ = finews(capsys, "stocks", "--database-url", stocks_db, "--kind", "all")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "articles",
        "symbol",
        "kind",
        "east",
        "money",
        "last",
        "published",
        "name",
    ]
    assert lines[1].split()[:4] == ["3", "600519.SH", "stock", "1.600519"]
    assert lines[1].endswith("贵州茅台")
    assert any(line.split()[1:4] == ["-", "unknown", "100.HSI"] for line in lines)


def test_stocks_on_an_empty_store(database_url: str, capsys) -> None:
    status, out, _ = finews(capsys, "stocks", "--database-url", database_url)
    assert (status, out) == (0, "No stored mentions match.\n")


def exported(capsys, db: str, *argv: str) -> tuple[int, list[str], str]:
    status, out, err = finews(capsys, "export", "--database-url", db, *argv)
    return status, [json.loads(line)["info_code"] for line in out.splitlines()], err


def test_export_stock_gives_its_articles_newest_first(stocks_db: str, capsys) -> None:
    status, codes, _ = exported(capsys, stocks_db, "--stock", "600519.SH")
    assert status == 0
    assert codes == [ARTICLES[2][1], ARTICLES[1][1], ARTICLES[0][1]]
    assert exported(capsys, stocks_db, "--stock", "bk0493")[1] == [ARTICLES[3][1], ARTICLES[0][1]]
    since = truth_row(ARTICLES[1][0])["published_at"]
    assert exported(capsys, stocks_db, "--stock", "600519.sh", "--since", since)[1] == [
        ARTICLES[2][1],
        ARTICLES[1][1],
    ]


def test_export_stock_takes_an_unambiguous_bare_code(stocks_db: str, capsys) -> None:
    status, codes, err = exported(capsys, stocks_db, "--stock", "600519")
    assert (status, len(codes)) == (0, 3)
    assert "600519 is 600519.SH (" in err


def test_export_stock_refuses_an_ambiguous_or_unknown_code(stocks_db: str, capsys) -> None:
    status, codes, err = exported(capsys, stocks_db, "--stock", "000001")
    assert (status, codes) == (2, [])
    assert "000001 is ambiguous: 000001.SH (上证指数), 000001.SZ (平安银行)" in err
    status, codes, err = exported(capsys, stocks_db, "--stock", "688981")
    assert (status, codes) == (2, [])
    assert "688981" in err
    status, codes, _ = exported(capsys, stocks_db, "--stock", "688981.SH")
    assert (status, codes) == (0, [])  # a well-formed symbol nobody mentioned: nothing


def test_export_stock_jekyll(stocks_db: str, capsys, tmp_path: Path) -> None:
    out = tmp_path / "posts"
    status, _, _ = finews(
        capsys, "export", "--database-url", stocks_db, "--format", "jekyll", "--output", str(out),
        "--stock", "BK0493",
    )  # fmt: skip
    assert status == 0
    assert sorted(p.name for p in out.rglob("*.md")) == sorted(name for name, _ in ARTICLES[::3])


def test_exported_stocks_follow_the_schema(stocks_db: str, capsys) -> None:
    status, out, _ = finews(capsys, "export", "--database-url", stocks_db)
    assert status == 0
    records = [json.loads(line) for line in out.splitlines()]
    validator = Draft202012Validator(jsonl.record_schema())
    for record in records:
        validator.validate(record)
    assert [r["stocks"] for r in records if r["stocks"]] == list(MENTIONS)


@pytest.mark.parametrize(
    "bad",
    [
        {**HANG_SENG, "symbol": "HSI.HI"},  # an unknown market has no symbol
        {**MOUTAI, "symbol": None},  # a known one has
        {**MOUTAI, "kind": "etf"},
        {k: v for k, v in MOUTAI.items() if k != "symbol"},
    ],
)
def test_schema_refuses_malformed_mentions(bad: dict[str, Any]) -> None:
    stocks = jsonl.record_schema()["properties"]["stocks"]
    Draft202012Validator(stocks).validate([MOUTAI, HANG_SENG])
    with pytest.raises(ValidationError):
        Draft202012Validator(stocks).validate([bad])
