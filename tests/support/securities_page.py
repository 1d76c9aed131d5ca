"""The all-forms page: an article naming securities in every East Money markup, in the site's
true layout, and a copy of the bundled mirror that links it.

The post, `tests/fixtures/securities/<POST_NAME>`, is written in the generator's format for a
media category (Wind). Its page, `tests/fixtures/securities/site/<PAGE_URL>`, is what
`localsite.layout` renders of it (a test checks the two agree); after a deliberate
change of the post, rewrite the page with

    .venv/bin/python tests/support/securities_page.py

The page is not part of the bundled mirror (tests count that mirror's pages): `mirror_with_page`
copies the mirror and adds it, linked from its category page.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

from finews_crawler.parsing.post import PostItem, read_post, split_post
from localsite import layout

SECURITIES = Path(__file__).resolve().parents[1] / "fixtures" / "securities"
POST_NAME = "2022-05-27-NW202205272412345678.md"
POST_PATH = SECURITIES / POST_NAME
PAGE_URL = "/wind/2022/05/27/NW202205272412345678.html"
PAGE_PATH = SECURITIES / "site" / PAGE_URL.lstrip("/")
CATEGORY = "Wind"
CATEGORY_PAGE = f"category/{CATEGORY}.html"
#: One HTML block of the post's body (the generator writes them on one or more lines).
_BLOCK = re.compile(r"<p\b.*?</p>", re.S)


def post_item() -> PostItem:
    """The post as `finews import-archive` reads it."""
    return read_post(POST_PATH)


def page_post() -> layout.Post:
    """The post as the site's templates take it: its body one block per line, as Jekyll writes
    the raw HTML blocks of a post, then the 文章来源 line, share link and back links."""
    item = post_item()
    segments = split_post(POST_NAME, POST_PATH.read_text(encoding="utf-8")).segments
    body = next(text for kind, text in segments if kind == "body")
    *blocks, media_line = _BLOCK.findall(body)
    assert media_line == f'<p class="em_media">（文章来源：{item.media}）</p>', media_line
    content = layout.media_content(
        "\n".join(blocks), media=item.media or "", info_code=item.info_code or "", slug=CATEGORY
    )
    return layout.Post(
        name=POST_NAME,
        url=item.url,
        title=item.title,
        date=datetime.fromisoformat(item.published_at or ""),
        categories=tuple(item.categories),
        tags=tuple(item.tags),
        content=content,
    )


def render_page() -> str:
    return layout.render_post(page_post())


def mirror_with_page(site_dir: Path, target: Path) -> Path:
    """A copy of the mirror at `target` with the page added and listed first on its category
    page, in the listing's own markup; returns `target`."""
    shutil.copytree(site_dir, target)
    page = target / PAGE_URL.lstrip("/")
    page.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PAGE_PATH, page)
    listing = target / CATEGORY_PAGE
    text = listing.read_text(encoding="utf-8")
    assert text.count("<ul>\n") == 1, "one list on a category page"
    item = f'  \n    <li><a href="{PAGE_URL}">{post_item().title}</a></li>\n'
    listing.write_text(text.replace("<ul>\n", "<ul>\n" + item), encoding="utf-8")
    return target


if __name__ == "__main__":
    PAGE_PATH.parent.mkdir(parents=True, exist_ok=True)
    PAGE_PATH.write_text(render_page(), encoding="utf-8")
    print(f"wrote {PAGE_PATH}")
