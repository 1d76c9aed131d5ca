"""Exports: Jekyll posts (byte-exact round trips, safe names) and JSONL (format, files, schema).

The store-backed tests import the corpus posts into a temporary SQLite database through the crawl's
pipelines (`finews import-archive`) and export them with `finews export`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.paths import FIXTURES
from support.truth import assert_matches_truth, truth_rows

from finews_crawler import cli
from finews_crawler.commands.import_archive import import_posts
from finews_crawler.export import jsonl
from finews_crawler.export.jekyll import (
    ExportError,
    category_slugs,
    export_posts,
    generate_post,
    post_file_name,
    render_post,
    write_post,
)
from finews_crawler.parsing.html_text import squeeze
from finews_crawler.parsing.post import SOURCE_FIELD, parse_post, split_post

SEED = FIXTURES / "seed-post.md"
#: The seed post's file name on the site.
SEED_NAME = "2022-03-30-NW202203302328599218.md"
POSTS = {path.name: path for path in sorted((FIXTURES / "posts").glob("2*.md"))}
TRUTH = truth_rows()
#: Fields where a non-empty value of any page fills the article (the store's merge rules).


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def imported(path: Path, name: str | None = None) -> dict[str, Any]:
    """The record of one post, as an import gives it, with its source kept."""
    name = name or (SEED_NAME if path == SEED else path.name)
    record = asdict(parse_post(name, read(path)))
    record.update(urls=[record["url"]], **{SOURCE_FIELD: {name: read(path)}})
    return record


# --- Jekyll: round trips ---------------------------------------------------------------------


def test_seed_post_round_trips_byte_for_byte() -> None:
    name, text = render_post(imported(SEED), "shanghaifabu")
    assert name == SEED_NAME
    assert text.encode("utf-8") == SEED.read_bytes()


@pytest.mark.parametrize("name", POSTS, ids=str)
def test_every_post_round_trips(name: str) -> None:
    record = imported(POSTS[name])
    (slug,) = category_slugs(record)
    assert render_post(record, slug) == (name, read(POSTS[name]))


def test_merged_article_gives_back_both_posts() -> None:
    emnews = imported(POSTS["2022-03-30-202203302328599218.md"])
    media = imported(POSTS["2022-03-30-NW202203302328599218.md"])
    record = dict(emnews)
    record["categories"] = ["emnews", "shanghaifabu"]
    record["urls"] = sorted([emnews["url"], media["url"]])
    record[SOURCE_FIELD] = {**emnews[SOURCE_FIELD], **media[SOURCE_FIELD]}
    assert category_slugs(record) == ["emnews", "shanghaifabu"]
    assert render_post(record, "emnews")[1] == read(POSTS["2022-03-30-202203302328599218.md"])
    assert render_post(record, "shanghaifabu")[1] == read(SEED)


def test_crlf_post_round_trips() -> None:
    text = read(SEED).replace("\n", "\r\n")
    record = imported(SEED)
    record[SOURCE_FIELD] = {SEED_NAME: text}
    assert render_post(record, "shanghaifabu")[1] == text


@pytest.mark.parametrize("name", POSTS, ids=str)
def test_generated_post_reads_back_the_same(name: str) -> None:
    """Without a kept source, the generated post says what the record says."""
    record = imported(POSTS[name])
    del record[SOURCE_FIELD]
    (slug,) = category_slugs(record)
    file_name, text = render_post(record, slug)
    again = asdict(parse_post(file_name, text))
    for key in ("info_code", "title", "published_at", "categories", "digest", "share_url"):
        assert again[key] == record[key], key
    if record["info_code"]:
        assert again["url"] == record["url"]
        assert again["upstream_url"] == record["upstream_url"]
        assert again["media"] == record["media"]
        assert again["stocks"] == record["stocks"]
        assert again["images"] == record["images"]
    assert squeeze(again["body_text"]) == squeeze(record["body_text"])


def test_generated_post_format() -> None:
    record = imported(SEED)
    del record[SOURCE_FIELD]
    text = generate_post(record, "shanghaifabu")
    head, _, body = text.partition("---\n<p>")
    assert head.splitlines() == [
        "---",
        "layout: post",
        'title: "上海举行全市领导干部大会 对疫情防控再动员再部署再落实"',
        "date: 2022-03-30 23:23:14 +0800",
        "categories: shanghaifabu",
        "tags: 上海发布新闻",
    ]
    assert body.endswith(
        "\n\n<http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202203302328599218>"
        "\n\n[返回上海发布新闻](//finews.withounder.com/category/shanghaifabu.html)"
        "｜[返回首页](//finews.withounder.com/)"
    )


def test_changed_article_is_generated_not_copied() -> None:
    record = imported(SEED)
    record["title"] = 'A "new" title'
    _, text = render_post(record, "shanghaifabu")
    assert text != read(SEED)
    assert parse_post(record["name"], text).title == 'A "new" title'


def test_category_slug_with_a_space_from_the_url() -> None:
    record = imported(POSTS["2021-12-08-NW202112082206885192.md"])
    del record[SOURCE_FIELD]
    assert category_slugs(record) == ["21shijijingjibaodao 21caijingAPP"]
    assert category_slugs({**record, "category": "emnews"}) == ["emnews"]


# --- Jekyll: names and safety ----------------------------------------------------------------


def test_file_names_from_info_codes() -> None:
    record = {"info_code": "NW202203302328599218", "published_at": "2022-03-30T23:23:14+08:00"}
    assert post_file_name(record, "emnews") == "2022-03-30-202203302328599218.md"
    assert post_file_name(record, "shanghaifabu") == "2022-03-30-NW202203302328599218.md"
    # The day is the one the page shows (GMT+8), not UTC's.
    late = {**record, "published_at": "2022-03-30T17:00:00+00:00"}
    assert post_file_name(late, "emnews") == "2022-03-31-202203302328599218.md"


HOSTILE = [
    ({"info_code": "../../../etc/passwd"}, "emnews", "invalid infoCode"),
    ({"info_code": "NW2022033023285992181"}, "emnews", "invalid infoCode"),
    ({"info_code": None, "name": "../../evil.md"}, "sitenews", "no safe post name"),
    ({"info_code": None, "name": "2021-12-01-/../../x.md"}, "sitenews", "no safe post name"),
    ({"info_code": None, "name": None}, "sitenews", "no safe post name"),
    ({}, "../outside", "invalid category"),
    ({}, "a\nlayout: evil", "invalid category"),
    ({}, "/abs", "invalid category"),
    ({"published_at": "yesterday"}, "emnews", "no valid published_at"),
]


@pytest.mark.parametrize(("change", "category", "reason"), HOSTILE)
def test_hostile_records_are_refused(change: dict, category: str, reason: str) -> None:
    record = {**imported(SEED), **change}
    with pytest.raises(ExportError, match=reason):
        render_post(record, category)


def test_nothing_is_written_outside_the_output(tmp_path: Path) -> None:
    output = tmp_path / "out"
    good = imported(SEED)
    hostile = [
        {**good, "info_code": "../../x", SOURCE_FIELD: {"../../x.md": "evil"}},
        {**good, "info_code": None, "name": "../../../escape.md", "url": "/../../escape.html"},
        {**good, "info_code": None, "name": "/tmp/abs.md", "categories": ["../../up"]},
        # A kept source under a hostile name is never used as the file name.
        {**good, SOURCE_FIELD: {"../../../seed.md": read(SEED), "/etc/x.md": "evil"}},
        # Front matter injection through the title stays inside the title.
        {**good, "title": 'x"\n---\nlayout: evil\n', SOURCE_FIELD: {}},
    ]
    counts = export_posts(hostile, output)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert written == ["out", "out/2022-03-30-NW202203302328599218.md"]
    assert counts.written == 2  # the two safe records write the same post
    assert counts.skipped == 3
    post = split_post(
        "2022-03-30-NW202203302328599218.md",
        (output / "2022-03-30-NW202203302328599218.md").read_text("utf-8"),
    )
    assert post.data["title"] == 'x"\n---\nlayout: evil\n'
    assert post.data["layout"] == "post"
    for name in ("../x.md", "/etc/passwd", "x/../../y.md", "2021-12-08-x.md/../../z.md"):
        with pytest.raises(ExportError):
            write_post(output, name, "evil")


def test_write_post_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("keep", "utf-8")
    output = tmp_path / "out"
    output.mkdir()
    (output / "2022-03-30-NW202203302328599218.md").symlink_to(outside)
    write_post(output, "2022-03-30-NW202203302328599218.md", "post")
    assert outside.read_text("utf-8") == "keep"
    assert (output / "2022-03-30-NW202203302328599218.md").read_text("utf-8") == "post"


# --- JSONL -----------------------------------------------------------------------------------


def sample_records() -> list[dict[str, Any]]:
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    records = []
    for name in ("2021-12-08-NW202112082206885192.md", "2022-03-30-NW202203302328599218.md"):
        record = imported(POSTS[name])
        record.update(revision=1, content_hash="0" * 64, first_seen_at=now, last_seen_at=now)
        records.append(record)
    return records


def test_jsonl_line_format() -> None:
    record = sample_records()[0]
    line = jsonl.record_line({**record, "extra": 1, "parse_error": None})
    data = json.loads(line)
    assert list(data) == list(jsonl.record_schema()["properties"])
    assert "工信部" in line and "\\u" not in line  # UTF-8, unescaped
    assert "\n" not in line
    Draft202012Validator(jsonl.record_schema()).validate(data)


def test_jsonl_file_is_written_atomically(tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    output.write_text("previous\n", "utf-8")

    def failing():
        yield from sample_records()
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        jsonl.write_jsonl(failing(), output)
    assert output.read_text("utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temp file left
    counts = jsonl.write_jsonl(sample_records(), output)
    assert counts == {str(output): 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert [json.loads(line)["info_code"] for line in output.read_text("utf-8").splitlines()] == [
        "NW202112082206885192",
        "NW202203302328599218",
    ]


def test_jsonl_stdout_and_gzip(tmp_path: Path) -> None:
    stream = io.BytesIO()
    assert jsonl.write_jsonl(sample_records(), "-", stdout=stream) == {"-": 2}
    plain = stream.getvalue()
    stream = io.BytesIO()
    jsonl.write_jsonl(sample_records(), "-", compress=True, stdout=stream)
    assert gzip.decompress(stream.getvalue()) == plain
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    jsonl.write_jsonl(sample_records(), first, compress=True)
    jsonl.write_jsonl(sample_records(), second, compress=True)
    assert first.read_bytes() == second.read_bytes()  # reproducible: no mtime in the header
    assert gzip.decompress(first.read_bytes()) == plain


def test_jsonl_partitions(tmp_path: Path) -> None:
    records = sample_records()
    by_day = jsonl.write_jsonl(records, tmp_path / "days", partition="day")
    assert sorted(Path(p).name for p in by_day) == ["2021-12-08.jsonl", "2022-03-30.jsonl"]
    by_category = jsonl.write_jsonl(records, tmp_path / "cats", partition="category", compress=True)
    assert sorted(Path(p).name for p in by_category) == [
        "21shijijingjibaodao 21caijingAPP.jsonl.gz",
        "shanghaifabu.jsonl.gz",
    ]
    hostile = {**records[0], "categories": ["../../x"], "url": "", "urls": [], SOURCE_FIELD: None}
    assert jsonl.partition_keys(hostile, "category") == ["..%2F..%2Fx"]
    assert jsonl.partition_keys({"published_at": None}, "day") == ["undated"]
    with pytest.raises(ValueError, match="output directory"):
        jsonl.write_jsonl(records, "-", partition="day")


def test_export_state(tmp_path: Path) -> None:
    state = jsonl.ExportState(tmp_path / "out.jsonl")
    assert state.last_export() is None
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    state.save(when)
    assert state.path.parent == tmp_path
    assert jsonl.ExportState(tmp_path / "out.jsonl").last_export() == when
    assert jsonl.ExportState(tmp_path / "other.jsonl").last_export() is None
    state.path.write_text("{broken", "utf-8")
    assert state.last_export() is None
    with pytest.raises(ValueError):
        jsonl.ExportState("-")


# --- Through the store: import, then export --------------------------------------------------


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The corpus posts imported into a fresh SQLite database."""
    root = tmp_path_factory.mktemp("corpus_db")
    url = f"sqlite:///{root / 'finews.sqlite3'}"
    result = import_posts(
        [FIXTURES / "posts"], url, settings={"FINEWS_SPOOL_DIR": str(root / "spool")}
    )
    assert result.imported == len(TRUTH)
    return url


def finews(*argv: str) -> int:
    return cli.main(list(argv))


def export_jsonl(db: str, *argv: str, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    capsys.readouterr()
    assert finews("export", "--format", "jsonl", "--database-url", db, *argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative defaults (data/spool) stay out of the tree


def test_import_then_export_equals_truth_merged_by_info_code(
    corpus_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    records = export_jsonl(corpus_db, capsys=capsys)
    assert len(records) == 76
    assert_matches_truth(records)
    validator = Draft202012Validator(
        jsonl.record_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    for record in records:
        validator.validate(record)
    pair = next(r for r in records if r["info_code"] == "NW202203302328599218")
    assert pair["categories"] == ["emnews", "shanghaifabu"]
    assert pair["urls"] == [
        "/emnews/2022/03/30/202203302328599218.html",
        "/shanghaifabu/2022/03/30/NW202203302328599218.html",
    ]


def test_category_export_gives_exactly_that_category(
    corpus_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    records = export_jsonl(corpus_db, "--category", "shanghaifabu", capsys=capsys)
    expected = {row["info_code"] for row in TRUTH if "shanghaifabu" in row["categories"]}
    assert len(expected) == 9
    assert {record["info_code"] for record in records} == expected
    assert len(records) == len(expected)
    spaced = export_jsonl(
        corpus_db, "--category", "21shijijingjibaodao 21caijingAPP", capsys=capsys
    )
    assert {r["info_code"] for r in spaced} == {
        row["info_code"] for row in TRUTH if "21caijingAPP" in row["categories"]
    }


def test_filters_by_date_and_info_code(corpus_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    records = export_jsonl(corpus_db, "--since", "2022-01-01", capsys=capsys)
    assert {r["info_code"] for r in records} == {"NW202203302328599218", "NW202205262391921712"}
    records = export_jsonl(corpus_db, "--until", "2021-12-01", capsys=capsys)
    assert [r["name"] for r in records] == ["2021-12-01-init.md"]  # --until takes the whole day
    records = export_jsonl(corpus_db, "--info-code", "202203302328599218", capsys=capsys)
    assert [r["info_code"] for r in records] == ["NW202203302328599218"]


def test_partitioned_gzip_export(
    corpus_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "by-day"
    argv = ["export", "--database-url", corpus_db, "--output", str(output), "--gzip"]
    assert finews(*argv, "--partition", "day") == 0
    files = sorted(p.name for p in output.iterdir())
    assert files == ["2021-12-01.jsonl.gz", "2021-12-08.jsonl.gz", "2022-03-30.jsonl.gz",
                     "2022-05-26.jsonl.gz"]  # fmt: skip
    lines = [
        line
        for path in output.iterdir()
        for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
    assert len(lines) == 76


def test_since_last_exports_only_changes(
    corpus_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "delta.jsonl"
    argv = ["export", "--database-url", corpus_db, "--output", str(output), "--since-last"]
    assert finews(*argv) == 0
    assert len(output.read_text("utf-8").splitlines()) == 76
    assert finews(*argv) == 0
    assert output.read_text("utf-8") == ""  # nothing changed since
    state = jsonl.ExportState(output)
    state.save(datetime.now(UTC) - timedelta(days=36500))
    assert finews(*argv) == 0
    assert len(output.read_text("utf-8").splitlines()) == 76


def test_jekyll_export_writes_every_post(
    corpus_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "posts"
    assert finews("export", "--format", "jekyll", "--database-url", corpus_db,
                  "--output", str(output)) == 0  # fmt: skip
    assert sorted(p.name for p in output.iterdir()) == sorted(POSTS)
    for path in output.iterdir():
        item = parse_post(path.name, read(path))
        original = parse_post(path.name, read(POSTS[path.name]))
        assert (item.url, item.title, item.published_at, item.tags) == (
            original.url, original.title, original.published_at, original.tags,
        )  # fmt: skip
        assert squeeze(item.body_text) == squeeze(original.body_text)


def test_jekyll_export_of_one_category(
    corpus_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "posts"
    assert finews("export", "--format", "jekyll", "--database-url", corpus_db,
                  "--output", str(output), "--category", "shanghaifabu") == 0  # fmt: skip
    names = sorted(p.name for p in output.iterdir())
    assert names == sorted(n for n in POSTS if "shanghaifabu" in read(POSTS[n]).split("---")[1])
    output = tmp_path / "by-word"
    assert finews("export", "--format", "jekyll", "--database-url", corpus_db,
                  "--output", str(output), "--category", "21caijingAPP") == 0  # fmt: skip
    names = sorted(p.name for p in output.iterdir())
    assert names == sorted(n for n in POSTS if "21caijingAPP" in read(POSTS[n]).split("---")[1])
    assert len(names) == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "jekyll"],
        ["--format", "jekyll", "--output", "-"],
        ["--format", "jekyll", "--output", "x", "--gzip"],
        ["--partition", "day"],
        ["--since-last"],
    ],
)
def test_argument_combinations_refused(argv: list[str], capsys) -> None:
    assert finews("export", "--database-url", "sqlite://", *argv) == 2
    assert "finews export:" in capsys.readouterr().err


def test_bad_dates_and_codes_refused(capsys) -> None:
    for argv in (["--since", "last week"], ["--info-code", "123"]):
        with pytest.raises(SystemExit):
            finews("export", *argv)


def store_keeps_source() -> bool:
    """Does the store keep a page's `source_markdown` (needed for byte-exact round trips)?"""
    from finews_crawler.store.merge import PageRecord

    item = asdict(parse_post(SEED_NAME, read(SEED)))
    return SOURCE_FIELD in PageRecord.from_item(item).page_data()


@pytest.mark.xfail(
    not store_keeps_source(),
    reason="the store does not keep source_markdown with the page yet",
    strict=True,
)
def test_seed_post_round_trips_through_the_store(tmp_path: Path) -> None:
    """Import the seed post, export its category: the same bytes (needs the kept source)."""
    db = f"sqlite:///{tmp_path / 'seed.sqlite3'}"
    posts = tmp_path / "in"
    posts.mkdir()
    (posts / "2022-03-30-NW202203302328599218.md").write_bytes(SEED.read_bytes())
    assert finews("import-archive", "--database-url", db, str(posts)) == 0
    output = tmp_path / "out"
    assert finews("export", "--format", "jekyll", "--database-url", db, "--output", str(output),
                  "--category", "shanghaifabu") == 0  # fmt: skip
    assert os.listdir(output) == ["2022-03-30-NW202203302328599218.md"]
    assert (output / "2022-03-30-NW202203302328599218.md").read_bytes() == SEED.read_bytes()
