"""A parser process that dies on its first page: `ParserPool(1, module="support.dying_parser")`.

Run as `python -m support.dying_parser` by the pool (tests/test_parser_pool.py); the child finds
`support` because it inherits the test process's `sys.path` (`tests/` is on it under pytest).
"""

import os
import sys

if __name__ == "__main__":
    sys.stdin.buffer.read(8)  # the first frame's length prefix: a page has arrived
    os._exit(3)
