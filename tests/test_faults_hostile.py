"""Hostile and malformed pages (issue 5): each gets its defined outcome and none stops the crawl.

`scrapy crawl finews` runs against the hostile site of `localsite.hostile` (a GBK
and a GB2312 page declared only in a meta tag, a page without layout, a 30 MB page, truncated
HTML, binary garbage, markup and script in titles and bodies, dangerous and off-site links,
`%2F..%2F` file names, a listing that links to itself), with the crawl's peak memory measured.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli_runner import PROJECT_ROOT, ScrapyRunner, finews_cli
from support.fault_runs import export_records, setting_args
from support.truth import assert_matches_truth

from localsite.hostile import (
    CATEGORY_PATH,
    HOSTILE_LINKS,
    HOSTILE_PAGES,
    LOOP_PATH,
    hostile_site,
)
from localsite.server import serve

MAX_RSS_MIB = 300
TEXT_FIELDS = ("title", "body_text", "media", "digest")
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*[\s/>]")
_REQUEST_RE = re.compile(r"<(?:GET|HEAD|POST) (\S+)>")

#: Run a command and print the peak RSS (KiB) of its process tree to stderr, last line.
_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print('maxrss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory, site_dir: Path):
    """The hostile pages added to the bundled site, crawled once.

    Yields (server, runner, completed process, log text, peak RSS in MiB).
    """
    tmp_path = tmp_path_factory.mktemp("hostile-crawl")
    root = hostile_site(tmp_path_factory.mktemp("hostile-root"), base=site_dir)
    with serve(root) as server:
        runner = ScrapyRunner(tmp_path, server.url)
        log_file = tmp_path / "crawl.log"
        args = setting_args({"LOG_FILE": str(log_file), "LOG_LEVEL": "DEBUG"})
        environment = runner.environment()
        wrapper = [sys.executable, "-c", _RSS_WRAPPER]
        result = subprocess.run(
            [*wrapper, sys.executable, "-m", "scrapy", "crawl", "finews", *args],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        rss_kib = int(re.findall(r"maxrss_kib (\d+)", result.stderr)[-1])
        log = log_file.read_text(encoding="utf-8", errors="replace")
        yield server, runner, result, log, rss_kib / 1024


def _quarantine(runner) -> list[dict]:
    result = finews_cli(
        ["quarantine", "--json", "-n", "1000", "--database-url", runner.database_url]
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_the_crawl_finishes_within_bounded_memory(hostile_crawl) -> None:
    server, runner, result, log, rss_mib = hostile_crawl
    assert result.returncode == 0, log[-3000:]
    assert "Spider closed (finished)" in log
    assert rss_mib < MAX_RSS_MIB, f"peak RSS {rss_mib:.0f} MiB"
    # None stopped the crawl: every article of the bundled site is there, exactly.
    hostile = {page.url for page in HOSTILE_PAGES}
    records = export_records(runner.database_url)
    assert_matches_truth([r for r in records if r["url"] not in hostile])
    # The 30 MB page was cut by the size cap, not downloaded.
    big = next(p for p in HOSTILE_PAGES if p.key == "big")
    assert re.search(r"larger than download max size .*" + re.escape(big.url), log)
    assert server.requests.count(big.url) == 1


def test_each_page_gets_its_outcome(hostile_crawl) -> None:
    _, runner, _, _, _ = hostile_crawl
    records = {r["url"]: r for r in export_records(runner.database_url)}
    quarantined = {e["url"]: e for e in _quarantine(runner)}
    for page in HOSTILE_PAGES:
        stored, recorded = page.url in records, page.url in quarantined
        if page.expect == "article":
            assert stored, (page.key, quarantined.get(page.url))
            record = records[page.url]
            assert record["title"] == page.title, page.key
            assert page.body_contains in record["body_text"], (page.key, record["body_text"])
            assert record["info_code"] == page.info_code
        elif page.expect == "quarantine":
            assert recorded and not stored, (page.key, records.get(page.url))
            assert quarantined[page.url]["reason"].strip(), page.key
            assert quarantined[page.url]["run_id"] is not None
        else:
            assert stored != recorded, (page.key, stored, recorded)
            if stored:
                assert page.body_contains in records[page.url]["body_text"], page.key
    # `finews quarantine` (text) lists each quarantined page with its reason.
    listing = finews_cli(["quarantine", "-n", "1000", "--database-url", runner.database_url])
    assert listing.returncode == 0, listing.stderr
    for url, entry in quarantined.items():
        assert url in listing.stdout
        assert f"reason: {entry['reason'][:40]}" in listing.stdout
    big = next(p for p in HOSTILE_PAGES if p.key == "big")
    assert "fetch failed" in quarantined[big.url]["reason"], quarantined[big.url]
    for entry in quarantined.values():
        assert len(entry["excerpt"]) <= 4000  # bounded excerpt, even for the 30 MB page


def test_exports_hold_text_not_markup(hostile_crawl) -> None:
    _, runner, _, _, _ = hostile_crawl
    records = export_records(runner.database_url)
    assert records
    forbidden = {word for page in HOSTILE_PAGES for word in page.forbidden}
    for record in records:
        for name in TEXT_FIELDS:
            value = record.get(name) or ""
            assert not _TAG_RE.search(value), (record["url"], name, value[:300])
            assert "<script" not in value.lower()
            for word in forbidden:
                assert word not in value, (record["url"], name, word)
        assert "<script" not in (record.get("body_html") or "").lower()
        assert "javascript:" not in (record.get("body_html") or "").lower()


def test_nothing_off_site_or_outside_the_root_is_requested(hostile_crawl) -> None:
    server, runner, _, log, _ = hostile_crawl
    requested = set(_REQUEST_RE.findall(log))
    assert requested, "the debug log names no request"
    off_site = sorted(url for url in requested if not url.startswith(server.url + "/"))
    assert not off_site, off_site
    paths = server.requests.paths()
    assert not [p for p in paths if ".." in p or "passwd" in p or "secret" in p], paths
    never = [link for link in HOSTILE_LINKS if link.expect == "never_requested"]
    for link in never:
        if link.href.startswith("/"):  # traversal links: not requested in any spelling
            stem = link.href.rsplit("/", 1)[-1].split("%2F")[0]
            assert not any(stem in url and "%2F" in url for url in requested), link.key
    # Nothing named after the traversal targets was written anywhere the crawl writes.
    for folder in (runner.tmp_path, PROJECT_ROOT / "data"):
        if folder.exists():
            written = [p for p in folder.rglob("*") if "passwd" in p.name or "secret" in p.name]
            assert not written, written


def test_listings_that_link_to_themselves_are_read_once(hostile_crawl) -> None:
    server, _, _, _, _ = hostile_crawl
    counts = server.requests.counter("GET")
    assert counts[("GET", CATEGORY_PATH)] == 1
    assert counts[("GET", LOOP_PATH)] == 1
    repeated = {path: n for (_, path), n in counts.items() if n > 1}
    assert not repeated, repeated
