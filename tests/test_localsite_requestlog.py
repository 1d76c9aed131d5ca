"""`localsite.requestlog`: the server's log of what was requested, as tests read it."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from support.site_requests import SEED_ARTICLE, SPACE_CATEGORY, get

pytestmark = pytest.mark.timeout(60)


def test_request_log_counts_what_was_fetched(serve_site) -> None:
    server = serve_site()
    get(server, SEED_ARTICLE)
    get(server, SEED_ARTICLE)
    get(server, SPACE_CATEGORY, method="HEAD")
    assert server.requests.count(SEED_ARTICLE) == 2
    assert server.requests.count(SPACE_CATEGORY, method="HEAD") == 1
    assert server.requests.counter()[("GET", SEED_ARTICLE)] == 2
    assert ("HEAD", unquote(SPACE_CATEGORY)) in server.requests.counter()
    assert len(server.requests) == 3
    server.requests.clear()
    assert len(server.requests) == 0
