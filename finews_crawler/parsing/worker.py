"""A parser process: `python -m finews_crawler.parsing.worker`, run by `ParserPool`.

It reads requests from stdin and answers on stdout, in order, one frame each: an 8-byte
little-endian length, then a pickle. A request is the arguments of `parse_article`; an answer is
`(True, item_or_None)` or `(False, exception)`. It exits when stdin closes, which also happens
when the crawl process dies, so it never outlives its crawl. SIGINT and SIGTERM are ignored: the
crawl process gets them too, shuts down cleanly and then closes stdin.
"""

from __future__ import annotations

import pickle
import signal
import sys
from typing import BinaryIO

from finews_crawler.parsing.article import parse_article

HEADER_BYTES = 8


def frame(obj: object) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(HEADER_BYTES, "little") + data


def read_frame(stream: BinaryIO) -> object | None:
    """The next request, or None at the end of the input."""
    header = stream.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        return None
    size = int.from_bytes(header, "little")
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def answer(args: tuple) -> bytes:
    try:
        return frame((True, parse_article(*args)))
    except Exception as exc:
        try:
            return frame((False, exc))
        except Exception:  # an exception that does not pickle: keep its type name and text
            return frame((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    while (args := read_frame(requests)) is not None:
        answers.write(answer(args))
        answers.flush()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
