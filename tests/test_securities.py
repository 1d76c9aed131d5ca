"""Security mentions: every East Money markup form, the market/code -> symbol table, unknowns."""

from __future__ import annotations

import dataclasses

import pytest
from lxml import html
from scrapy.utils.test import get_crawler

from finews_crawler.items import ArticleItem
from finews_crawler.parsing.securities import (
    as_mention,
    classify,
    mention_key,
    quote_link,
    stock_mentions,
)
from pipelines.normalize import NormalizePipeline


def read(body: str) -> list[tuple[str | None, str, str, str, str]]:
    """(symbol, kind, market, code, name) of each mention in a body fragment."""
    root = html.fragment_fromstring(body, create_parent="div")
    return [
        (m["symbol"], m["kind"], m["market"], m["code"], m["name"]) for m in stock_mentions([root])
    ]


@pytest.mark.parametrize(
    ("market", "code", "symbol", "kind"),
    [
        ("1", "600519", "600519.SH", "stock"),
        ("1", "601398", "601398.SH", "stock"),
        ("1", "688376", "688376.SH", "stock"),  # STAR market
        ("1", "689009", "689009.SH", "stock"),  # STAR market depositary receipts
        ("1", "900901", "900901.SH", "stock"),  # B share
        ("1", "000001", "000001.SH", "index"),  # 上证指数, not 平安银行
        ("1", "000300", "000300.SH", "index"),
        ("1", "510300", "510300.SH", "fund"),
        ("1", "588000", "588000.SH", "fund"),
        ("1", "113050", "113050.SH", "bond"),  # convertible
        ("1", "019547", "019547.SH", "bond"),  # government bond
        ("0", "000001", "000001.SZ", "stock"),  # 平安银行
        ("0", "002353", "002353.SZ", "stock"),
        ("0", "300750", "300750.SZ", "stock"),  # ChiNext
        ("0", "301269", "301269.SZ", "stock"),
        ("0", "200002", "200002.SZ", "stock"),  # B share
        ("0", "399001", "399001.SZ", "index"),
        ("0", "399006", "399006.SZ", "index"),
        ("0", "159915", "159915.SZ", "fund"),
        ("0", "161725", "161725.SZ", "fund"),
        ("0", "123107", "123107.SZ", "bond"),
        ("0", "430047", "430047.BJ", "stock"),  # Beijing, moved from the NEEQ
        ("0", "835185", "835185.BJ", "stock"),
        ("0", "872925", "872925.BJ", "stock"),
        ("0", "882001", "882001.BJ", "stock"),
        ("0", "920118", "920118.BJ", "stock"),  # Beijing's own code range
        ("0", "899050", "899050.BJ", "index"),  # 北证50
        ("2", "930050", "930050.CSI", "index"),
        ("2", "H30269", "H30269.CSI", "index"),
        ("90", "BK0493", "BK0493", "board"),
        ("90", "BK1036", "BK1036", "board"),
        ("116", "00700", "00700.HK", "stock"),
        ("105", "AAPL", "AAPL.O", "stock"),
        ("106", "NIO", "NIO.N", "stock"),
        ("106", "BRK_A", "BRK_A.N", "stock"),
        ("107", "IMO", "IMO.A", "stock"),
    ],
)
def test_known_markets_give_a_symbol_and_kind(market, code, symbol, kind) -> None:
    assert classify(market, code) == (symbol, kind)


@pytest.mark.parametrize(
    ("market", "code"),
    [
        ("100", "HSI"),  # world indices under East Money's own names
        ("100", "NDX"),
        ("124", "HSTECH"),
        ("101", "GC00Y"),  # COMEX futures
        ("", "600519"),  # a mention that did not say its market
        ("0", "889001"),  # Beijing subscription code
        ("0", "400002"),  # old third board
        ("0", "131810"),  # Shenzhen repo
        ("1", "204001"),  # Shanghai repo
        ("1", "60051"),  # not six digits
        ("116", "700"),
        ("90", "0493"),
        ("105", "aapl"),
    ],
)
def test_unknown_markets_and_codes_are_never_guessed(market, code) -> None:
    assert classify(market, code) == (None, "unknown")


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("http://quote.eastmoney.com/r/1.688376", ("1", "688376")),
        ("https://quote.eastmoney.com/unify/r/0.300959", ("0", "300959")),
        ("//quote.eastmoney.com/unify/r/90.BK0493", ("90", "BK0493")),
        ("http://quote.eastmoney.com/unify/r/106.NIO", ("106", "NIO")),
        ("http://quote.eastmoney.com/sh600519.html", ("1", "600519")),
        ("http://quote.eastmoney.com/sz000001.html", ("0", "000001")),
        ("http://quote.eastmoney.com/bj430047.html", ("0", "430047")),
        ("http://quote.eastmoney.com/hk/00700.html", ("116", "00700")),
        ("http://quote.eastmoney.com/us/AAPL.html", ("", "AAPL")),
        ("http://quote.eastmoney.com/center/gridlist.html", ("", "")),
        ("http://baike.eastmoney.com/item/市盈率", None),
        ("http://data.eastmoney.com/bbsj/", None),
        ("http://quote.eastmoney.com.example.org/r/1.600519", None),
        ("javascript:void(0)", None),
        ("", None),
    ],
)
def test_quote_links(href, expected) -> None:
    assert quote_link(href) == expected


def test_data_code_with_market_on_keytip_and_em_stock_key_common() -> None:
    body = (
        '<p><a href="http://quote.eastmoney.com/unify/r/1.600160" class="keytip"'
        ' data-code="1,600160">巨化股份</a>、<span web="1" class="em_stock_key_common"'
        ' href="http://quote.eastmoney.com/unify/r/0.300343" data-code="0,300343">'
        "联创股份</span></p>"
    )
    assert read(body) == [
        ("600160.SH", "stock", "1", "600160", "巨化股份"),
        ("300343.SZ", "stock", "0", "300343", "联创股份"),
    ]


@pytest.mark.parametrize(
    ("href", "symbol", "market"),
    [
        ("http://quote.eastmoney.com/r/1.688376", "688376.SH", "1"),
        ("http://quote.eastmoney.com/unify/r/1.688376", "688376.SH", "1"),
        ("http://quote.eastmoney.com/sh688376.html", "688376.SH", "1"),
    ],
)
def test_data_code_without_market_takes_it_from_the_quote_link(href, symbol, market) -> None:
    body = f'<a href="{href}" class="keytip" data-code="688376">美埃科技</a>'
    assert read(body) == [(symbol, "stock", market, "688376", "美埃科技")]


def test_data_code_without_market_takes_it_from_the_wrapper() -> None:
    body = '<span id="stock_1.600030"><a class="keytip" data-code="600030">中信证券</a></span>'
    assert read(body) == [("600030.SH", "stock", "1", "600030", "中信证券")]


def test_a_wrapper_naming_another_code_says_nothing_of_the_link_inside() -> None:
    body = '<span id="stock_1.600030"><a class="keytip" data-code="000001">平安银行</a></span>'
    assert read(body) == [
        ("600030.SH", "stock", "1", "600030", "平安银行"),
        (None, "unknown", "", "000001", "平安银行"),
    ]


def test_quote_link_alone() -> None:
    body = (
        '<a class="em_stock_key_common" href="http://quote.eastmoney.com/r/0.002353">杰瑞股份</a>'
    )
    assert read(body) == [("002353.SZ", "stock", "0", "002353", "杰瑞股份")]


def test_wrappers_alone_stock_and_board() -> None:
    body = (
        '<span id="stock_1.600030"><a href="http://quote.eastmoney.com/unify/r/1.600030">'
        '中信证券</a></span><span id="bk_90.BK1036">半导体</span><span id="bkquote_90.BK1036">'
        '</span><span id="quote_1.600030"></span>'
    )
    assert read(body) == [
        ("600030.SH", "stock", "1", "600030", "中信证券"),
        ("BK1036", "board", "90", "BK1036", "半导体"),
    ]


def test_boards_hong_kong_us_beijing_and_indices() -> None:
    body = "".join(
        f'<a class="keytip" data-code="{code}">{name}</a>'
        for code, name in [
            ("90,BK0493", "新能源"),
            ("116,00700", "腾讯控股"),
            ("105,AAPL", "苹果"),
            ("106,NIO", "蔚来"),
            ("107,IMO", "帝国石油"),
            ("0,430047", "诺思兰德"),
            ("0,835185", "贝特瑞"),
            ("1,000001", "上证指数"),
            ("0,000001", "平安银行"),
            ("0,399001", "深证成指"),
        ]
    )
    assert read(body) == [
        ("BK0493", "board", "90", "BK0493", "新能源"),
        ("00700.HK", "stock", "116", "00700", "腾讯控股"),
        ("AAPL.O", "stock", "105", "AAPL", "苹果"),
        ("NIO.N", "stock", "106", "NIO", "蔚来"),
        ("IMO.A", "stock", "107", "IMO", "帝国石油"),
        ("430047.BJ", "stock", "0", "430047", "诺思兰德"),
        ("835185.BJ", "stock", "0", "835185", "贝特瑞"),
        ("000001.SH", "index", "1", "000001", "上证指数"),
        ("000001.SZ", "stock", "0", "000001", "平安银行"),
        ("399001.SZ", "index", "0", "399001", "深证成指"),
    ]


def test_what_is_not_a_quote_link_is_not_a_mention() -> None:
    body = (
        '<span web="1" href="http://baike.eastmoney.com/item/市盈率" class="em_stock_key_common">'
        "市盈率</span>"
        '<span web="1" href="http://baike.eastmoney.com/item/x" class="em_stock_key_common"'
        ' data-code="1,600519">贵州茅台</span>'
        '<span id="Info.3321"><a href="http://data.eastmoney.com/bbsj/" class="infokey">业绩</a>'
        '</span><a href="http://quote.eastmoney.com/unify/r/106.NIO" data-code="NIO|106|7"'
        ' class="EmImageRemark"><img src="https://webquoteklinepic.eastmoney.com/x.png"></a>'
        '<a href="http://quote.eastmoney.com/unify/r/1.600519">贵州茅台</a>'
        '<span class="keytip"></span>'
    )
    assert read(body) == []


def test_a_broken_link_is_no_quote_link_and_costs_nothing() -> None:
    assert quote_link("http://[broken") is None
    body = (
        '<a class="keytip" href="http://[broken" data-code="1,600519">贵州茅台</a>'
        '<span class="em_stock_key_common" href="http://[x">某</span>'
    )
    assert read(body) == [("600519.SH", "stock", "1", "600519", "贵州茅台")]


def test_unknown_markets_keep_what_was_read() -> None:
    body = (
        '<a class="keytip" data-code="100,HSI">恒生指数</a>'
        '<a class="keytip" data-code="688981">中芯国际</a>'
        '<a class="keytip" href="http://quote.eastmoney.com/us/TSLA.html">特斯拉</a>'
    )
    assert read(body) == [
        (None, "unknown", "100", "HSI", "恒生指数"),
        (None, "unknown", "", "688981", "中芯国际"),
        (None, "unknown", "", "TSLA", "特斯拉"),
    ]


def test_each_security_once_in_order_of_first_mention() -> None:
    body = (
        '<p><span id="stock_106.NIO"><a href="http://quote.eastmoney.com/unify/r/106.NIO"'
        ' class="keytip" data-code="106,NIO">蔚来</a></span>'
        '<a class="keytip" data-code="1,600519">贵州茅台</a>'
        '<span class="em_stock_key_common" data-code="106,NIO">蔚来汽车</span>'
        '<a class="keytip" href="http://quote.eastmoney.com/sh600519.html" data-code="600519">'
        "茅台</a>"
        '<a class="keytip" data-code="100,HSI">恒生指数</a>'
        '<a class="keytip" data-code="100,HSI">恒指</a>'
        '<a class="keytip" data-code="HSI">恒指</a></p>'
    )
    assert read(body) == [
        ("NIO.N", "stock", "106", "NIO", "蔚来"),
        ("600519.SH", "stock", "1", "600519", "贵州茅台"),
        (None, "unknown", "100", "HSI", "恒生指数"),
        (None, "unknown", "", "HSI", "恒指"),
    ]


def test_mention_keys() -> None:
    assert mention_key({"symbol": "600519.SH", "market": "1", "code": "600519"}) == ("600519.SH",)
    assert mention_key({"symbol": None, "market": "100", "code": "HSI"}) == ("100", "HSI")


def test_as_mention_fills_records_written_before_symbols_and_keeps_new_ones() -> None:
    old = {"market": "1", "code": "600519", "name": "贵州茅台"}
    assert as_mention(old) == {
        "symbol": "600519.SH",
        "kind": "stock",
        "market": "1",
        "code": "600519",
        "name": "贵州茅台",
    }
    unknown = {"symbol": None, "kind": "unknown", "market": "100", "code": "HSI", "name": "恒指"}
    assert as_mention(unknown) == unknown
    assert list(as_mention(unknown)) == ["symbol", "kind", "market", "code", "name"]
    assert as_mention({**unknown, "symbol": ""})["symbol"] is None


def test_normalize_counts_mentions_of_unknown_markets() -> None:
    crawler = get_crawler()
    pipeline = NormalizePipeline.from_crawler(crawler)
    item = ArticleItem(info_code=None, url="/a.html", name=None, title="", published_at=None)
    known = as_mention({"market": "1", "code": "600519", "name": "贵州茅台"})
    pipeline.process_item(dataclasses.replace(item, stocks=[known]))
    assert crawler.stats.get_value("finews/stocks/unknown_market") is None
    unknowns = [as_mention({"market": m, "code": "HSI", "name": "恒指"}) for m in ("100", "")]
    pipeline.process_item(dataclasses.replace(item, stocks=[known, *unknowns]))
    assert crawler.stats.get_value("finews/stocks/unknown_market") == 2
