"""A parser process that dies on its first page (tests/test_parser_pool.py)."""

import os
import sys

if __name__ == "__main__":
    sys.stdin.buffer.read(8)
    os._exit(3)
