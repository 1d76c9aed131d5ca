"""Requests to a running local site (`localsite.server.MirrorServer`), and paths of the bundled one.

`get` goes through `http.client` (the path as a client sends it); `raw_get` writes the request
line exactly as given, for paths a client would normalize (`/a/../x`, `%2F..%2F`).
"""

from __future__ import annotations

import http.client
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localsite.server import MirrorServer

#: A category page of the bundled site whose file name holds a space.
SPACE_CATEGORY = "/category/21shijijingjibaodao%2021caijingAPP.html"
SEED_ARTICLE = "/shanghaifabu/2022/03/30/NW202203302328599218.html"
#: The share page of an article of the bundled site.
SHARE = "/html_News/NewsShare.html?infoCode=NW202112082206736549"


def get(
    server: MirrorServer, path: str, method: str = "GET", timeout: float = 5.0
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def raw_get(server: MirrorServer, target: str) -> tuple[int, bytes]:
    """A request line sent exactly as written (no client-side normalization)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body
