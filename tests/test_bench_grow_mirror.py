"""`bench/grow_mirror.py`: a grown mirror's counts, links and markup are those of the site."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote

import pytest
from support.paths import PROJECT_ROOT

from finews_crawler.site import INFO_CODE_RE

pytestmark = pytest.mark.timeout(60)


def _grow_module() -> ModuleType:
    """bench/grow_mirror.py is a script, not a package module: load it by path (once)."""
    if "grow_mirror" not in sys.modules:
        path = PROJECT_ROOT / "bench" / "grow_mirror.py"
        spec = importlib.util.spec_from_file_location("grow_mirror", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["grow_mirror"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["grow_mirror"]


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, list[dict]]]:
    out = tmp_path_factory.mktemp("grow") / "site50"
    manifest = _grow_module().grow(50, out)
    rows = [json.loads(line) for line in out.with_name("site50.truth.jsonl").open(encoding="utf-8")]
    yield out, manifest, rows


def test_grown_mirror_counts(grown, truth_rows: list[dict]) -> None:
    out, manifest, rows = grown
    synthetic = rows[len(truth_rows) :]
    assert manifest["synthetic_articles"] == sum(manifest["synthetic_kinds"].values()) == 50
    assert len(synthetic) == manifest["synthetic_pages"] == 50 + manifest["synthetic_kinds"]["both"]
    bundled_codes = {r["info_code"] for r in truth_rows if r["info_code"]}
    synthetic_codes = {r["info_code"] for r in synthetic}
    assert len(synthetic_codes) == 50 and not synthetic_codes & bundled_codes
    assert manifest["info_codes"] == len(bundled_codes) + 50
    for row in synthetic:
        assert INFO_CODE_RE.fullmatch(row["info_code"])
        year, month, day = row["url"].split("/")[-4:-1]
        assert row["info_code"][2:10] == year + month + day
        assert (out / row["url"].lstrip("/")).is_file()
    pages = [p for p in out.rglob("*.html") if re.search(r"/\d{4}/\d{2}/\d{2}/", str(p))]
    assert len(pages) == len(rows)
    categories = {" ".join(r["categories"]) for r in synthetic}
    assert "emnews" in categories and len(categories) > 10
    by_code: dict[str, set[str]] = {}
    for row in synthetic:
        by_code.setdefault(row["info_code"], set()).add(row["categories"][0])
    assert any(len(cats) == 2 and "emnews" in cats for cats in by_code.values())


def test_grown_mirror_links_are_valid(grown) -> None:
    out, _, rows = grown
    listed: set[str] = set()
    for page in [*(out / "category").glob("*.html"), out / "index.html"]:
        text = page.read_text(encoding="utf-8")
        # Only the section: the home page's head holds its Liquid source (`{{ post.url }}`).
        for href in re.findall(r'<li><a href="([^"]*)"', text[text.index("<section>") :]):
            assert (out / unquote(href).lstrip("/")).is_file(), (page.name, href)
            listed.add(href)
    emnews_index = (out / "emnews" / "index.html").read_text(encoding="utf-8")
    emnews_index = html.unescape(emnews_index[emnews_index.index("<section>") :])
    for href in re.findall(r'<li><a href="([^"]*)" target="_blank">', emnews_index):
        assert (out / href.lstrip("/")).is_file()
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    links = re.findall(r'<link href="https://finews.withounder.com(/[^"]+\.html)"', feed)
    assert len(links) == 10 and all((out / link.lstrip("/")).is_file() for link in links)
    # Every article is listed by its category page, but for the slug Jekyll could not look up.
    unlisted = {r["url"] for r in rows} - listed
    assert all(url.startswith("/21shijijingjibaodao/21caijingapp/") for url in unlisted)


def test_grown_pages_use_the_real_layout(grown) -> None:
    out, _, rows = grown
    row = next(r for r in reversed(rows) if r["share_url"])
    page = (out / row["url"].lstrip("/")).read_text(encoding="utf-8")
    assert page.count(row["share_url"]) == 4  # the body spills out of og:description
    assert f"<small>(GMT+8, Asia/Shanghai, CST) {row['published_at'][:10]}" in page
    assert "返回首页</a></p>\n\n\n\n  <small>tags: <em>" in page


def test_growing_nothing_keeps_the_listings(tmp_path: Path, site_dir: Path) -> None:
    out = tmp_path / "site0"
    _grow_module().grow(0, out)
    for name in ("index.html", "emnews/index.html", "feed.xml"):
        assert (out / name).read_bytes() == (site_dir / name).read_bytes(), name


def test_grow_refuses_to_overwrite_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit):
        _grow_module().grow(1, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"
