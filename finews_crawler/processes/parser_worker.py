"""A parser process: `python -m finews_crawler.processes.parser_worker`, run by `ParserPool`.

Each request is `(function, args)`: a pure parsing function of `finews_crawler.parsing` (pickled
by its name) and its arguments; each answer its result, or the exception it raised (see
`finews_crawler.processes.child` for the wire format and lifetime).
"""

from __future__ import annotations

from finews_crawler.processes.child import die_with_parent, serve

if __name__ == "__main__":
    die_with_parent()
    serve(lambda request: request[0](*request[1]))
