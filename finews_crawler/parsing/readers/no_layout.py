"""A post page served without any layout: the generator wrote broken front matter, and Jekyll
served the rendered Markdown alone (no head, no title, no date line, no tags line).

Such a page yields what it says: the body fields and the category of its back link, with an
empty title and no date, so validation quarantines it with its reason ("no publication date").
"""

from __future__ import annotations

import re

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.readers.content import PostContent
from finews_crawler.parsing.readers.page import Page, Reader, article_item

#: Any of these in the source means a layout wrapped the page.
_LAYOUT_MARKUP_RE = re.compile(r"<(?:html|head|body|title|section)\b", re.IGNORECASE)


class NoLayoutReader(Reader):
    name = "no-layout"

    def read(self, page: Page) -> ArticleItem | None:
        # A NUL never occurs in a rendered post: such bytes are not a page at all.
        if "\x00" in page.html or _LAYOUT_MARKUP_RE.search(page.html):
            return None
        bodies = page.document.findall("body")
        content = PostContent(bodies[0] if bodies else (), page.url)
        if not content:
            return None
        return article_item(page, content, title="", published_at=None, tags=[])
