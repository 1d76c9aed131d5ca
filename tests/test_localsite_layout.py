"""`localsite.layout`: the site's layouts reproduce the bundled pages byte for byte."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from localsite import layout

pytestmark = pytest.mark.timeout(60)


def _bundled_posts(site_dir: Path, truth_rows: list[dict]) -> list[layout.Post]:
    posts = []
    for row in truth_rows:
        page = (site_dir / row["url"].lstrip("/")).read_text(encoding="utf-8")
        section = page[page.index("<section>") :]
        title = re.search(r"<h1>(.*?)</h1>", section, re.S).group(1)
        content = re.search(r"</h1>\n\n(.*?)\n\n\n\n  <small>tags:", section, re.S).group(1)
        posts.append(
            layout.Post(
                name=row["name"],
                url=row["url"],
                title=title,
                date=datetime.fromisoformat(row["published_at"]),
                categories=tuple(row["categories"]),
                tags=tuple(row["tags"]),
                content=content,
            )
        )
    return layout.sort_posts(posts)


def test_layout_renders_every_bundled_article_byte_for_byte(
    site_dir: Path, truth_rows: list[dict]
) -> None:
    posts = _bundled_posts(site_dir, truth_rows)
    assert len(posts) == len(truth_rows) > 100
    for post in posts:
        assert layout.render_post(post) == (site_dir / post.url.lstrip("/")).read_text(
            encoding="utf-8"
        ), post.url


def test_layout_renders_the_bundled_listings_byte_for_byte(
    site_dir: Path, truth_rows: list[dict]
) -> None:
    posts = _bundled_posts(site_dir, truth_rows)
    for page in sorted((site_dir / "category").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        title = re.search(r"<title>(.*) \| 金融消息</title>", text).group(1)
        spaced = " " in page.stem
        listed = [] if spaced else [p for p in posts if page.stem in p.categories]
        assert layout.render_category(page.stem, title, listed, heading=not spaced) == text
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    tags = re.findall(r'<h2 id="([^"]*)">', index[index.index("<section>") :])
    sections = [(tag, [p for p in posts if tag in p.tags]) for tag in tags]
    assert layout.render_index(sections) == index
    emnews = [p for p in posts if layout.EMNEWS_TAG in p.tags]
    expected = (site_dir / "emnews" / "index.html").read_text(encoding="utf-8")
    assert layout.render_emnews_index(emnews) == expected
    feed = (site_dir / "feed.xml").read_text(encoding="utf-8")
    updated = re.search(r"<updated>(.*?)</updated>", feed).group(1)
    assert layout.render_feed(map(layout.render_feed_entry, posts[:10]), updated) == feed
