"""What the rest of the crawl sees of a shared run: the `Frontier` a spider asks, and the close
reason of a worker that came to a run already finished (run health reads it)."""

from __future__ import annotations

from typing import Protocol

#: Close reason of a worker that joined a run which had already finished.
RUN_ALREADY_DONE = "run_already_done"


class Frontier(Protocol):
    """The shared frontier of a run, as a spider uses it (`spider.frontier`, set by the scheduler
    of a shared run when it opens; None in a crawl of one process)."""

    def others_busy(self) -> bool:
        """Whether requests are queued or another worker may still push some.

        Asking marks this worker as holding requests back until the crawl is idle, so the
        other workers stay open for them.
        """
        ...
