"""A writer process: `python -m finews_crawler.processes.store_writer`, run by the store pipeline.

Its first input frame is the database URL (the pipeline has migrated the schema already); then
each request is `(items, run_id)` for `Repository.write_items` and each answer its counts, or the
exception it raised: the pipeline then writes that batch itself, with its retries, spool and
quarantine. See `finews_crawler.processes.child` for the wire format and lifetime.
"""

from __future__ import annotations

import sys

from finews_crawler.processes.child import die_with_parent, read_frame, serve
from finews_crawler.store.repository import Repository


def main() -> None:
    # Before the database is opened: the writer never holds it past the crawl process.
    die_with_parent()
    try:
        database_url = read_frame(sys.stdin.buffer)
    except EOFError:
        return
    with Repository(database_url, migrate=False) as repository:
        serve(lambda request: repository.write_items(*request))


if __name__ == "__main__":
    main()
