"""The finews site's own Jekyll layouts as Python templates, for synthetic test and bench pages.

Pages rendered here are what Jekyll 4.3.1 with the site's layouts and plugins (jekyll-seo-tag
2.8.0, jekyll-feed) writes: `tests/test_localsite_layout.py` re-renders the bundled pages in
`tests/fixtures/site` with these templates and compares them byte for byte. So the pages that
`bench/grow_mirror.py` and `localsite.hostile` generate put the real markup in front
of the parser: the broken `og:description` head that spills the body into the DOM, the `section`
with date, `h1`, body and tags line, the category listings, the home page, the 东财滚动新闻 index
(rendered by the site as an escaped code block) and the Atom feed.

Only string work happens here; callers decide what to write where.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

SITE_TITLE = "金融消息"
CANONICAL_ORIGIN = "https://finews.withounder.com"
#: The older host name, still written by the layout into `og:url` and some back links.
OLD_ORIGIN = "https://finews.zning.me"
SHARE_ORIGIN = "http://finews.zning.xyz"
EMNEWS_TAG = "东财滚动新闻"
UTF8_CHARSET_META = '<meta charset="UTF-8">'

#: How emnews posts end: the back-link forms the generator wrote over time.
BACK_LINK_FORMS = ("one_line", "two_lines_old_host", "two_lines", "relative", "none")


@dataclass(frozen=True)
class Post:
    """One post as the templates need it (all text as Jekyll sees it: raw HTML allowed)."""

    name: str  # the _posts file name: yyyy-mm-dd-<stem>.md
    url: str  # path on the site
    title: str
    date: datetime  # timezone-aware; shown in the page's own offset
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    content: str = ""  # rendered body: what sits between the h1 and the tags line

    @property
    def source_path(self) -> str:
        """Where the post file sat for Jekyll; breaks ties between posts of the same second.

        The listings of the bundled site agree with emnews posts kept in a folder of their own.
        """
        folder = "emnews/" if self.categories == ("emnews",) else ""
        return f"_posts/{folder}{self.name}"


def sort_posts(posts: Iterable[Post]) -> list[Post]:
    """Newest first, as `site.posts`, `site.tags` and `site.categories` order them."""
    return sorted(posts, key=lambda p: (p.date.timestamp(), p.source_path), reverse=True)


# --- Liquid filters the layouts use ---------------------------------------------------------

_STRIP_BLOCKS_RE = re.compile(r"<script.*?</script>|<!--.*?-->|<style.*?</style>", re.S | re.I)
_STRIP_TAGS_RE = re.compile(r"<.*?>", re.S)
_WS_RE = re.compile(r"\s+")
_ESCAPE_ONCE_RE = re.compile(r'["><\']|&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)')
_ESCAPE_ONCE_MAP = {'"': "&quot;", "'": "&#39;", ">": "&gt;", "<": "&lt;", "&": "&amp;"}


def strip_html(text: str) -> str:
    """Liquid's `strip_html`: drop script/style/comment blocks, then every tag."""
    return _STRIP_TAGS_RE.sub("", _STRIP_BLOCKS_RE.sub("", text))


def normalize_whitespace(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


def escape_once(text: str) -> str:
    """Liquid's `escape_once`: escape, leaving existing entities alone."""
    return _ESCAPE_ONCE_RE.sub(lambda m: _ESCAPE_ONCE_MAP[m.group(0)[0]], text)


def seo_text(text: str) -> str:
    """What jekyll-seo-tag makes of a title or description (`format_string`)."""
    return escape_once(normalize_whitespace(strip_html(text)))


def excerpt(content: str) -> str:
    """Jekyll's excerpt: the content up to the first blank line."""
    return content.split("\n\n", 1)[0]


def show_date(date: datetime) -> str:
    return date.strftime("%Y-%m-%d %H:%M:%S")


def iso_date(date: datetime) -> str:
    return date.isoformat(timespec="seconds")


def category_url(slug: str) -> str:
    """Path of a category page; a space in the slug is percent-encoded in absolute URLs."""
    return f"/category/{quote(slug)}.html"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- Page chrome ----------------------------------------------------------------------------

_HEAD_OPEN = """<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    {charset}
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta content="ZNing" name="author" />
    <meta property="og:type" content="website" />
    <meta property="og:title" content="{title}">
    <meta property="og:description" content="{description}">
    <meta property="og:image" content="https://withounder.com/images/newzningnetcircle.png">
    <meta property="og:url" content="{old_url}">
    <meta name="theme-color" content="#1976D2">
    <link rel="shortcut icon" href="https://withounder.com/images/favicon.ico">

<!-- Begin Jekyll SEO tag v2.8.0 -->
"""

_HEAD_CLOSE = (
    """<!-- End Jekyll SEO tag -->

    <link rel="stylesheet" href="/assets/css/style.css?v=">
    <!--[if lt IE 9]>
    <script src="https://cdnjs.cloudflare.com/ajax/libs/html5shiv/3.7.3/html5shiv.min.js"></script>
    <![endif]-->
    <link rel="shortcut icon" type="image/x-icon" href="/favicon.ico">

    <script type="text/JavaScript">
      function AutoRefresh( t ) {
       setTimeout("location.reload(true);", t);
      }
    </script>
  </head>
  <body onload="JavaScript:AutoRefresh(60000);">
    <div class="wrapper">
      <header>
        <h1><a href="https://finews.withounder.com/">金融消息</a></h1>

"""
    + " " * 8  # the layout leaves a line of eight spaces here
    + """

        <p></p>

      </header>
      <section>

      """
)

_FOOT = """
      </section>
      <footer>
        <p>&copy; 2021</p>
      </footer>
    </div>
    <script src="/assets/js/scale.fix.js"></script>
  </body>
</html>
"""


def _seo_page(*, title: str, url: str, json_type: str, extra: dict[str, str] | None = None) -> str:
    """The jekyll-seo-tag block of a page that is not a post (category, index)."""
    canonical = CANONICAL_ORIGIN + url
    ld = {"@context": "https://schema.org", "@type": json_type}
    ld["author"] = {"@type": "Person", "name": "ZNing"}
    ld["headline"] = title
    ld.update(extra or {})
    ld["url"] = canonical
    return (
        f"<title>{title} | {SITE_TITLE}</title>\n"
        '<meta name="generator" content="Jekyll v4.3.1" />\n'
        f'<meta property="og:title" content="{title}" />\n'
        '<meta name="author" content="ZNing" />\n'
        '<meta property="og:locale" content="zh_CN" />\n'
        f'<link rel="canonical" href="{canonical}" />\n'
        f'<meta property="og:url" content="{canonical}" />\n'
        f'<meta property="og:site_name" content="{SITE_TITLE}" />\n'
        '<meta property="og:type" content="website" />\n'
        '<meta name="twitter:card" content="summary" />\n'
        f'<meta property="twitter:title" content="{title}" />\n'
        '<script type="application/ld+json">\n'
        f"{_json(ld)}</script>\n"
    )


def render_post(post: Post, *, charset_meta: str = UTF8_CHARSET_META) -> str:
    """A post page in the site's `post` layout, broken head included.

    `{{ page.content }}` lands raw in the `og:description` attribute: its first `"` ends the
    attribute and the rest of the body spills into the DOM, exactly as on the live site.
    """
    canonical = CANONICAL_ORIGIN + post.url
    title = seo_text(post.title)
    description = seo_text(excerpt(post.content))
    iso = iso_date(post.date)
    seo_title = title or SITE_TITLE
    ld: dict[str, object] = {"@context": "https://schema.org", "@type": "BlogPosting"}
    ld["author"] = {"@type": "Person", "name": "ZNing"}
    ld["dateModified"] = iso
    ld["datePublished"] = iso
    if description:
        ld["description"] = description
    ld["headline"] = seo_title
    ld["mainEntityOfPage"] = {"@type": "WebPage", "@id": canonical}
    ld["url"] = canonical
    seo = [
        f"<title>{title} | {SITE_TITLE}</title>\n" if title else f"<title>{SITE_TITLE}</title>\n",
        '<meta name="generator" content="Jekyll v4.3.1" />\n',
        f'<meta property="og:title" content="{seo_title}" />\n',
        '<meta name="author" content="ZNing" />\n',
        '<meta property="og:locale" content="zh_CN" />\n',
    ]
    if description:
        seo.append(f'<meta name="description" content="{description}" />\n')
        seo.append(f'<meta property="og:description" content="{description}" />\n')
    seo += [
        f'<link rel="canonical" href="{canonical}" />\n',
        f'<meta property="og:url" content="{canonical}" />\n',
        f'<meta property="og:site_name" content="{SITE_TITLE}" />\n',
        '<meta property="og:type" content="article" />\n',
        f'<meta property="article:published_time" content="{iso}" />\n',
        '<meta name="twitter:card" content="summary" />\n',
        f'<meta property="twitter:title" content="{seo_title}" />\n',
        '<script type="application/ld+json">\n',
        f"{_json(ld)}</script>\n",
    ]
    tags = " - ".join(f"<em>{tag}</em>" for tag in post.tags)
    section = (
        f"<small>(GMT+8, Asia/Shanghai, CST) {show_date(post.date)}</small>\n"
        f"<h1>{post.title}</h1>\n\n{post.content}\n\n\n\n"
        f"  <small>tags: {tags}</small>\n\n\n"
    )
    head = _HEAD_OPEN.format(
        charset=charset_meta,
        title=post.title,
        description=post.content + "\n",
        old_url=OLD_ORIGIN + post.url,
    )
    return head + "".join(seo) + _HEAD_CLOSE + section + _FOOT


def render_category(
    slug: str, title: str, posts: Iterable[Post | tuple[str, str]], *, heading: bool = True
) -> str:
    """`/category/<slug>.html`: every post of the category, newest first, no pagination.

    `posts` are listed in the order given (`Post` or `(url, title)` pairs). `heading=False`
    renders the page of a slug that Jekyll could not look up (a slug with a space): no `h2`.
    """
    url = category_url(slug)
    head = _HEAD_OPEN.format(
        charset=UTF8_CHARSET_META, title=title, description="", old_url=OLD_ORIGIN + url
    )
    items = []
    for post in posts:
        href, text = (post.url, post.title) if isinstance(post, Post) else post
        items.append(f'  \n    <li><a href="{href}">{text}</a></li>\n')
    body = ('<h2 id=""></h2>\n\n' if heading else "") + "<ul>\n" + "".join(items) + "  \n</ul>\n\n"
    return (
        head
        + _seo_page(title=title, url=url, json_type="WebPage")
        + _HEAD_CLOSE
        + "\n"
        + (body + _FOOT)
    )


_INDEX_DESCRIPTION = """{% for tag in site.tags %}
  <h2 id="{{ tag[0] }}">{{ tag[0] }}</h2>
  <ul>
    {% for post in tag[1] limit:5 %}
      <li><a href="{{ post.url }}">{{ post.title }}</a></li>
    {% endfor %}
  </ul>
  ---
{% endfor %}
"""

_EMNEWS_DESCRIPTION = """{% for tag in site.tags %}
  {% if tag[0] == "东财滚动新闻" %}
    <h2 id="{{ tag[0] }}">{{ tag[0] }}</h2>
    <ul>
      {% for post in tag[1] limit:20 %}
        <li><a href="{{ post.url }}" target="_blank">{{ post.title }}</a></li>
      {% endfor %}
    </ul>
  {% endif %}
{% endfor %}
"""


def render_index(sections: Iterable[tuple[str, Sequence[Post]]]) -> str:
    """`/`: for every tag (in `site.tags` order) its 5 newest posts, then `<hr />`."""
    head = _HEAD_OPEN.format(
        charset=UTF8_CHARSET_META,
        title="首页",
        description=_INDEX_DESCRIPTION,
        old_url=OLD_ORIGIN + "/",
    )
    seo = _seo_page(title="首页", url="/", json_type="WebSite", extra={"name": SITE_TITLE})
    parts = []
    for tag, posts in sections:
        items = "".join(
            f'    \n      <li><a href="{p.url}">{p.title}</a></li>\n' for p in list(posts)[:5]
        )
        parts.append(f'<h2 id="{tag}">{tag}</h2>\n<ul>\n{items}    \n  </ul>\n<hr />\n\n')
    return head + seo + _HEAD_CLOSE + "\n" + "".join(parts) + "\n" + _FOOT


def render_emnews_index(posts: Sequence[Post]) -> str:
    """`/emnews/`: the 20 newest 东财滚动新闻, which the site renders as an escaped code block."""
    head = _HEAD_OPEN.format(
        charset=UTF8_CHARSET_META,
        title=EMNEWS_TAG,
        description=_EMNEWS_DESCRIPTION,
        old_url=OLD_ORIGIN + "/emnews/",
    )
    seo = _seo_page(title=EMNEWS_TAG, url="/emnews/", json_type="WebPage")
    lines = [f'<h2 id="{EMNEWS_TAG}">{EMNEWS_TAG}</h2>\n<ul>\n']
    for post in list(posts)[:20]:
        lines.append(f'  \n    <li><a href="{post.url}" target="_blank">{post.title}</a></li>\n')
    lines.append("  \n</ul>\n")
    code = html.escape("".join(lines), quote=False)
    block = (
        '<div class="language-plaintext highlighter-rouge"><div class="highlight">'
        f'<pre class="highlight"><code>{code}</code></pre></div></div>\n\n\n'
    )
    return head + seo + _HEAD_CLOSE + "\n" + block + _FOOT


# --- Atom feed (jekyll-feed) ----------------------------------------------------------------


def render_feed_entry(post: Post) -> str:
    """One `<entry>` of `/feed.xml`, minified as jekyll-feed writes it."""
    link = CANONICAL_ORIGIN + post.url
    title = html.escape(normalize_whitespace(strip_html(post.title)), quote=True)
    iso = iso_date(post.date)
    terms = "".join(
        f'<category term="{html.escape(term, quote=True)}" />'
        for term in (*post.categories, *post.tags)
    )
    summary = normalize_whitespace(strip_html(excerpt(post.content)))
    summary_xml = f'<summary type="html"><![CDATA[{summary}]]></summary>' if summary else ""
    return (
        f'<entry><title type="html">{title}</title>'
        f'<link href="{link}" rel="alternate" type="text/html" title="{title}" />'
        f"<published>{iso}</published><updated>{iso}</updated>"
        f"<id>{link.removesuffix('.html')}</id>"
        f'<content type="html" xml:base="{link}"><![CDATA[{post.content.strip()}]]></content>'
        f"<author><name>ZNing</name></author>{terms}{summary_xml}</entry>"
    )


def render_feed(entries: Iterable[str], updated: str) -> str:
    """`/feed.xml` around rendered entries (the 10 newest posts)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="zh-CN"><generator uri="https://jekyllrb.com/" version="4.3.1">Jekyll</generator>'
        f'<link href="{CANONICAL_ORIGIN}/feed.xml" rel="self" type="application/atom+xml" />'
        f'<link href="{CANONICAL_ORIGIN}/" rel="alternate" type="text/html" hreflang="zh-CN" />'
        f"<updated>{updated}</updated><id>{CANONICAL_ORIGIN}/feed.xml</id>"
        f'<title type="html">{SITE_TITLE}</title><author><name>ZNing</name></author>'
        + "".join(entries)
        + "</feed>"
    )


# --- Post bodies as the generator wrote them ------------------------------------------------


def share_url(info_code: str, origin: str = SHARE_ORIGIN) -> str:
    return f"{origin}/html_News/NewsShare.html?infoCode={info_code}"


def media_content(body: str, *, media: str, info_code: str, slug: str) -> str:
    """Rendered body of a media-category post: body, 文章来源, share link, one-line back link."""
    link = share_url(info_code)
    return (
        f'{body}\n<p class="em_media">（文章来源：{media}）</p>\n\n'
        f'<p><a href="{link}">{link}</a></p>\n\n'
        f'<p><a href="//finews.withounder.com/category/{slug}.html">返回{media}新闻</a>'
        '｜<a href="//finews.withounder.com/">返回首页</a></p>'
    )


def emnews_content(
    body: str,
    *,
    upstream_url: str | None,
    digest: str | None = None,
    media: str | None = None,
    back_link: str = "one_line",
) -> str:
    """Rendered body of an emnews post: digest, body, 文章来源, upstream link, back links.

    An empty upstream link (`<>` in the Markdown) shows as the text `<>`.
    """
    parts = []
    if digest:
        parts.append(f"<blockquote>\n  <p>{digest}</p>\n</blockquote>")
    parts.append(body + (f'\n<p class="em_media">（文章来源：{media}）</p>' if media else ""))
    parts.append(
        f'<p><a href="{upstream_url}">{upstream_url}</a></p>' if upstream_url else "<p>&lt;&gt;</p>"
    )
    back = {
        "one_line": '<p><a href="//finews.withounder.com/emnews/">返回东财滚动新闻</a>'
        '｜<a href="//finews.withounder.com/">返回首页</a></p>',
        "two_lines": '<p><a href="//finews.withounder.com/emnews/">返回东财滚动新闻</a>\n'
        '<a href="//finews.withounder.com/">返回首页</a></p>',
        "two_lines_old_host": '<p><a href="//finews.zning.me/emnews/">返回东财滚动新闻</a>\n'
        '<a href="//finews.zning.me/">返回首页</a></p>',
        "relative": '<p><a href="../emnews/">返回东财滚动新闻</a>\n<a href="../">返回首页</a></p>',
        "none": "",
    }[back_link]
    if back:
        parts.append(back)
    return "\n\n".join(parts)
