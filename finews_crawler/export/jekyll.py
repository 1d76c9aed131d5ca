"""Article records -> Jekyll posts in the site generator's format.

One post per article and category, named as the generator named them: `YYYY-MM-DD-<18 digits>.md`
in `emnews`, `YYYY-MM-DD-NW<18 digits>.md` in a media category (the date is the day the page
shows, GMT+8). Names are built from validated infoCodes only; a post without one (the site's
`init.md`) keeps its name only if it is a plain `YYYY-MM-DD-<slug>.md`. Nothing is ever written
outside the output directory.

Records: a page record of the store (`Repository.iter_article_pages`: the article with one page's
own fields laid over it, and that page's slug under `category`) is one post; an article record
(`iter_articles`) gives one post per category slug (`category_slugs`).

Lossless round trip: an imported post's exact text travels as `source_markdown` (a page record's
own post text, or {post file name: text} on an article record). When the record still says what
that post says (same category, title and body text) the post is written back byte for byte;
otherwise, and for articles that were crawled rather than imported, the post is generated from
the record in the generator's latest format:

    ---
    layout: post
    title: "<title>"
    date: YYYY-MM-DD HH:MM:SS +0800
    categories: <slug>
    tags: <tags>
    ---
    [> <digest>  (emnews)
    ]<body HTML>

    <share or upstream link, or <>>

    [返回<tags>](//finews.withounder.com/category/<slug>.html)｜[返回首页](//finews.withounder.com/)

Pure except `write_post`/`export_posts`, which only ever write inside the given directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from finews_crawler.parsing.html_text import squeeze
from finews_crawler.parsing.post import (
    SOURCE_FIELD,
    PostError,
    parse_post,
    post_item,
    split_post,
)
from finews_crawler.site import (
    CANONICAL_HOST,
    SHARE_PATH,
    SITE_TZ,
    is_valid_info_code,
    parse_published_at,
    path_categories,
)

logger = logging.getLogger(__name__)

EMNEWS = "emnews"
EMNEWS_TAG = "东财滚动新闻"
SHARE_BASE = "http://finews.zning.xyz"
#: A category slug as the site has them: words of letters, digits, `_`, `.`, `-`, one space apart.
CATEGORY_RE = re.compile(
    r"[0-9A-Za-z][0-9A-Za-z_.-]{0,63}(?: [0-9A-Za-z][0-9A-Za-z_.-]{0,63}){0,7}"
)
#: The only post names ever written: an infoCode name, or a plain slug for posts without one.
INFO_CODE_NAME_RE = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})-(?P<stem>(?:NW)?\d{18})\.md")
PLAIN_NAME_RE = re.compile(r"\d{4}-\d{2}-\d{2}-[0-9A-Za-z][0-9A-Za-z_-]{0,80}\.md")
#: A tags line that YAML reads as a plain string (else it is written double-quoted).
_PLAIN_SCALAR_RE = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\n\r:#]*")


class ExportError(ValueError):
    """A record that cannot be written as a post (no valid name, no date, bad category)."""


@dataclass
class ExportCounts:
    written: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def category_slugs(record: Mapping[str, Any]) -> list[str]:
    """The categories whose pages show the article, one slug per post (a slug may hold a space).

    A page record has its own (`category`). Otherwise: from the kept post sources, then from the
    article's URLs (their category segments are lower-cased, so the record's categories give back
    the case), else one slug per category.
    """
    if isinstance(record.get("category"), str) and record["category"]:
        return [record["category"]]
    categories = list(record.get("categories") or [])
    by_lower = {category.lower(): category for category in categories}
    slugs: list[str] = []
    for name, text in _sources(record).items():
        try:
            post = split_post(name, text)
        except PostError:
            continue
        slugs.append(" ".join(post_item(post).categories))
    for url in [record.get("url"), *(record.get("urls") or [])]:
        words = path_categories(url or "")
        if words:
            slugs.append(" ".join(by_lower.get(word.lower(), word) for word in words))
    if not slugs:
        slugs = categories
    unique: dict[str, str] = {}  # URLs are lower-cased: the first spelling wins
    for slug in slugs:
        if slug:
            unique.setdefault(slug.lower(), slug)
    return list(unique.values())


def post_file_name(record: Mapping[str, Any], category: str) -> str:
    """The generator's name for the article's post in `category`; ExportError if there is none."""
    _check_category(category)
    info_code = record.get("info_code")
    if info_code:
        if not isinstance(info_code, str) or not is_valid_info_code(info_code):
            raise ExportError(f"invalid infoCode {info_code!r}")
        stem = info_code[2:] if category == EMNEWS else info_code
        # The name the post had (its date is the file name's, which the page date may not be).
        for name in [*_sources(record), record.get("name")]:
            match = INFO_CODE_NAME_RE.fullmatch(name) if isinstance(name, str) else None
            if match and match.group("stem") == stem:
                return name
        return f"{_published(record):%Y-%m-%d}-{stem}.md"
    name = record.get("name")
    if isinstance(name, str) and PLAIN_NAME_RE.fullmatch(name):
        return name
    raise ExportError(f"no infoCode and no safe post name ({name!r})")


def render_post(record: Mapping[str, Any], category: str) -> tuple[str, str]:
    """(file name, text) of the article's post in `category`."""
    name = post_file_name(record, category)
    source = _sources(record).get(name)
    if source is not None and _source_agrees(name, source, record, category):
        return name, source
    return name, generate_post(record, category)


def generate_post(record: Mapping[str, Any], category: str) -> str:
    """The post the generator writes for a record (its latest format, see the module docstring)."""
    _check_category(category)
    tags = post_tags(record, category)
    front_matter = "\n".join(
        [
            "---",
            "layout: post",
            f"title: {_quoted(record.get('title') or '')}",
            f"date: {_published(record):%Y-%m-%d %H:%M:%S} +0800",
            f"categories: {category}",
            f"tags: {_tags_value(tags)}",
            "---",
            "",
        ]
    )
    blocks = []
    digest = record.get("digest")
    if category == EMNEWS and digest:
        blocks.append("> " + " ".join(str(digest).split()))
    body = (record.get("body_html") or "").strip()
    if body:
        blocks.append(body)
    link = _link_line(record, category)
    if link is not None:
        blocks.append(link)
    blocks.append(_back_links(category, tags))
    return front_matter + "\n\n".join(blocks)


def post_tags(record: Mapping[str, Any], category: str) -> list[str]:
    """The tags of the article's post in `category` (the back link says `返回<tags>`)."""
    if category == EMNEWS:
        return [EMNEWS_TAG]
    tags = [tag for tag in record.get("tags") or [] if tag != EMNEWS_TAG]
    media = record.get("media")
    if media:
        guess = f"{media}新闻".split()
        if not tags or all(tag in tags for tag in guess):
            return guess
    return tags or [f"{category}新闻"]


def write_post(output_dir: str | Path, name: str, text: str) -> Path:
    """Write one post atomically inside `output_dir`; refuse any name that could leave it."""
    if not (INFO_CODE_NAME_RE.fullmatch(name) or PLAIN_NAME_RE.fullmatch(name)):
        raise ExportError(f"refusing to write post {name!r}")
    root = Path(output_dir).resolve()
    target = root / name
    if target.parent != root:
        raise ExportError(f"refusing to write post {name!r} outside {root}")
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def export_posts(
    records: Iterable[Mapping[str, Any]],
    output_dir: str | Path,
    category: str | None = None,
    progress: Any = None,
) -> ExportCounts:
    """One post per article and category into `output_dir`.

    With `category`, only the posts of that category: its slug, or a slug holding it as a word
    (`21caijingAPP` selects `21shijijingjibaodao 21caijingAPP`).
    """
    counts = ExportCounts()
    for record in records:
        for slug in category_slugs(record):
            if category and category != slug and category not in slug.split():
                continue
            try:
                name, text = render_post(record, slug)
                write_post(output_dir, name, text)
            except ExportError as exc:
                counts.skipped += 1
                counts.errors.append(f"{record.get('info_code') or record.get('name')}: {exc}")
                logger.warning("skipped %s in %s: %s", record.get("url"), slug, exc)
                continue
            counts.written += 1
        if progress is not None:
            progress.advance()
    return counts


# --- helpers --------------------------------------------------------------------------------


def _sources(record: Mapping[str, Any]) -> dict[str, str]:
    """{post file name: exact text} of the posts the record was imported from."""
    sources = record.get(SOURCE_FIELD)
    if isinstance(sources, str):  # a page record: its own post
        name = record.get("name")
        return {name: sources} if isinstance(name, str) else {}
    if not isinstance(sources, Mapping):
        return {}
    return {
        name: text
        for name, text in sources.items()
        if isinstance(name, str) and isinstance(text, str)
    }


def _source_agrees(name: str, source: str, record: Mapping[str, Any], category: str) -> bool:
    """The kept post is of this category and still says what the record says."""
    try:
        item = parse_post(name, source)
    except PostError as exc:
        logger.warning("kept source %s cannot be read: %s", name, exc)
        return False
    return (
        " ".join(item.categories) == category
        and item.title == (record.get("title") or "")
        and squeeze(item.body_text) == squeeze(record.get("body_text"))
    )


def _check_category(category: str) -> None:
    if not isinstance(category, str) or not CATEGORY_RE.fullmatch(category):
        raise ExportError(f"invalid category {category!r}")


def _published(record: Mapping[str, Any]) -> datetime:
    value = record.get("published_at")
    try:
        published = parse_published_at(value)
    except ValueError:
        published = None
    if published is None:
        raise ExportError(f"no valid published_at ({value!r})")
    return published.astimezone(SITE_TZ)


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's): `"title"` for ordinary titles."""
    return json.dumps(value, ensure_ascii=False)


def _tags_value(tags: list[str]) -> str:
    value = " ".join(" ".join(tags).split())
    return value if _PLAIN_SCALAR_RE.fullmatch(value) else _quoted(value)


def _link_line(record: Mapping[str, Any], category: str) -> str | None:
    if category == EMNEWS:
        upstream = record.get("upstream_url")
        return f"<{upstream}>" if _safe_url(upstream) else "<>"
    share = record.get("share_url")
    if _safe_url(share):
        return f"<{share}>"
    info_code = record.get("info_code")
    if info_code and is_valid_info_code(info_code):
        return f"<{SHARE_BASE}{SHARE_PATH}?infoCode={info_code}>"
    return None


def _safe_url(url: object) -> bool:
    return isinstance(url, str) and re.fullmatch(r"https?://[^\s<>]+", url) is not None


def _back_links(category: str, tags: list[str]) -> str:
    label = " ".join(tags)
    home = f"//{CANONICAL_HOST}/"
    target = f"{home}{EMNEWS}/" if category == EMNEWS else f"{home}category/{category}.html"
    return f"[返回{label}]({target})｜[返回首页]({home})"
