"""Hostile and malformed pages, in the site's own markup, for the fault-injection suite (issue 5).

`hostile_site(tmp_dir)` writes a small site (deterministic, generated at test time: the 30 MB page
is never committed) whose category page `/category/hostile.html` lists, in the markup of the real
category pages:

- article pages in the real post layout under `/hostile/2022/04/01/NW20220401...html`, each with
  its own valid infoCode: a control page, a GBK and a GB2312 page whose charset is declared only
  in a `<meta http-equiv>` tag (the mirror then sends `text/html` without a charset), a page
  without any layout, a page cut short in the middle of a tag, binary garbage served as `.html`,
  a page over 30 MB, markup and `<script>` in the title and the body, and a page full of
  `javascript:`, `mailto:`, `data:` and off-site links;
- links that must never be requested: `javascript:`, `mailto:`, `data:`, other hosts (also
  look-alikes and loopback on another port), file names with `%2F..%2F`;
- links to itself, and to `/category/hostile-loop.html`, a listing that links to itself in
  several spellings.

`HOSTILE_PAGES` and `HOSTILE_LINKS` describe each entry and the outcome issue 5 asks for, so tests
can walk them instead of hard-coding paths. Pass `base=` to add the hostile pages to a copy of
another site (say `tests/fixtures/site`), whose home page then lists them too.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from localsite.layout import (
    Post,
    media_content,
    render_category,
    render_index,
    render_post,
    sort_posts,
)

HOSTILE_SLUG = "hostile"
LOOP_SLUG = "hostile-loop"
MEDIA = "恶意测试"
HOSTILE_TAG = f"{MEDIA}新闻"
CATEGORY_PATH = f"/category/{HOSTILE_SLUG}.html"
LOOP_PATH = f"/category/{LOOP_SLUG}.html"
#: The big page is at least this many bytes (30 MiB).
BIG_PAGE_BYTES = 30 * 1024 * 1024
GBK_META = '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
GB2312_META = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
_TZ = timezone(timedelta(hours=8))
_DAY = "2022/04/01"

Expect = Literal["article", "quarantine", "either"]


@dataclass(frozen=True)
class HostilePage:
    """One page of the hostile site and what a correct crawl makes of it."""

    key: str
    url: str
    info_code: str
    title: str  # the title as text: what a correct parse yields ("" when the page has none)
    expect: Expect  # an item ("article"), a quarantine record, or "either" of them
    note: str
    body_contains: str = ""  # text a correct parse finds in body_text
    forbidden: tuple[str, ...] = ()  # must not appear in any text field of any export


@dataclass(frozen=True)
class HostileLink:
    """A link on the hostile listing that is not an article."""

    key: str
    href: str  # as written in the page (HTML-escaped where needed)
    expect: Literal["never_requested", "listing"]
    note: str


def _page(n: int, key: str, title: str, expect: Expect, note: str, **extra: object) -> HostilePage:
    code = f"NW20220401{n:010d}"
    return HostilePage(key, f"/hostile/{_DAY}/{code}.html", code, title, expect, note, **extra)


_SCRIPT_FORBIDDEN = (
    "<script",
    "</script>",
    "alert(",
    "<b>",
    "<img",
    "onerror",
    "<iframe",
    "<style",
)

HOSTILE_PAGES: tuple[HostilePage, ...] = (
    _page(
        1,
        "control",
        "恶意测试对照：一切正常的文章",
        "article",
        "a normal article in the real layout; proves the crawl went on",
        body_contains="这是一篇完全正常的文章",
    ),
    _page(
        2,
        "gbk",
        "国内商品期货多数收跌 纯碱主力合约跌停",
        "article",
        "GBK bytes; charset only in <meta http-equiv>; served as text/html without charset",
        body_contains="本页面使用GBK编码",
    ),
    _page(
        3,
        "gb2312",
        "上海发布新闻稿 采用国标编码",
        "article",
        "GB2312 bytes; charset only in <meta http-equiv>; served without charset",
        body_contains="本页面使用国标二三一二编码",
    ),
    _page(
        4,
        "no_layout",
        "",
        "either",
        "just the rendered Markdown body: no head, no section, no h1, no date",
        body_contains="没有布局的页面",
    ),
    _page(
        5,
        "truncated",
        "页面在标签中间被截断",
        "either",
        "the real layout cut in the middle of a tag inside the body: no tags line, no end",
        body_contains="截断之前的第一段",
    ),
    _page(6, "garbage", "", "quarantine", "64 KiB of random bytes (NULs included) named .html"),
    _page(
        7,
        "big",
        "超大页面：三十兆字节",
        "quarantine",
        f"the real layout, over {BIG_PAGE_BYTES} bytes: the download size cap must hold",
    ),
    _page(
        8,
        "script",
        "标题含有标记",
        "article",
        "<script>, <b>, <img onerror>, <iframe>, <style> in the title and the body",
        body_contains="正文开始继续",
        forbidden=_SCRIPT_FORBIDDEN,
    ),
    _page(
        9,
        "links",
        "各种危险链接",
        "article",
        "javascript:, mailto:, data:, ftp: and off-site links and images in the body",
        body_contains="以下链接都不应被抓取",
        forbidden=("javascript:",),
    ),
)

HOSTILE_LINKS: tuple[HostileLink, ...] = (
    HostileLink("javascript", "javascript:alert(document.cookie)", "never_requested", "scheme"),
    HostileLink("javascript_mixed", " JaVaScRiPt:void(0)", "never_requested", "scheme, odd case"),
    HostileLink("mailto", "mailto:editor@finews.example", "never_requested", "scheme"),
    HostileLink(
        "data",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "never_requested",
        "scheme",
    ),
    HostileLink(
        "ftp", "ftp://finews.withounder.com/category/hostile.html", "never_requested", "scheme"
    ),
    HostileLink("offsite", "http://evil.example/steal?c=1", "never_requested", "another host"),
    HostileLink(
        "offsite_relative",
        "//evil.example/category/hostile.html",
        "never_requested",
        "another host, protocol-relative",
    ),
    HostileLink(
        "lookalike",
        "https://finews.withounder.com.evil.example/category/hostile.html",
        "never_requested",
        "a host that only starts like the site's",
    ),
    HostileLink(
        "other_port",
        "http://127.0.0.1:9/category/hostile.html",
        "never_requested",
        "loopback on another port: not the mirror",
    ),
    HostileLink(
        "traversal",
        f"/hostile/{_DAY}/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd.html",
        "never_requested",
        "%2F..%2F in the file name",
    ),
    HostileLink(
        "traversal_code",
        f"/hostile/{_DAY}/NW202204010000000010%2F..%2F..%2F..%2F..%2F..%2Fsecret.html",
        "never_requested",
        "an infoCode-looking file name with %2F..%2F",
    ),
    HostileLink("self", CATEGORY_PATH, "listing", "the listing links to itself"),
    HostileLink(
        "self_canonical",
        f"//finews.withounder.com{CATEGORY_PATH}",
        "listing",
        "itself again, on the canonical host",
    ),
    HostileLink("loop", LOOP_PATH, "listing", "a listing that links to itself"),
)

#: How the self-linking listing spells its own address.
LOOP_SELF_LINKS: tuple[str, ...] = (
    LOOP_PATH,
    f"https://finews.zning.me{LOOP_PATH}",
    f"//finews.withounder.com{LOOP_PATH}",
    f"{LOOP_PATH}#top",
    f"/category/../category/{LOOP_SLUG}.html",
    f"./{LOOP_SLUG}.html",
)


def hostile_site(
    tmp_dir: Path, *, base: Path | None = None, big_bytes: int = BIG_PAGE_BYTES, seed: int = 5
) -> Path:
    """Write the hostile site into `tmp_dir/hostile-site` (replacing it) and return that root.

    With `base`, the folder starts as a copy of that site and its home page gains the hostile
    tag section; without it, the site has its own home page and a plain 404 page.
    """
    root = Path(tmp_dir) / "hostile-site"
    if root.exists():
        shutil.rmtree(root)
    if base is not None:
        shutil.copytree(base, root)
    root.mkdir(parents=True, exist_ok=True)
    pages = {page.key: page for page in HOSTILE_PAGES}
    posts = []
    for n, page in enumerate(HOSTILE_PAGES):
        post = _post(page, minute=n)
        data = _render(page, post, big_bytes=big_bytes, seed=seed)
        target = root / page.url.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        posts.append(post)
    posts = sort_posts(posts)

    category = root / "category"
    category.mkdir(exist_ok=True)
    entries: list[tuple[str, str]] = [(p.url, p.title or f"（{p.name}）") for p in posts]
    entries += [(link.href, f"链接：{link.key}") for link in HOSTILE_LINKS]
    (category / f"{HOSTILE_SLUG}.html").write_text(
        render_category(HOSTILE_SLUG, MEDIA, entries), encoding="utf-8"
    )
    loop_entries = [(href, "本页自身") for href in LOOP_SELF_LINKS]
    loop_entries += [(CATEGORY_PATH, MEDIA), (pages["control"].url, pages["control"].title)]
    (category / f"{LOOP_SLUG}.html").write_text(
        render_category(LOOP_SLUG, "自我链接", loop_entries), encoding="utf-8"
    )
    _write_home(root, posts, with_base=base is not None)
    if not (root / "404.html").exists():
        (root / "404.html").write_text(_NOT_FOUND, encoding="utf-8")
    return root


def _post(page: HostilePage, minute: int) -> Post:
    title = page.title
    if page.key == "script":
        title = '<script>alert("title")</script>标题<b>含有</b>标记'
    return Post(
        name=f"2022-04-01-{page.info_code}.md",
        url=page.url,
        title=title,
        date=datetime(2022, 4, 1, 9, minute, 0, tzinfo=_TZ),
        categories=(HOSTILE_SLUG,),
        tags=(HOSTILE_TAG,),
        content=media_content(
            _BODIES.get(page.key, "<p>正文</p>"),
            media=MEDIA,
            info_code=page.info_code,
            slug=HOSTILE_SLUG,
        ),
    )


def _render(page: HostilePage, post: Post, *, big_bytes: int, seed: int) -> bytes:
    if page.key == "gbk":
        return render_post(post, charset_meta=GBK_META).encode("gbk")
    if page.key == "gb2312":
        return render_post(post, charset_meta=GB2312_META).encode("gb2312")
    if page.key == "no_layout":
        return (post.content + "\n").encode("utf-8")
    if page.key == "truncated":
        html = render_post(post)
        cut = html.index('<span id="stock_0.300959"><a class="keytip" data-co', html.index("<h1>"))
        return html[: cut + 50].encode("utf-8")
    if page.key == "garbage":
        data = bytearray(random.Random(seed).randbytes(64 * 1024))
        data[:4] = b"\x00\xff\xfe\x89"  # no BOM, no "<", a NUL first
        return bytes(data)
    if page.key == "big":
        return _big_page(page, post, big_bytes)
    return render_post(post).encode("utf-8")


def _big_page(page: HostilePage, post: Post, big_bytes: int) -> bytes:
    """The layout puts the body in the page twice; the first block alone makes the excerpt."""
    paragraph = "<p>" + "超大页面的正文段落，用来撑大页面体积。" * 20 + "</p>\n"
    count = big_bytes // 2 // len(paragraph.encode("utf-8")) + 2
    body = "<p>超大页面的第一段。</p>\n\n" + paragraph * count
    content = media_content(body, media=MEDIA, info_code=page.info_code, slug=HOSTILE_SLUG)
    data = render_post(
        Post(post.name, post.url, post.title, post.date, post.categories, post.tags, content)
    ).encode("utf-8")
    if len(data) < big_bytes:
        raise RuntimeError(f"the big page came out at {len(data)} bytes, under {big_bytes}")
    return data


def _write_home(root: Path, posts: list[Post], *, with_base: bool) -> None:
    index = root / "index.html"
    if with_base and index.exists():
        text = index.read_text(encoding="utf-8")
        section = render_index([(HOSTILE_TAG, posts)])
        start = section.index(f'<h2 id="{HOSTILE_TAG}">')
        part = section[start : section.index("<hr />\n\n", start) + len("<hr />\n\n")]
        at = text.rfind("<hr />\n\n") + len("<hr />\n\n")
        index.write_text(text[:at] + part + text[at:], encoding="utf-8")
    else:
        index.write_text(render_index([(HOSTILE_TAG, posts)]), encoding="utf-8")


_BODIES: dict[str, str] = {
    "control": "<p>这是一篇完全正常的文章，用来证明遇到恶意页面之后抓取仍在继续。</p>\n"
    '<p>文中提到<span id="stock_0.300959"><a href="http://quote.eastmoney.com/unify/r/0.300959"'
    ' class="keytip" data-code="0,300959">线上线下</a></span>'
    '<span id="quote_0.300959"></span>的股票。</p>',
    "gbk": "<p>本页面使用GBK编码，字符集只在meta标签中声明。国内商品期货收盘多数下跌，"
    "纯碱主力合约跌停，玻璃跌超7%。</p>\n<p>业内人士表示，短期内市场情绪仍偏谨慎。</p>",
    "gb2312": "<p>本页面使用国标二三一二编码，字符集只在网页的元标签中声明。</p>\n"
    "<p>上海市今天发布了新的经济数据，工业生产保持稳定增长。</p>",
    "no_layout": "<p>没有布局的页面：生成器写坏了文件头，网站直接输出了正文。</p>",
    "truncated": "<p>截断之前的第一段，内容完整。</p>\n"
    '<p>第二段提到<span id="stock_0.300959"><a class="keytip" data-code="0,300959">'
    "线上线下</a></span>，但页面在这里被截断。</p>\n<p>第三段永远不会到达。</p>",
    "script": "<p>正文开始<script>alert('body')</script>继续"
    '<img src="x" onerror="alert(1)"><iframe src="http://evil.example/frame"></iframe>'
    "<style>p { color: red }</style></p>\n<p><b>粗体</b>也只是文字。</p>",
    "links": "<p>以下链接都不应被抓取："
    '<a href="javascript:alert(document.cookie)">脚本</a>、'
    '<a href="mailto:editor@finews.example">邮件</a>、'
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">数据</a>、'
    '<a href="ftp://finews.withounder.com/">文件传输</a>、'
    '<a href="http://evil.example/steal?c=1">外站</a>、'
    '<a href="//evil.example/category/hostile.html">协议相对外站</a>、'
    '<a href="https://finews.withounder.com.evil.example/">仿冒域名</a>、'
    '<a href="http://127.0.0.1:9/">其他端口</a>。</p>\n'
    '<p><img src="http://evil.example/pixel.gif" alt="外站图片" /></p>',
}

_NOT_FOUND = """<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    <meta charset="UTF-8">
    <title>金融消息</title>
  </head>
  <body>
    <section>
<h2 id="404-找不到页面-page-not-found">404 找不到页面 Page Not Found</h2>

<p>此页面不存在，您可能访问了过期的消息或者输入错误的网址。</p>
    </section>
  </body>
</html>
"""
