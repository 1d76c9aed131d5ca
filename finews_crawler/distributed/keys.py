"""The names of a shared run: its run id, and its Redis keys, every one built from one pattern.

The pattern is FINEWS_REDIS_KEY (default `defaults.REDIS_KEY`, `finews:%(run_id)s:%(name)s`;
`%(spider)s` may be used too). docs/distributed.md says what each key holds.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from finews_crawler import defaults

_RUN_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True)
class RunKeys:
    """The Redis keys of one run, all built from one pattern."""

    run_id: str
    requests: str
    dupefilter: str
    workers: str
    done: str
    #: A glob (Redis `SCAN MATCH`) for every key of the run.
    match: str

    def all(self) -> tuple[str, ...]:
        return (self.requests, self.dupefilter, self.workers, self.done)


def check_run_id(run_id: str) -> str:
    """`run_id` if it is fit for a key (letters, digits, `_.:-`, at most 128), else ValueError."""
    if not _RUN_ID_RE.fullmatch(run_id):
        raise ValueError(
            f"run id {run_id!r}: use 1 to 128 letters, digits and '_', '.', ':', '-' only"
        )
    return run_id


def fresh_run_id() -> str:
    """A new run id: UTC time and a random suffix, e.g. `20240501T101500Z-3f9a2c1b`."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def run_keys(run_id: str, pattern: str = defaults.REDIS_KEY, spider: str = "") -> RunKeys:
    """The keys of run `run_id` from `pattern` (see `defaults.REDIS_KEY`)."""
    check_run_id(run_id)
    if "%(run_id)s" not in pattern or "%(name)s" not in pattern:
        raise ValueError(f"FINEWS_REDIS_KEY {pattern!r} must hold %(run_id)s and %(name)s")

    def key(name: str) -> str:
        return pattern % {"run_id": run_id, "name": name, "spider": spider}

    names = ("requests", "dupefilter", "workers", "done", "*")
    return RunKeys(run_id, *(key(name) for name in names))
