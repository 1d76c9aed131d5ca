"""The parser's fixture cases: which page of the bundled site (or of a redesign), served at which
URL, linked from which listing; the expected record of each is `fixtures/pages/<case>.json`, and
its `layout` names the reader that reads it (each reader has fixtures of its own).

Pages are read from the mirror (`fixtures/site/`) rather than copied (the all-forms page of stock
mentions lives in `fixtures/securities/`, outside the mirror); the two derived ones are
built from the seed page: `crlf` (CRLF line ends) and `no_layout` (the body alone, as Jekyll
serves a post whose front matter is broken: no head, no section).
"""

from __future__ import annotations

from typing import NamedTuple

from support.paths import FIXTURES

PAGES = FIXTURES / "pages"
HOST = "https://finews.withounder.com"
SEED = "site/shanghaifabu/2022/03/30/NW202203302328599218.html"


class Case(NamedTuple):
    page: str  # path under tests/fixtures
    url_path: str  # where it is served
    listing_categories: tuple[str, ...] = ()
    derive: str | None = None  # "crlf" | "no_layout"


CASES = {
    "seed_shanghaifabu": Case(SEED, "/shanghaifabu/2022/03/30/NW202203302328599218.html"),
    "seed_emnews_digest": Case(
        "site/emnews/2022/03/30/202203302328599218.html",
        "/emnews/2022/03/30/202203302328599218.html",
    ),
    "empty_title_stocks": Case(
        "site/emnews/2022/05/26/202205262391921712.html",
        "/emnews/2022/05/26/202205262391921712.html",
    ),
    "space_in_slug": Case(
        "site/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html",
        "/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html",
    ),
    "relative_back_links": Case(
        "site/emnews/2021/12/08/202112082206749391.html",
        "/emnews/2021/12/08/202112082206749391.html",
    ),
    "two_line_back_links": Case(
        "site/emnews/2021/12/08/202112082206672930.html",
        "/emnews/2021/12/08/202112082206672930.html",
    ),
    "no_back_links": Case(
        "site/emnews/2021/12/08/202112082206727327.html",
        "/emnews/2021/12/08/202112082206727327.html",
        ("emnews",),
    ),
    "site_news_no_info_code": Case(
        "site/sitenews/2021/12/01/init.html", "/sitenews/2021/12/01/init.html"
    ),
    "crlf_line_ends": Case(
        SEED, "/shanghaifabu/2022/03/30/NW202203302328599218.html", derive="crlf"
    ),
    "no_layout": Case(SEED, "/2022/03/30/NW202203302328599218.html", derive="no_layout"),
    "all_security_forms": Case(
        "securities/site/wind/2022/05/27/NW202205272412345678.html",
        "/wind/2022/05/27/NW202205272412345678.html",
    ),
    "not_article_404": Case("site/404.html", "/emnews/2021/12/01/202112012200000000.html"),
    "not_article_category": Case("site/category/shanghaifabu.html", "/category/shanghaifabu.html"),
    "not_article_index": Case("site/index.html", "/"),
    # Redesigns (tests/fixtures/redesigns): the generic reader's fixtures.
    "generic_minima_share_link": Case(
        "redesigns/minima/shanghaifabu/2022/03/30/NW202203302328599218.html",
        "/shanghaifabu/2022/03/30/NW202203302328599218.html",
    ),
    "generic_minima_empty_title": Case(
        "redesigns/minima/emnews/2022/05/26/202205262391921712.html",
        "/emnews/2022/05/26/202205262391921712.html",
    ),
    "generic_restyled_digest": Case(
        "redesigns/restyled/emnews/2022/03/30/202203302328599218.html",
        "/emnews/2022/03/30/202203302328599218.html",
    ),
    "generic_restyled_space_in_slug": Case(
        "redesigns/restyled/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html",
        "/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html",
    ),
    "generic_magazine_no_metadata": Case(
        "redesigns/magazine/emnews/2021/12/08/202112082206672930.html",
        "/emnews/2021/12/08/202112082206672930.html",
    ),
    "generic_magazine_no_link_line": Case(
        "redesigns/magazine/sitenews/2021/12/01/init.html", "/sitenews/2021/12/01/init.html"
    ),
}


def page_html(case: Case) -> str:
    """The page as served, exactly (bytes decoded, line ends kept)."""
    html = (FIXTURES / case.page).read_bytes().decode("utf-8")
    if case.derive == "crlf":
        return html.replace("\n", "\r\n")
    if case.derive == "no_layout":
        body = html[html.rfind("<h1>") : html.rfind("<small>tags")]
        return body[body.index("</h1>") + len("</h1>") :]
    return html


def page_url(case: Case) -> str:
    return HOST + case.url_path
