"""Securities, indices and sector boards named in an article body, with standard symbols.

Pure: the body's lxml nodes in, `StockMention` records out. The bodies are East Money's own HTML,
which marks a security in several ways; all of them are read here:

- `<a class="keytip" data-code="1,600519">` or `<span class="em_stock_key_common"
  data-code="1,600519">`: East Money's market number and the code;
- the same with `data-code="688376"` alone: the market then comes from the element's quote link
  (`quote.eastmoney.com/r/1.688376`, `/unify/r/1.688376`, `/sh600519.html`, `/hk/00700.html`) or
  from the wrapper around it;
- `<a class="em_stock_key_common" href="http://quote.eastmoney.com/r/0.002353">`: the link alone;
- the wrappers `<span id="stock_1.600030">` and `<span id="bk_90.BK1036">`, whatever they hold.

One of those elements whose `href` leads to another site (`span.em_stock_key_common` on a
`baike.eastmoney.com` encyclopedia entry) names no security and is skipped, as are K-line chart
links (`a.EmImageRemark`) and the empty `quote_...` price placeholders.

`MARKETS` turns the market number and code into a symbol in the convention Chinese market data
uses (Wind, Tushare: `600519.SH`, `00700.HK`, `AAPL.O`; a board keeps its `BK` code) and a kind.
A market it does not list, a code outside the ranges it lists, or a mention without a market keeps
what was read, with `symbol` None and kind `unknown`: never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any
from urllib.parse import SplitResult, urlsplit

from lxml import etree

from finews_crawler.items import StockMention
from finews_crawler.parsing.html_text import inline_text, is_element

STOCK = "stock"
FUND = "fund"
BOND = "bond"
INDEX = "index"
BOARD = "board"
UNKNOWN = "unknown"
#: Every kind a mention can have.
KINDS = (STOCK, FUND, BOND, INDEX, BOARD, UNKNOWN)
#: The kinds that are securities (indices and boards are not; unknowns have no symbol).
SECURITY_KINDS = (STOCK, FUND, BOND)


@dataclass(frozen=True)
class CodeRange:
    """Codes of one kind within an East Money market, and the exchange suffix of their symbol."""

    pattern: re.Pattern[str]  # matches the whole code
    suffix: str | None  # None: the code itself is the symbol (boards)
    kind: str

    def symbol(self, code: str) -> str:
        return f"{code}.{self.suffix}" if self.suffix else code


def _codes(pattern: str, suffix: str | None, kind: str) -> CodeRange:
    return CodeRange(re.compile(pattern), suffix, kind)


#: East Money writes a US ticker in upper case, `_` for a share class (BRK.A is `BRK_A`).
_US_TICKER = r"[A-Z][A-Z0-9_]*"

#: East Money's market number (the `1` of `secid=1.600519`) -> its code ranges; first match wins.
#: Ranges follow the exchanges' code allocation (first digits of a six-digit code).
MARKETS: dict[str, tuple[CodeRange, ...]] = {
    # Shenzhen Stock Exchange, and the Beijing Stock Exchange (opened 2021 from the NEEQ's select
    # tier, which kept its 43/83/87/88 codes; new listings get 920, and 889 are subscription
    # codes). NEEQ stocks that never moved share those ranges here, and East Money's markup does
    # not tell them apart: they read as Beijing.
    "0": (
        _codes(r"00\d{4}|30\d{4}|20\d{4}", "SZ", STOCK),  # main board, ChiNext, B shares
        _codes(r"399\d{3}", "SZ", INDEX),  # 深证成指 399001 (平安银行 is 0.000001)
        _codes(r"15\d{4}|16\d{4}|18\d{4}", "SZ", FUND),  # ETFs, LOFs, closed-end funds
        _codes(r"10\d{4}|11\d{4}|12\d{4}", "SZ", BOND),  # government, corporate, convertible
        _codes(r"43\d{4}|83\d{4}|87\d{4}|88[0-8]\d{3}|92\d{4}", "BJ", STOCK),
        _codes(r"899\d{3}", "BJ", INDEX),  # 北证50 899050
    ),
    # Shanghai Stock Exchange.
    "1": (
        _codes(r"60\d{4}|68\d{4}|900\d{3}", "SH", STOCK),  # main board, STAR (688/689), B shares
        _codes(r"000\d{3}", "SH", INDEX),  # 上证指数 1.000001, 沪深300 1.000300
        _codes(r"5\d{5}", "SH", FUND),  # ETFs, LOFs, closed-end funds
        _codes(r"00[1-9]\d{3}|0[1-9]\d{4}|1\d{5}", "SH", BOND),  # government bonds 0x, bonds 1x
    ),
    # China Securities Index Co. indices (中证 930xxx, H30xxx).
    "2": (_codes(r"[0-9A-Z]{6}", "CSI", INDEX),),
    # East Money's own sector, concept and region boards (板块).
    "90": (_codes(r"BK\d{4}", None, BOARD),),
    "116": (_codes(r"\d{5}", "HK", STOCK),),  # Hong Kong Exchanges
    "105": (_codes(_US_TICKER, "O", STOCK),),  # NASDAQ
    "106": (_codes(_US_TICKER, "N", STOCK),),  # New York Stock Exchange
    "107": (_codes(_US_TICKER, "A", STOCK),),  # NYSE American (the former AMEX)
    # Not listed, so kept as read: 100 (world indices under East Money's own names: DJIA, NDX
    # for the Nasdaq Composite, HSI), 124 (Hang Seng indices), futures, forex, London...
}

QUOTE_HOST = "quote.eastmoney.com"
#: Quote page paths -> (market number, code); a None market is read from the path itself.
_QUOTE_PATHS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"/(?:unify/)?r/(?P<market>\d+)\.(?P<code>[^/]+)"), None),
    (re.compile(r"/(?P<exchange>sh|sz|bj)(?P<code>\d{6})\.html"), None),
    (re.compile(r"/hk/(?P<code>\d{5})\.html"), "116"),
    (re.compile(r"/us/(?P<code>[^/]+)\.html"), ""),  # which US exchange, the path does not say
)
_EXCHANGE_MARKETS = {"sh": "1", "sz": "0", "bj": "0"}
_WRAPPER_ID = re.compile(r"(?:stock|bk)_(?P<market>\d+)\.(?P<code>\S+)")
_MENTION_CLASSES = frozenset({"keytip", "em_stock_key_common"})


def classify(market: str, code: str) -> tuple[str | None, str]:
    """(symbol, kind) of East Money's market number and code; (None, "unknown") if not known."""
    for code_range in MARKETS.get(market, ()):
        if code_range.pattern.fullmatch(code):
            return code_range.symbol(code), code_range.kind
    return None, UNKNOWN


def mention(market: str, code: str, name: str) -> StockMention:
    symbol, kind = classify(market, code)
    return StockMention(symbol=symbol, kind=kind, market=market, code=code, name=name)


def as_mention(value: Mapping[str, Any]) -> StockMention:
    """A mention in the record shape; one written before symbols existed gets them now."""
    market, code = str(value.get("market") or ""), str(value.get("code") or "")
    found = mention(market, code, str(value.get("name") or ""))
    if value.get("kind"):
        found["symbol"] = value.get("symbol") or None
        found["kind"] = str(value["kind"])
    return found


def mention_key(found: Mapping[str, Any]) -> tuple[str, ...]:
    """What makes a mention the same security: its symbol, else market and code."""
    symbol = found.get("symbol")
    return (symbol,) if symbol else (found.get("market") or "", found.get("code") or "")


def _split(href: str) -> SplitResult | None:
    try:
        return urlsplit(href.strip())
    except ValueError:  # a broken URL (`http://[x`): no quote link, and no other page either
        return None


def quote_link(href: str) -> tuple[str, str] | None:
    """(market, code) a quote page link names (empty when the path is not one we read);
    None when the link is not on the quote host."""
    parts = _split(href)
    if parts is None or parts.hostname != QUOTE_HOST or parts.scheme not in ("http", "https", ""):
        return None
    for pattern, market in _QUOTE_PATHS:
        found = pattern.fullmatch(parts.path)
        if found:
            groups = found.groupdict()
            if market is None:
                market = groups.get("market") or _EXCHANGE_MARKETS[groups["exchange"]]
            return market, found["code"]
    return "", ""


def _leads_elsewhere(href: str) -> bool:
    """A web link off the quote host (an encyclopedia or data page), not a quote link."""
    parts = _split(href)
    if parts is None:
        return False
    web = parts.scheme in ("http", "https") or (not parts.scheme and href.strip().startswith("//"))
    return web and parts.hostname != QUOTE_HOST


def _data_code(value: str | None) -> tuple[str, str]:
    """`market,code` or a bare `code` -> (market, code)."""
    market, comma, code = (value or "").partition(",")
    return (market.strip(), code.strip()) if comma else ("", market.strip())


def _wrapper(element: etree._Element) -> tuple[str, str] | None:
    identifier = element.get("id")
    found = _WRAPPER_ID.fullmatch(identifier) if identifier and element.tag == "span" else None
    return (found["market"], found["code"]) if found else None


def _read(element: etree._Element) -> StockMention | None:
    """The mention one element makes, or None."""
    own_wrapper = _wrapper(element)
    classes = element.get("class")
    if own_wrapper is None and not (classes and _MENTION_CLASSES.intersection(classes.split())):
        return None
    href = element.get("href") or ""
    link = quote_link(href)
    if link is None and _leads_elsewhere(href):
        return None
    market, code = _data_code(element.get("data-code"))
    enclosing = (_wrapper(parent) for parent in element.iterancestors("span"))
    for place in chain((link, own_wrapper), enclosing):
        if market:
            break
        if place is not None:
            place_market, place_code = place
            code = code or place_code
            if place_code == code:
                market = place_market  # a place that names another code says nothing of this one
    return mention(market, code, inline_text(element)) if code else None


def stock_mentions(nodes: Iterable[etree._Element]) -> list[StockMention]:
    """Securities, indices and boards the body names, each once, in order of first mention.

    The same security is recognized by its symbol (or market and code when it has none).
    """
    seen: set[tuple[str, ...]] = set()
    mentions: list[StockMention] = []
    for node in nodes:
        if not is_element(node):
            continue
        for element in node.iter("a", "span"):
            found = _read(element)
            if found is not None and mention_key(found) not in seen:
                seen.add(mention_key(found))
                mentions.append(found)
    return mentions
