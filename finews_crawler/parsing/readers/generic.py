"""The layout-independent reader (`generic`): reads a post page in a layout nobody has shown us.

It builds on what a redesign keeps, never on a theme's class names or element choices:

- metadata (`readers.metadata`): JSON-LD, `og:`/`article:` meta and `<title>` give the title
  (the site's name stripped from every source), the excerpt (description), the published date,
  sections and tags;
- the heading that carries that title (any element, bare or with the site's name around it in
  the metadata; the nearest before the content wins, so a site name in an `<h1>` or a list of
  recent posts does not);
- the post's own content markers, which the post's Markdown puts in every layout: the share or
  upstream link line (the post's last block but the back links), the excerpt the description
  holds (the post's first block), the `em_media` paragraph and the back-link lines, as `<p>`s
  or as the `<div>`s some themes rewrite them into. The post's blocks are the children of one
  element: the parent of the link line (above any wrapper it sits in alone), else of the
  excerpt. Of those children, the post runs from the excerpt (else from after the title, date,
  byline, reading-time and promo lines: "关注我们", a newsletter box, a sign-up form) to the
  back links (else the link line; else up to the first block of page chrome); a standfirst
  that repeats the post's opening is not the post, and wrappers a theme puts around each
  block are taken off.

Then the shared cleaning (`readers.content`) gives every body field, exactly as for a known
layout. Dates come from the most precise of the metadata's and the article's machine-readable
and shown published dates before the post's body (`readers.dates`; machine-readable: `<time
datetime>`, itemprop, a `title` or `data-time` attribute, ISO or Unix time, beside relative
text such as `3小时前`); only a page showing none reads the first date after the body (refined by
a more precise one that agrees with it), so a comment's time never wins; a date in a block that
links to another article (recent or related posts) is that article's. A date labelled,
classed or itemprop'd as an update, an edit or a time of printing is never the published one.
Tags only from what the page marks as tags (a `tags:`/`标签：` line, `rel="tag"` links but not
WordPress's `rel="category tag"` category links, elements whose class or itemprop says
tag(s)/keywords unless it also says author/byline/editor, `article:tag` meta); categories
from the back link, the listing, `rel="category"`/`article:section`, else the URL.

A page refuses to be read when it holds no post content, or neither a date nor a link line nor
article metadata (a 404 page, a listing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from urllib.parse import unquote, urlsplit

from lxml import etree

from finews_crawler import site
from finews_crawler.items import ArticleItem
from finews_crawler.parsing.html_text import element_text, inline_text, is_element, squeeze
from finews_crawler.parsing.readers.content import (
    LOOSE_PARAGRAPHS,
    MEDIA_CLASS,
    PostContent,
    is_back_link_line,
    is_link_line,
    tags_from_line,
)
from finews_crawler.parsing.readers.dates import (
    ShownDate,
    attribute_date,
    is_not_published_label,
    machine_date,
    published_date,
    shown_date,
)
from finews_crawler.parsing.readers.metadata import TITLE_SEPARATORS, Metadata, read_metadata
from finews_crawler.parsing.readers.page import Page, Reader, article_item

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
#: Elements that are page chrome wherever they are: never the post, never its title or tags.
CHROME_TAGS = frozenset(
    {
        "nav", "aside", "form", "script", "style", "noscript", "template", "iframe", "button",
        "select", "textarea", "svg", "dialog", "menu", "input", "label",
    }
)  # fmt: skip
#: Around the post (before or after it, never between its blocks) these are chrome too.
OUTER_CHROME_TAGS = CHROME_TAGS | {"header", "footer", "hr"}
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
#: Class/id words of the blocks themes put around a post (share buttons, comments, pagers...).
CHROME_WORDS = frozenset(
    {
        "share", "sharing", "social", "comment", "comments", "pager", "pagination", "related",
        "breadcrumb", "breadcrumbs", "crumbs", "sidebar", "widget", "nav", "navigation", "menu",
        "footer", "subscribe", "toc", "ads", "advert", "copyright", "meta", "byline", "author",
        "prev", "next", "previous",
    }
)  # fmt: skip
TAG_WORDS = frozenset({"tag", "tags", "keyword", "keywords"})
#: Class/id words of a byline or credits: never tags, even in a badge whose class says "tag".
AUTHOR_WORDS = frozenset({"author", "byline", "editor", "credit", "credits", "writer", "vcard"})
#: Class/itemprop words of a date that is not the publication's.
UPDATED_WORDS = frozenset({"updated", "modified", "datemodified", "update", "lastmod"})
#: Words of a `data-*` attribute's name that say it holds a time (`data-time`, `data-pubdate`).
DATE_ATTRIBUTE_WORDS = frozenset(
    {"time", "date", "datetime", "timestamp", "ts", "pubdate", "pubtime", "published"}
)
_BLOCKS = frozenset({"p", "div", "blockquote", "li", "td", "center", "section", "article"})
_WORD_SPLIT_RE = re.compile(r"[\s_-]+")
_STRING = etree.XPath("string()")
_DIGIT_RE = re.compile(r"\d")
_TAGS_LABEL_RE = re.compile(r"\s*(?:tags?|标签)\s*[:：]", re.IGNORECASE)
#: A byline, credits or reading-time line (`作者：X 来源：Y`, `By X · 3 min read`).
_BYLINE_RE = re.compile(
    r"^\s*(?:作者|记者|编辑|责任编辑|责编|撰文|(?:图片)?来源|出处|通讯员|摄影|图|author|editor|"
    r"credits?|source|photo|(?:written|posted|reported)?\s*by)\s*[:：\s]"
    r"|阅读(?:约需|时间|全文)|\d+\s*分钟(?:阅读|读完)|\bmin(?:ute)?s?\s+read\b",
    re.IGNORECASE,
)
#: A call to the reader (follow us, subscribe, scan the QR code, get the app, sign up): a theme's
#: promo line. The site's posts are news for the reader, never addressed to them so.
_PROMO_RE = re.compile(
    r"(?:欢迎|点击|长按)关注|关注(?:我们|本站|本号|[“\"「『《]|.{0,12}(?:微信|微博|公众号|头条号"
    r"|抖音|视频号|app|客户端))|订阅|公众号|二维码|扫码|扫一扫|第一时间(?:获取|推送|了解)"
    r"|(?:下载|download).{0,12}(?:app|客户端)|newsletter|subscribe|follow\s+us|sign\s*up",
    re.IGNORECASE,
)
_PROMO_CHARS = 80
#: Form controls: a post's Markdown renders none, a theme's sign-up box does.
_CONTROLS = etree.XPath(".//form | .//input | .//button | .//select | .//textarea")
#: Wrappers a theme puts around each of the post's blocks (`<div class="blk"><p>...</p></div>`).
_WRAPPERS = frozenset({"div", "section"})
_WRAPPED = frozenset({"p", "div", "blockquote", "section", "ul", "ol", "table", *HEADINGS})
_ELLIPSIS = ".…。 "
#: How many blocks after a standfirst are searched for the opening it repeats.
_TEASER_LOOKAHEAD = 8
#: A date line is short: the date, a label, an author at most.
_DATE_LINE_CHARS = 80
_TAGS_LINE_CHARS = 300
#: Characters of the description that must open the post's first block.
_EXCERPT_KEY_CHARS = 20
_EXCERPT_KEY_MIN = 4


class GenericReader(Reader):
    name = "generic"

    def read(self, page: Page) -> ArticleItem | None:
        bodies = page.document.findall("body")
        if not bodies:
            return None
        meta = read_metadata(page.document)
        post = _PostFinder(bodies[0], meta, page.path)
        if post.container is None:
            return None
        content = PostContent(post.blocks, page.url, LOOSE_PARAGRAPHS)
        before_body, after_body = post.shown_dates()
        published = _best_date([*map(machine_date, meta.published), *before_body])
        published = published or _first_refined(after_body)
        if not content or not (published or content.link_lines or meta.is_article):
            return None
        return article_item(
            page,
            content,
            title=post.title(),
            published_at=published.iso() if published else None,
            tags=_unique(post.tags() or meta.tags),
            page_categories=post.categories() or meta.sections,
        )


class _PostFinder:
    """Finds, in one page, the title heading, the element holding the post's blocks, and the
    range of its children that is the post."""

    def __init__(self, body: etree._Element, meta: Metadata, path: str) -> None:
        self.meta = meta
        self.path = path  # the page's own (a link to another article path is not the post's)
        self.meta_title = meta.title()
        self.excerpt_key = _excerpt_key(meta.description())
        self.position: dict[etree._Element, int] = {}
        headings: list[etree._Element] = []
        self.link_lines: list[etree._Element] = []
        self.excerpts: list[etree._Element] = []
        self.media: list[etree._Element] = []
        for index, element in enumerate(body.iter()):
            if not is_element(element):
                continue
            self.position[element] = index
            tag = element.tag.lower()
            if tag in HEADINGS:
                headings.append(element)
            elif tag in LOOSE_PARAGRAPHS and is_link_line(element, LOOSE_PARAGRAPHS):
                self.link_lines.append(element)
            elif MEDIA_CLASS in (element.get("class") or "").split():
                self.media.append(element)
            if self.excerpt_key and self._opens_excerpt(element):
                block = _block_of(element)
                if block is not None and block in self.position:
                    self.excerpts.append(block)
        self.heading = self._title_heading(headings, body) if self.meta_title else None
        self.link_line = self._first_after(self.link_lines, self.heading, last=True)
        self.container = self._container(body)
        self.post_children: list[etree._Element] = []  # the container's children that hold it
        self.blocks: list[etree._Element] = []  # the post's blocks, out of their wrappers
        if self.container is not None:
            if self.heading is None:
                self.heading = self._untitled_heading()
            self._split_container()

    # -- finding things -------------------------------------------------------------------

    def _opens_excerpt(self, element: etree._Element) -> bool:
        if not element.text or element.text.isspace():
            return False
        text = squeeze(element.text)
        key = self.excerpt_key
        return bool(text) and (text.startswith(key) or key.startswith(text))

    def _after(self, element: etree._Element, anchor: etree._Element | None) -> bool:
        return anchor is None or self.position[element] > self.position[anchor]

    def _first_after(
        self, elements: list[etree._Element], anchor: etree._Element | None, last: bool = False
    ) -> etree._Element | None:
        """The first element after `anchor`; without an anchor the last one (a broken head
        spills a copy of the post before the real one) when `last`, else the first."""
        candidates = [e for e in elements if not _in_chrome(e) and self._after(e, anchor)]
        if not candidates:
            return None
        return candidates[-1] if anchor is None and last else candidates[0]

    def _title_heading(
        self, headings: list[etree._Element], body: etree._Element
    ) -> etree._Element | None:
        """The element that shows the title: a heading whose text is (else holds) the title,
        else any element whose text is the title; the one the post follows soonest."""
        title = squeeze(self.meta_title)
        candidates = [h for h in headings if squeeze(inline_text(h)) == title]
        candidates = candidates or [h for h in headings if _shows_title(inline_text(h), title)]
        candidates = candidates or [h for h in headings if title in squeeze(inline_text(h))]
        if not candidates:
            candidates = [
                e
                for e in body.iter()
                if is_element(e)
                and e.tag.lower() not in ("a", "title", "li")
                and e.text
                and _shows_title(e.text, title)
                and _shows_title(inline_text(e), title)
            ]
        candidates = [c for c in candidates if not _in_chrome(c)]
        markers = sorted(self.position[m] for m in [*self.link_lines, *self.excerpts])

        def distance_to_post(heading: etree._Element) -> int:
            at = self.position[heading]
            return next((m - at for m in markers if m > at), len(self.position) + at)

        return min(candidates, key=distance_to_post) if candidates else None

    def _container(self, body: etree._Element) -> etree._Element | None:
        """The element whose children are the post's blocks."""
        if self.link_line is not None:
            return _top_block(self.link_line).getparent()
        anchor = self._first_after(self.excerpts, self.heading)
        anchor = anchor if anchor is not None else self._first_after(self.media, self.heading)
        if anchor is not None:
            return _top_block(anchor).getparent()
        back_links = [
            p for p in body.iter(*LOOSE_PARAGRAPHS) if is_back_link_line(p, LOOSE_PARAGRAPHS)
        ]
        anchor = self._first_after(back_links, self.heading, last=True)
        if anchor is not None:
            return anchor.getparent()
        if self.heading is None:
            return None
        # No marker at all (a short post, a page without metadata): the first paragraph of
        # text after the title heading that is not a date line.
        paragraphs = [
            p for p in body.iter("p") if (text := inline_text(p)) and not _is_date_line(text)
        ]
        anchor = self._first_after(paragraphs, self.heading)
        return _top_block(anchor).getparent() if anchor is not None else None

    def _untitled_heading(self) -> etree._Element | None:
        """For a page whose metadata has no title of its own: the first heading near the post
        that is not the site's name (an empty heading is an empty title)."""
        scope = self.container.getparent()
        scope = scope if scope is not None else self.container
        end = self.link_line if self.link_line is not None else None
        for heading in scope.iter(*HEADINGS):
            if _in_chrome(heading) or (end is not None and not self._after(end, heading)):
                continue
            if inline_text(heading) not in self.meta.site_names:
                return heading
        return None

    def _split_container(self) -> None:
        children = [c for c in self.container if is_element(c)]
        start = self._start(children)
        end = self._end(children, start)
        self.post_children = [
            c for c in children[start : end + 1] if c.tag.lower() not in CHROME_TAGS
        ]
        self.blocks = [_unwrap(c) for c in self.post_children]

    def _index_holding(self, children: list[etree._Element], element: etree._Element) -> int:
        while element.getparent() is not self.container:
            element = element.getparent()
        return children.index(element)

    def _start(self, children: list[etree._Element]) -> int:
        after_heading = 0
        if self.heading is not None and _is_within(self.heading, self.container):
            after_heading = self._index_holding(children, self.heading) + 1
        excerpts = [
            index
            for e in self.excerpts
            if _is_within(e, self.container) and self._after(e, self.heading)
            if not self._is_teaser(children, index := self._index_holding(children, e))
        ]
        if excerpts:
            start = excerpts[0]
            # Images before the first text belong to the post (the excerpt is text only).
            while start > after_heading and _is_image_block(children[start - 1]):
                start -= 1
            return start
        start = after_heading
        while start < len(children) and (
            self._is_around_post(children[start]) or self._is_teaser(children, start)
        ):
            start += 1
        return start

    def _is_teaser(self, children: list[etree._Element], index: int) -> bool:
        """A standfirst that repeats the post's opening (the excerpt, truncated or whole, maybe
        over several of its blocks) before the post: the text of the next blocks opens with it."""
        text = squeeze(inline_text(children[index])).rstrip(_ELLIPSIS)
        if len(text) < _EXCERPT_KEY_MIN:
            return False
        for at in range(index + 1, min(index + 1 + _TEASER_LOOKAHEAD, len(children))):
            joined = ""
            for child in children[at:]:
                joined += squeeze(inline_text(child))
                if len(joined) >= len(text) or not text.startswith(joined):
                    break
            if joined.startswith(text):
                return True
        return False

    def _end(self, children: list[etree._Element], start: int) -> int:
        if self.link_line is not None:
            end = self._index_holding(children, self.link_line)
            while end + 1 < len(children) and is_back_link_line(
                _unwrap(children[end + 1]), LOOSE_PARAGRAPHS
            ):
                end += 1
            return end
        back_links = [
            i
            for i in range(start, len(children))
            if is_back_link_line(_unwrap(children[i]), LOOSE_PARAGRAPHS)
        ]
        if back_links:
            return back_links[-1]
        end = start
        while end < len(children) and not self._is_around_post(children[end]):
            end += 1
        return end - 1

    def _is_around_post(self, element: etree._Element) -> bool:
        """A block that themes put before or after a post: chrome, a date, tags or title line,
        a byline, a promo line or sign-up box, a list of links to other articles
        (previous/next, related), an empty block."""
        if _is_chrome(element, OUTER_CHROME_TAGS) or _has_words(element, CHROME_WORDS):
            return True
        if element.tag.lower() in HEADINGS or _holds_machine_date(element):
            return True
        text = inline_text(element)
        if not text:
            return not _is_image_block(element)
        if _is_date_line(text) or _is_tags_element(element) or _tags_of_line(element):
            return True
        if len(text) <= _DATE_LINE_CHARS and _BYLINE_RE.search(text):
            return True
        if (len(text) <= _PROMO_CHARS and _PROMO_RE.search(text)) or _CONTROLS(element):
            return True
        links = [a.get("href") or "" for a in element.iter("a")]
        if links and all(site.is_article_path(href) for href in links):
            return True  # previous/next, related posts
        # Breadcrumbs: links to the site's listings, ending in the title.
        return (
            bool(self.meta_title)
            and squeeze(text).endswith(squeeze(self.meta_title))
            and any(href.startswith("/") and not site.is_article_path(href) for href in links)
        )

    # -- fields -----------------------------------------------------------------------------

    def region(self) -> etree._Element:
        """The smallest element holding the title heading and the post: the article. Without a
        heading (an untitled post in a theme whose title is no heading), the container's parent:
        the date and tags lines sit beside the post."""
        if self.heading is None:
            parent = self.container.getparent()
            if parent is None or parent.tag.lower() in ("body", "html"):
                return self.container
            return parent
        ancestors = set(self.heading.iterancestors())
        region = self.container
        while region is not None and region not in ancestors:
            region = region.getparent()
        return region if region is not None else self.container

    @cached_property
    def around_post(self) -> list[etree._Element]:
        """Elements of the article outside the post's blocks (where title, date, tags are)."""
        return list(self._walk_around_post())

    def _walk_around_post(self) -> Iterator[etree._Element]:
        region = self.region()
        stack = [region]
        blocks = set(self.post_children)
        while stack:
            element = stack.pop()
            if element in blocks or _is_chrome(element, CHROME_TAGS):
                continue
            yield element
            stack.extend(reversed([c for c in element if is_element(c)]))

    def title(self) -> str:
        if self.heading is None:
            return self.meta_title or ""
        shown = inline_text(self.heading)
        return shown if _shows_title(shown, self.meta_title) else self.meta_title or shown

    def shown_dates(self) -> tuple[list[ShownDate | None], list[ShownDate | None]]:
        """The dates the article shows outside the post: those before its body, then those
        after it (where comments and related posts show dates of their own). Each part holds
        its machine-readable dates (`<time datetime>`, itemprop, a date in a `title` or
        `data-time` attribute beside relative text) before the date lines (short text without
        blocks inside); after the body, in page order."""
        body_at = self.position[self.post_children[0]] if self.post_children else len(self.position)
        machine: list[ShownDate | None] = []
        shown: list[ShownDate | None] = []
        after: list[ShownDate | None] = []
        for element in self.around_post:
            tag = element.tag.lower()
            dates = _machine_dates(element)
            line = None
            if tag not in ("html", "body") and not _has_block_child(element):
                text = _raw_text(element)
                if _DIGIT_RE.search(text) and len(text.strip()) <= 2 * _DATE_LINE_CHARS:
                    line = inline_text(element)
                    if len(line) > _DATE_LINE_CHARS:
                        line = None
            # Cheap first: most elements around the post show no date at all.
            if not dates and line is None:
                continue
            if _is_update(element, labelled=bool(dates) or tag == "time"):
                continue
            if self._of_another_article(element):
                continue
            is_after = self.position[element] > body_at
            (after if is_after else machine).extend(dates)
            if line is not None:
                (after if is_after else shown).append(published_date(line))
        return machine + shown, after

    def _of_another_article(self, element: etree._Element) -> bool:
        """In a block (outside the one holding the post) that links to another article: a
        list of recent or related posts, whose dates are theirs."""
        block = _block_of(element)
        if block is None or block is self.container or _is_within(self.container, block):
            return False
        if self.heading is not None and _is_within(self.heading, block):
            return False
        return any(
            site.is_article_path(href) and unquote(urlsplit(href).path) != self.path
            for a in block.iter("a")
            if (href := (a.get("href") or "").strip())
        )

    def tags(self) -> list[str]:
        by_line: list[str] = []
        by_rel: list[str] = []
        by_name: list[str] = []
        for element in self.around_post:
            if not by_line and element.tag.lower() not in ("html", "body"):
                by_line = _tags_of_line(element)
            rel = (element.get("rel") or "").lower().split()
            # WordPress marks its category links `rel="category tag"`: those are categories.
            if element.tag.lower() == "a" and "tag" in rel and "category" not in rel:
                by_rel.append(inline_text(element))
            # A list of tags, or one of several tags each marked alone.
            if _is_tags_element(element) and not _in_tags_element(element):
                by_name += _tag_texts(element)
        return _unique(by_line or by_rel or by_name)

    def categories(self) -> list[str]:
        found = []
        for element in self.around_post:
            rel = (element.get("rel") or "").lower().split()
            if element.tag.lower() == "a" and "category" in rel:
                slug = site.category_slug_from_path(element.get("href") or "")
                found.append(slug or inline_text(element))
        return [word for category in found for word in category.split()]


def _raw_text(element: etree._Element) -> str:
    """The element's text as lxml gives it (fast: no whitespace rules, scripts included)."""
    return _STRING(element)


def _excerpt_key(description: str | None) -> str:
    key = squeeze(description).rstrip(".…")[:_EXCERPT_KEY_CHARS]
    return key if len(key) >= _EXCERPT_KEY_MIN else ""


def _block_of(element: etree._Element) -> etree._Element | None:
    """The block (paragraph, list item, division...) an element is part of, if any."""
    for candidate in (element, *element.iterancestors()):
        tag = candidate.tag.lower()
        if tag in _BLOCKS:
            return candidate
        if tag == "body":
            return None
    return None


def _top_block(element: etree._Element) -> etree._Element:
    """The outermost block wrapping `element` alone (a post's `<div><p>...</p></div>`)."""
    while (parent := element.getparent()) is not None and len(parent) == 1:
        if parent.tag.lower() in ("body", "html"):
            break
        element = parent
    return element


def _unwrap(element: etree._Element) -> etree._Element:
    """The block a wrapper holds alone (`<div class="blk"><p>...</p></div>` -> the `<p>`)."""
    while (
        element.tag.lower() in _WRAPPERS
        and len(element) == 1
        and is_element(inner := element[0])
        and inner.tag.lower() in _WRAPPED
        and not (element.text or "").strip()
        and not (inner.tail or "").strip()
    ):
        element = inner
    return element


def _is_within(element: etree._Element, container: etree._Element) -> bool:
    return any(ancestor is container for ancestor in element.iterancestors())


def _in_chrome(element: etree._Element) -> bool:
    return any(_is_chrome(e, CHROME_TAGS) for e in (element, *element.iterancestors()))


def _is_chrome(element: etree._Element, tags: frozenset[str]) -> bool:
    return (
        element.tag.lower() in tags
        or (element.get("role") or "").lower() in CHROME_ROLES
        or element.get("hidden") is not None
        or (element.get("aria-hidden") or "").lower() == "true"
    )


def _words(element: etree._Element, *attributes: str) -> set[str]:
    values = " ".join(element.get(name) or "" for name in attributes).lower()
    return {word for word in _WORD_SPLIT_RE.split(values) if word}


def _has_words(element: etree._Element, words: frozenset[str]) -> bool:
    return not words.isdisjoint(_words(element, "class", "id"))


def _is_tags_element(element: etree._Element) -> bool:
    words = _words(element, "class", "id", "itemprop")
    return not TAG_WORDS.isdisjoint(words) and AUTHOR_WORDS.isdisjoint(words)


def _in_tags_element(element: etree._Element) -> bool:
    return any(map(_is_tags_element, element.iterancestors()))


def _machine_dates(element: etree._Element) -> list[ShownDate]:
    """The machine-readable dates an element holds: `<time datetime>`, itemprop'd
    `datePublished`, a date in its `title` (beside short text: `3小时前`) or in a `data-*`
    attribute named for a time (`data-time`, `data-timestamp`, `data-publish-time`: Unix time
    or a date)."""
    found: list[ShownDate | None] = []
    if element.tag.lower() == "time" or element.get("itemprop") == "datePublished":
        found.append(machine_date(element.get("datetime") or element.get("content")))
    for name, value in element.items():
        if name == "title":
            # Beside text that is no date itself: not an image's caption or a heading.
            if (
                element.tag.lower() not in HEADINGS
                and 0 < len(_raw_text(element).strip()) <= _DATE_LINE_CHARS
            ):
                found.append(attribute_date(value))
        elif name.startswith("data-"):
            words = set(_WORD_SPLIT_RE.split(name[len("data-") :].lower()))
            if not DATE_ATTRIBUTE_WORDS.isdisjoint(words) and UPDATED_WORDS.isdisjoint(words):
                found.append(attribute_date(value))
    return [date for date in found if date is not None]


def _holds_machine_date(element: etree._Element) -> bool:
    """A `<time>` or a machine-readable date anywhere in the element (a date line that shows
    relative text only: `发布于 <span title="2022-03-30 23:23">3小时前</span>`)."""
    return any(e.tag.lower() == "time" or _machine_dates(e) for e in element.iter(etree.Element))


def _is_update(element: etree._Element, labelled: bool) -> bool:
    """A date element that says it is the time of an update (by its or its parent's class or
    itemprop, or, for a `labelled` one, by its label)."""
    parent = element.getparent()
    for marked in (element, parent) if parent is not None else (element,):
        words = _words(marked, "class", "itemprop")
        if not UPDATED_WORDS.isdisjoint(words) and "published" not in words:
            return True
    return labelled and is_not_published_label(_text_before(element))


def _text_before(element: etree._Element) -> str:
    """The text of the element's parent before it (where a date's label is)."""
    parent = element.getparent()
    if parent is None:
        return ""
    parts = [parent.text or ""]
    for sibling in parent:
        if sibling is element:
            break
        parts += [_raw_text(sibling) if is_element(sibling) else "", sibling.tail or ""]
    return "".join(parts)


def _shows_title(shown: str | None, title: str | None) -> bool:
    """The text is the title, or the title with a site name before or after a separator
    (`Title | 金融消息` in the metadata, `Title` in the heading)."""
    shown, title = squeeze(shown), squeeze(title)
    if not shown or not title:
        return shown == title
    if shown == title:
        return True
    if title.startswith(shown):
        rest = title[len(shown) :].lstrip()
    elif title.endswith(shown):
        rest = title[: -len(shown)].rstrip()[::-1]
    else:
        return False
    return rest.startswith(TITLE_SEPARATORS)


def _is_image_block(element: etree._Element) -> bool:
    return element.tag.lower() == "img" or element.find(".//img") is not None


def _is_date_line(text: str) -> bool:
    return len(text) <= _DATE_LINE_CHARS and shown_date(text) is not None


def _has_block_child(element: etree._Element) -> bool:
    return any(is_element(c) and c.tag.lower() in _BLOCKS for c in element)


def _tags_of_line(element: etree._Element) -> list[str]:
    """The tags of a `tags:` / `标签：` line: its marked words (em, a, li), else its words."""
    if not _TAGS_LABEL_RE.match(_raw_text(element)):
        return []
    text = element_text([element])
    if len(text) > _TAGS_LINE_CHARS or tags_from_line(text.replace("\n", " ")) is None:
        return []
    marked = [inline_text(e) for e in element.iter("em", "a", "li", "span") if e is not element]
    return [tag.lstrip("#") for tag in marked if tag] or tags_from_line(text) or []


def _tag_texts(element: etree._Element) -> list[str]:
    """The tags of an element marked as tags: its links, else its items, else its words."""
    for tag in ("a", "li"):
        marked = [inline_text(e) for e in element.iter(tag) if e is not element]
        if marked:
            return marked
    words = element.get("content") if element.tag.lower() == "meta" else inline_text(element)
    return tags_from_line(f"tags: {words or ''}") or []


def _best_date(candidates: Iterable[ShownDate | None]) -> ShownDate | None:
    """The most precise date; between equals, the first (machine-readable ones come first)."""
    best: ShownDate | None = None
    for candidate in candidates:
        if candidate is not None and (best is None or candidate.precision > best.precision):
            best = candidate
    return best


def _first_refined(candidates: Iterable[ShownDate | None]) -> ShownDate | None:
    """The first date, or a more precise one that agrees with it (the post's date shown after
    it, before comments whose times are of their own)."""
    dates = [candidate for candidate in candidates if candidate is not None]
    if not dates:
        return None
    agreeing = [date for date in dates if date.agrees_with(dates[0])]
    return max(agreeing, key=lambda date: date.precision)


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        value = value.strip().lstrip("#").strip()
        if value and value not in seen:
            seen.append(value)
    return seen
