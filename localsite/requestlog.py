"""What the local site was asked: a thread-safe log of every request, for assertions in tests."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class RequestRecord:
    """One request the server answered (or failed on purpose)."""

    method: str
    path: str  # percent-decoded path, plus `?query` when there is one
    status: int | None  # None when no HTTP answer was sent (reset, refuse, hang)
    fault: str | None
    time: float


class RequestLog:
    """Thread-safe log of the requests a server received (the oldest dropped past `maxlen`)."""

    def __init__(self, maxlen: int | None = None) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)

    def record(self, method: str, path: str, status: int | None, fault: str | None) -> None:
        entry = RequestRecord(method, path, status, fault, time.time())
        with self._lock:
            self._records.append(entry)

    def records(self) -> list[RequestRecord]:
        """A snapshot of every record, oldest first."""
        with self._lock:
            return list(self._records)

    def counter(self, method: str | None = None) -> Counter[tuple[str, str]]:
        """How many times each (method, path) was requested."""
        return Counter(
            (r.method, r.path) for r in self.records() if method is None or r.method == method
        )

    def count(self, path: str, method: str | None = None) -> int:
        """How many times `path` (decoded, with `?query` if any) was requested."""
        bare, mark, query = path.partition("?")
        path = unquote(bare) + mark + query
        return sum(
            1 for r in self.records() if r.path == path and (method is None or r.method == method)
        )

    def paths(self, method: str | None = None) -> set[str]:
        return {r.path for r in self.records() if method is None or r.method == method}

    def faults(self) -> list[RequestRecord]:
        return [r for r in self.records() if r.fault]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
