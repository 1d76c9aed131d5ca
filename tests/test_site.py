"""URL and infoCode rules: which links are the site, and where they point on the base URL."""

from __future__ import annotations

from datetime import datetime

import pytest

from finews_crawler import site

BASE = "http://127.0.0.1:8000"
PAGE = "http://127.0.0.1:8000/emnews/2021/12/08/202112082206749391.html"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("//finews.withounder.com/category/shanghaifabu.html", "/category/shanghaifabu.html"),
        ("https://finews.zning.me/emnews/", "/emnews/"),
        ("http://FINEWS.WITHOUNDER.COM/", "/"),
        ("../emnews/", "/emnews/2021/12/emnews/"),  # as a browser resolves it
        ("/../../etc/passwd", "/etc/passwd"),  # dot segments end at the root
        ("/category/21shijijingjibaodao 21caijingAPP.html",
         "/category/21shijijingjibaodao%2021caijingAPP.html"),
        ("http://127.0.0.1:8000/feed.xml", "/feed.xml"),
        ("https://example.com/emnews/", None),
        ("javascript:alert(1)", None),
        ("mailto:someone@example.com", None),
        ("ftp://finews.withounder.com/x", None),
        ("/emnews/%2F..%2F..%2Fetc/passwd.html", None),
        ("/emnews/..%2F..%2Fx.html", None),
        ("", None),
    ],
)  # fmt: skip
def test_site_path_maps_site_links_and_rejects_the_rest(href: str, expected: str | None) -> None:
    assert site.site_path(href, PAGE, BASE) == expected


def test_site_url_puts_paths_on_the_base_url() -> None:
    assert site.site_url("/emnews/", "http://127.0.0.1:9/") == "http://127.0.0.1:9/emnews/"
    assert site.site_url("/a.html?x=1", "https://finews.withounder.com") == (
        "https://finews.withounder.com/a.html?x=1"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NW202203302328599218", "NW202203302328599218"),
        ("202203302328599218", "NW202203302328599218"),
        (" 202203302328599218 ", "NW202203302328599218"),
        ("NW2022033023285992", None),
        ("NW2022033023285992189", None),
        ("init", None),
        (None, None),
    ],
)
def test_info_codes_are_normalized(value: str | None, expected: str | None) -> None:
    assert site.normalize_info_code(value) == expected


def test_info_code_and_post_name_from_article_paths() -> None:
    path = "/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html"
    assert site.info_code_from_path(path) == "NW202112082207123189"
    assert site.post_name_from_path(path) == "2021-12-08-NW202112082207123189.md"
    assert site.info_code_from_path("/sitenews/2021/12/01/init.html") is None
    assert site.info_code_from_path("/category/emnews.html") is None


def test_article_urls_and_their_categories() -> None:
    path = "/21shijijingjibaodao/21caijingapp/2021/12/08/NW202112082207123189.html"
    assert site.path_categories(path) == ["21shijijingjibaodao", "21caijingapp"]
    assert site.path_categories("/category/emnews.html") is None
    published = datetime.fromisoformat("2021-12-07T18:00:00+00:00")  # 02:00 the next day in GMT+8
    built = site.article_path(["21shijijingjibaodao", "21caijingAPP"], published, "NW1")
    assert built == "/21shijijingjibaodao/21caijingapp/2021/12/08/NW1.html"


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("/category/21shijijingjibaodao%2021caijingAPP.html", "21shijijingjibaodao 21caijingAPP"),
        ("/emnews/", "emnews"),
        ("/emnews/index.html", "emnews"),
        ("/", None),
        ("/index.html", None),
        ("/feed.xml", None),
        ("/emnews/2021/12/08/202112082206672930.html", None),
    ],
)
def test_listing_category(path: str, category: str | None) -> None:
    assert site.listing_category(path) == category


def test_share_links_go_to_the_configured_share_host() -> None:
    share = "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW202203302328599218"
    assert site.share_request_url(share, None) == share
    assert site.share_request_url(share, "http://127.0.0.1:5000") == (
        "http://127.0.0.1:5000/html_News/NewsShare.html?infoCode=NW202203302328599218"
    )
    assert site.share_request_url("javascript:alert(1)", None) is None
    assert site.info_code_from_share_url(share) == "NW202203302328599218"
