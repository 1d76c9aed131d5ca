"""Jekyll posts (the site's Markdown sources) -> `ArticleItem` (a `PostItem`).

The site's archive (`old_post/` in the site's repository) holds the posts the generator wrote:
YAML front matter, then the article body, the share or upstream link line and the back links.
This module reads one post (file name + text) the way Jekyll renders it, so that a post read here
and the page crawled from the live site give the same record (see the corpus README, "The site,
as it is served" and "Markup worth knowing"):

- `published_at` follows the date the page shows (GMT+8): a date written without an offset is read
  as UTC, as YAML does, and shown 8 hours later; a date with ` +0800` is that instant; no date at
  all means midnight (GMT+8) of the file name's date.
- `url` is the path Jekyll renders the post at (categories lower-cased, one segment per word).
- `body_html` is the article HTML without the digest blockquote, the link line and the back links;
  `body_text` its text without the `（文章来源：…）` paragraph.

The body is rendered the way Jekyll (kramdown) would render these posts and read by the page
readers' shared cleaning (`parsing.readers.content`), so both paths share one definition of
every body field.

Pure: no I/O besides `read_post` and `read_posts`, no Scrapy. `split_post` keeps every part of
the post verbatim (`Post.segments`), and the item carries the post's exact text
(`PostItem.source_markdown`): what the Jekyll exporter needs for byte-exact round trips.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from html import escape
from pathlib import Path
from urllib.parse import urljoin

import yaml
from lxml import etree, html

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.readers.content import PostContent
from finews_crawler.site import (
    DEFAULT_BASE_URL,
    SITE_TZ,
    article_path,
    info_code_from_share_url,
    normalize_info_code,
)

#: The item field (and page record key) that carries a post's exact text (`PostItem`).
SOURCE_FIELD = "source_markdown"
#: Jekyll only reads `_posts` files named `YYYY-MM-DD-<slug>.<ext>`.
POST_NAME_RE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<stem>[^/\\]+)\.(?:md|markdown)$")
#: The base loader keeps every scalar a string (no YAML date/number guessing); libyaml's (C)
#: when PyYAML was built with it: the pure-Python scanner was 55% of `read_post` (bench/).
YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
#: The rendered post's parser: parsel's for `Selector(text=...)` (lenient, huge trees), called
#: directly: the Selector's JSON probe and a parser built per post were a third of
#: `rendered_blocks` (bench/archive.py). One per process: lxml parsers may be reused.
HTML_PARSER = html.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
#: Front matter the generator wrote (`key: value` lines) is read without YAML when each line is
#: trivially a key and a string (YAML was a quarter of `read_post`, bench/archive.py): a plain
#: key at column 0 (well under YAML's 1,024 characters) and, after `: `, nothing, a
#: double-quoted string without escapes or quotes, or a one-line plain scalar: no indicator
#: first, no `: ` or ` #` inside, no `:` last. Anything else (comments, blank or indented lines,
#: CR, tabs, characters YAML treats specially) is read by YAML.
SIMPLE_FRONT_MATTER_RE = re.compile(
    r"[\x20-\x7e\n\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*"
)
SIMPLE_LINE_RE = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]{0,100}):"
    r"(?:[ ]+(?:\"(?P<quoted>[^\"\\]*)\"|(?P<plain>[^-?:,\[\]{}#&*!|>'\"%@`\s].*?)))?[ ]*"
)
#: How much of an unreadable post goes to quarantine.
EXCERPT_CHARS = 500
#: Jekyll's front matter: `---` line, YAML, `---` (or `...`) line.
FRONT_MATTER_RE = re.compile(
    r"\A(---[ \t]*\r?\n)(.*?\r?\n)??((?:---|\.\.\.)[ \t]*(?:\r?\n|\Z))", re.S
)
#: The date forms YAML (and Jekyll) accept: date, optional time, optional offset.
DATE_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?:[ \t]*(?P<tz>Z|[-+]\d{1,2}(?::?\d{2})?))?)?$"
)
#: `<http://...>` (share or upstream link) or the empty `<>`, alone on a line.
LINK_LINE_RE = re.compile(r"^<(?P<url>https?://[^\s<>]*)?>$")
#: One back-link line: `[返回X](url)`, optionally followed by `｜[返回首页](url)`.
BACK_LINK_LINE_RE = re.compile(r"^\[返回[^\]\n]*\]\([^)\n]*\)(?:｜\[返回[^\]\n]*\]\([^)\n]*\))*$")
#: A Markdown link `[text](url)` (back links; the URL may hold a space: `category/a b.html`).
MARKDOWN_LINK_RE = re.compile(r"\[(?P<text>[^\]\n]*)\]\((?P<url>[^)\n]*)\)")


class PostError(ValueError):
    """A post that cannot be read as Jekyll would (it would not render)."""

    def __init__(self, file_name: str, reason: str) -> None:
        super().__init__(f"{file_name}: {reason}")
        self.file_name = file_name
        self.reason = reason


@dataclass
class PostItem(ArticleItem):
    """An ArticleItem read from a post, with the post's exact text.

    The store keeps `source_markdown` with the page, so that the Jekyll export can give the post
    back byte for byte (see `export.jekyll`). Crawled items do not have it.
    """

    source_markdown: str | None = None


@dataclass(frozen=True)
class UnreadablePost:
    """A post file that cannot be read: its path, why, and the start of its text."""

    path: str
    reason: str
    excerpt: str


@dataclass
class Post:
    """A post split into its parts, each kept verbatim.

    `segments` is the post after the front matter as `(kind, text)` pairs whose texts concatenate
    back to it exactly; kinds are `sep` (blank lines), `digest` (the `> ...` blockquote), `body`
    (article Markdown), `link` (the `<url>` line) and `back` (the back links).
    """

    name: str
    front_matter: str
    data: dict[str, object]
    segments: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.front_matter + "".join(text for _, text in self.segments)

    @cached_property
    def published(self) -> datetime:
        """`published_at(self)`, read once (`split_post` checks it, `post_item` uses it)."""
        return published_at(self)


def read_post(path: str | Path) -> PostItem:
    """Read one post file (bytes kept as they are: CRLF survives)."""
    # os.path, not a Path per post: pathlib was a tenth of reading a post (bench/archive.py).
    name = os.path.basename(path)
    with open(path, "rb") as file:
        raw = file.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PostError(name, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return parse_post(name, text)


def read_posts(paths: Iterable[str | Path]) -> list[PostItem | UnreadablePost]:
    """Read post files, one result each, in order: the item, or why the file cannot be read."""
    results: list[PostItem | UnreadablePost] = []
    for path in paths:
        try:
            results.append(read_post(path))
        except (PostError, OSError) as exc:
            reason = exc.reason if isinstance(exc, PostError) else str(exc)
            results.append(UnreadablePost(str(path), reason, _excerpt(Path(path))))
    return results


def _excerpt(path: Path) -> str:
    try:
        return path.read_bytes()[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    except OSError:
        return ""


def parse_post(file_name: str, text: str) -> PostItem:
    """The record a crawl of the rendered page would give (see the module docstring)."""
    return post_item(split_post(file_name, text))


def split_post(file_name: str, text: str) -> Post:
    """Split a post into front matter and verbatim body segments; PostError if Jekyll can't."""
    file_name = os.path.basename(file_name)
    if not POST_NAME_RE.match(file_name):
        raise PostError(file_name, "no date in the file name (expected YYYY-MM-DD-<name>.md)")
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # Jekyll skips it; the round trip keeps it
    text = text[len(bom) :]
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise PostError(file_name, "no YAML front matter")
    try:
        data = front_matter_data(match.group(2) or "")
    except yaml.YAMLError as exc:
        raise PostError(file_name, f"front matter is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise PostError(file_name, "front matter is not a mapping")
    post = Post(file_name, bom + match.group(0), data, _segments(text[match.end() :]))
    post.published  # noqa: B018 - raises PostError for a date Jekyll would reject
    return post


def front_matter_data(text: str) -> object:
    """The front matter as YAML's base loader reads it (every scalar a string; {} when empty);
    trivially simple front matter (`SIMPLE_LINE_RE`) without YAML, to the same result."""
    data = _simple_front_matter(text)
    if data is None:
        data = yaml.load(text, Loader=YAML_LOADER) or {}
    return data


def _simple_front_matter(text: str) -> dict[str, str] | None:
    """The mapping of front matter made of simple lines only, else None."""
    if not text.endswith("\n") or not SIMPLE_FRONT_MATTER_RE.fullmatch(text):
        return None
    data: dict[str, str] = {}
    for line in text[:-1].split("\n"):
        found = SIMPLE_LINE_RE.fullmatch(line)
        if found is None:
            return None
        quoted, plain = found.group("quoted", "plain")
        if plain is not None and (": " in plain or " #" in plain or plain.endswith(":")):
            return None
        data[found.group("key")] = quoted if quoted is not None else plain or ""
    return data


def post_item(post: Post) -> PostItem:
    """The ArticleItem of a split post.

    Front matter fields come from the post; everything read from the body (digest, media, links,
    body HTML and text, stocks, images) comes from the page parser reading the body as Jekyll
    renders it, so an imported post and a crawled page mean the same thing field by field.
    """
    stem = POST_NAME_RE.match(post.name).group("stem")  # type: ignore[union-attr]
    categories = _words(post.data.get("categories", post.data.get("category")))
    published = post.published
    url = article_path(categories, published, stem)
    page = PostContent(rendered_blocks(post), urljoin(DEFAULT_BASE_URL, url))
    share_url = page.share_url()
    return PostItem(
        info_code=normalize_info_code(stem) or info_code_from_share_url(share_url or ""),
        url=url,
        name=post.name,
        title=_title(post.data, stem),
        published_at=published.isoformat(),
        categories=categories,
        tags=_words(post.data.get("tags", post.data.get("tag"))),
        media=page.media(),
        digest=page.digest(),
        body_html=page.body_html(),
        body_text=page.body_text(),
        share_url=share_url,
        upstream_url=page.upstream_url(),
        stocks=page.stocks(),
        images=page.images(),
        source_markdown=post.text,
    )


def rendered_blocks(post: Post) -> list[etree._Element]:
    """The top-level elements of the post's content, as Jekyll renders it."""
    parts = []
    for kind, text in post.segments:
        if kind == "digest":
            inner = "\n".join(re.sub(r"^\s*>[ \t]?", "", line) for line in text.splitlines())
            parts.append(f"<blockquote>\n{markdown_to_html(inner)}\n</blockquote>")
        elif kind == "link":
            url = LINK_LINE_RE.match(text.strip()).group("url")  # type: ignore[union-attr]
            link = f'<a href="{escape(url)}">{escape(url)}</a>' if url else escape("<>")
            parts.append(f"<p>{link}</p>")
        elif kind == "back":
            lines = [MARKDOWN_LINK_RE.sub(_link_html, line.strip()) for line in text.splitlines()]
            parts.append("<p>" + "\n".join(lines) + "</p>")
        elif kind == "body":
            parts.append(markdown_to_html(text))
    body = "\n\n".join(parts)
    # As parsel reads `Selector(text=...)`: NUL characters dropped, UTF-8 to the parser.
    markup = f"<html><body><section>\n{body}\n</section></body></html>".replace("\x00", "")
    document = etree.fromstring(markup.encode("utf-8"), parser=HTML_PARSER)
    return list(document.find("body/section"))


def _link_html(match: re.Match[str]) -> str:
    return f'<a href="{escape(match.group("url"))}">{escape(match.group("text"))}</a>'


def published_at(post: Post) -> datetime:
    """The post's date as the page shows it (GMT+8); see the module docstring."""
    raw = post.data.get("date")
    name_date = POST_NAME_RE.match(post.name).group("date")  # type: ignore[union-attr]
    if raw is None:
        return _parse_date(post.name, name_date, naive_tz=SITE_TZ)
    if not isinstance(raw, str):
        raise PostError(post.name, f"invalid date {raw!r}")
    return _parse_date(post.name, raw, naive_tz=UTC)


def _parse_date(file_name: str, raw: str, naive_tz: timezone) -> datetime:
    found = DATE_RE.match(raw.strip())
    if not found:
        raise PostError(file_name, f"invalid date {raw.strip()!r} in the front matter")
    parts = found.groupdict()
    tz: timezone = SITE_TZ
    if parts["H"] is not None:
        tz = naive_tz if parts["tz"] is None else _offset(parts["tz"])
    try:
        value = datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            int((parts["f"] or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise PostError(file_name, f"invalid date {raw.strip()!r} ({exc})") from None
    return value.astimezone(SITE_TZ)


def _offset(raw: str) -> timezone:
    if raw == "Z":
        return UTC
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def _words(value: object) -> list[str]:
    """Jekyll's categories/tags: a string split on spaces, or a list of such strings."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [word for item in items if isinstance(item, str) for word in item.split()]


def _title(data: dict[str, object], stem: str) -> str:
    title = data.get("title")
    if isinstance(title, str):
        return title
    # Jekyll titles a post without one after its slug ("my-post" -> "My Post").
    return " ".join(word.capitalize() for word in stem.split("-"))


def _segments(body: str) -> list[tuple[str, str]]:
    """Split the Markdown after the front matter into verbatim, classified segments."""
    # Lines with their `\n` (only `\n` ends a line here, as in Jekyll), without an empty last one.
    lines = [line + "\n" for line in body.split("\n")]
    lines[-1] = lines[-1][:-1]
    groups: list[list[str]] = []  # alternating runs of blank and non-blank lines
    blank_group = False
    for line in lines:
        if not line:
            continue
        blank = not line.strip()
        if groups and blank_group == blank:
            groups[-1].append(line)
        else:
            groups.append([line])
            blank_group = blank
    segments: list[tuple[str, str]] = []
    first = True  # no block yet: only the first block can be the digest
    for group in groups:
        text = "".join(group)
        if not group[0].strip():
            segments.append(("sep", text))
            continue
        # The last line end of a block belongs to the separator after it.
        stripped = text.rstrip("\r\n")
        segments.append((_kind(stripped, first=first), stripped))
        first = False
        if len(stripped) < len(text):
            segments.append(("sep", text[len(stripped) :]))
    merged: list[tuple[str, str]] = []
    for kind, text in segments:
        if merged and kind == "sep" and merged[-1][0] == "sep":
            merged[-1] = ("sep", merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


def _kind(block: str, first: bool) -> str:
    lines = [line.strip() for line in block.splitlines()]
    if first and lines[0].startswith(">"):
        return "digest"
    if len(lines) == 1 and LINK_LINE_RE.match(lines[0]):
        return "link"
    if all(BACK_LINK_LINE_RE.match(line) for line in lines):
        return "back"
    return "body"


def markdown_to_html(markdown: str) -> str:
    """The article HTML of a post body: raw HTML blocks as they are, text blocks as paragraphs.

    The generator wrote bodies as HTML (newer posts) or as one plain text paragraph (older emnews
    posts); that is all the Markdown the archive holds, so nothing else is converted.
    """
    blocks = [block for block in re.split(r"\r?\n(?:[ \t]*\r?\n)+", markdown) if block.strip()]
    out = []
    for block in blocks:
        block = block.replace("\r\n", "\n")
        if block.lstrip().startswith("<"):
            out.append(block.strip("\n"))
        else:
            text = "\n".join(line.strip() for line in block.splitlines())
            out.append(f"<p>{text}</p>")
    return "\n".join(out)
