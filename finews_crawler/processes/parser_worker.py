"""A parser process: `python -m finews_crawler.processes.parser_worker`, run by `ParserPool`.

Each request is the arguments of `read_article`; each answer its record (or None), or the
exception it raised (see `finews_crawler.processes.child` for the wire format and lifetime).
"""

from __future__ import annotations

from finews_crawler.parsing.readers import read_article
from finews_crawler.processes.child import die_with_parent, serve

if __name__ == "__main__":
    die_with_parent()
    serve(lambda args: read_article(*args))
