"""The store writer as on a system without a parent-death signal: only its watcher thread can end
it when its parent dies. Run as `python -m support.watched_writer` (tests/test_killed_runs.py)."""

from finews_crawler.processes import child
from finews_crawler.processes.store_writer import main

if __name__ == "__main__":
    child._parent_death_signal = lambda: False
    main()
