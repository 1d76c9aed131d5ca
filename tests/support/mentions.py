"""Stock mentions in the record shape (`items.StockMention`), for store and command tests."""

from __future__ import annotations

from typing import Any


def stock(symbol: str | None, kind: str, market: str, code: str, name: str) -> dict[str, Any]:
    return {"symbol": symbol, "kind": kind, "market": market, "code": code, "name": name}


MOUTAI = stock("600519.SH", "stock", "1", "600519", "贵州茅台")
SSE_INDEX = stock("000001.SH", "index", "1", "000001", "上证指数")  # not 平安银行
PING_AN = stock("000001.SZ", "stock", "0", "000001", "平安银行")
NEW_ENERGY = stock("BK0493", "board", "90", "BK0493", "新能源")
CSI_ETF = stock("510300.SH", "fund", "1", "510300", "沪深300ETF")
HANG_SENG = stock(None, "unknown", "100", "HSI", "恒生指数")  # a market without symbols
NO_MARKET = stock(None, "unknown", "", "HSI", "恒指")  # a page that did not say the market
