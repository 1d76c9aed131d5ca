"""Faults on demand: which requests of the local site fail, and how (issue 5).

A `FaultPlan` makes a deterministic share of paths fail the way real hosts do: 500, 502, 503,
429 with Retry-After, a connection reset, a body cut short, a very slow answer, a redirect to
itself and a redirect to another host. Faults are chosen per (path, attempt) from a seed: a chosen
path fails its first `max_failures_per_path` attempts and then succeeds, so retries or a second
run always get every page. `localsite.server` counts the attempts and carries the faults out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

#: Upper bound for every deliberate delay (slow answers, hung share pages).
MAX_DELAY_SECONDS = 60.0


class FaultKind(StrEnum):
    """The ways a request can fail (`FaultPlan.kinds`)."""

    HTTP_500 = "500"
    HTTP_502 = "502"
    HTTP_503 = "503"
    HTTP_429 = "429"  # with Retry-After
    RESET = "reset"  # TCP RST, no answer
    TRUNCATE = "truncate"  # Content-Length larger than the body sent, then close
    SLOW = "slow"  # the right answer, after `slow_seconds`
    REDIRECT_LOOP = "redirect_loop"  # 302 to the same URL
    REDIRECT_OFFSITE = "redirect_offsite"  # 302 to another host


ALL_FAULTS: tuple[FaultKind, ...] = tuple(FaultKind)


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail, and how: deterministic for a seed.

    A path (with its query) is faulty with probability `ratio`; a faulty path fails its first
    `max_failures_per_path` attempts (each with a kind drawn per attempt from `kinds`) and is
    served normally from then on. A redirect to itself counts one attempt per hop, so a loop
    lasts as long as the path's failures do. Paths in `exempt` never fail. `kinds` may be given
    as strings ("500", "reset", ...); `offsite_origin` is where REDIRECT_OFFSITE points.
    """

    ratio: float = 0.2
    seed: int = 0
    kinds: tuple[FaultKind, ...] = ALL_FAULTS
    max_failures_per_path: int = 1
    slow_seconds: float = 3.0
    retry_after: int = 1
    offsite_origin: str = "http://example.invalid"
    exempt: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 0.0 <= self.ratio <= 1.0:
            raise ValueError(f"ratio must be within [0, 1], not {self.ratio}")
        kinds = tuple(FaultKind(kind) for kind in self.kinds)
        if not kinds:
            raise ValueError("kinds must name at least one fault")
        if self.max_failures_per_path < 1:
            raise ValueError("max_failures_per_path must be at least 1")
        if not 0.0 <= self.slow_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"slow_seconds must be within [0, {MAX_DELAY_SECONDS}]")
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "exempt", frozenset(self.exempt))

    def _unit(self, *parts: object) -> float:
        text = "\x00".join(str(part) for part in (self.seed, *parts))
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2.0**64

    def is_faulty(self, path: str) -> bool:
        """Whether `path` (decoded path plus `?query`) fails at all under this plan."""
        return path not in self.exempt and self._unit("path", path) < self.ratio

    def fault_for(self, path: str, attempt: int) -> FaultKind | None:
        """The fault for the `attempt`-th request (1-based) of `path`, or None to serve it."""
        if attempt > self.max_failures_per_path or not self.is_faulty(path):
            return None
        index = int(self._unit("kind", path, attempt) * len(self.kinds))
        return self.kinds[min(index, len(self.kinds) - 1)]


def parse_kinds(text: str) -> tuple[FaultKind, ...]:
    """`"500,reset,slow"` -> fault kinds; `"all"` or empty -> every kind."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names or names == ["all"]:
        return ALL_FAULTS
    return tuple(FaultKind(name) for name in names)
