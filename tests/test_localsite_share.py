"""`localsite.share`: the share page answers per `ShareMode` (missing, ok, refuse, hang)."""

from __future__ import annotations

import http.client
import time

import pytest
from support.site_requests import SHARE, get

from localsite.server import MirrorServer
from localsite.share import ShareMode

pytestmark = pytest.mark.timeout(60)


def test_share_page_missing_by_default(mirror: MirrorServer) -> None:
    assert get(mirror, SHARE)[0] == 404


def test_share_page_ok_serves_the_article(serve_site) -> None:
    server = serve_site(share_mode="ok")
    status, headers, body = get(server, SHARE)
    text = body.decode("utf-8")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    title = "新希望前11个月生猪销量已超2020全年 预计全年出栏量1000万头以内"
    assert f"<title>{title}</title>" in text
    assert "正式披露2021年11月生猪销售情况简报" in text
    assert "返回首页" not in text and "NewsShare" not in text
    status, _, body = get(server, "/html_News/NewsShare.html?infoCode=NW209901010000000000")
    assert status == 200 and b"<title>" in body


def test_share_page_refused_and_hung(serve_site) -> None:
    server = serve_site(share_mode="refuse", hang_seconds=1.0)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(server, SHARE)
    server.share_mode = "hang"  # switched while it runs; strings are accepted
    assert server.share_mode is ShareMode.HANG
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        get(server, SHARE, timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert server.requests.records()[-1].status is None
