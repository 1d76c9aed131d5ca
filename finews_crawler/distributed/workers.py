"""The workers of a shared run in Redis: join, push, pop, heartbeat, leave; one Lua script each.

The run's `workers` hash maps a worker id to `<state> <milliseconds>`, stamped with the Redis
server's clock (workers on several machines need no common clock). States: `busy` (may still
push requests), `holding` (idle, but holds requests back until the rest of the crawl is idle) and
`idle`. Every operation that changes a state together with what it depends on is one script, so it
is atomic: popping a request marks its worker busy in the same step, and a heartbeat writes the
worker's state and reads the queue length and the other workers' states in one step.
docs/distributed.md explains the protocol built on it.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis

    from finews_crawler.distributed.keys import RunKeys

logger = logging.getLogger(__name__)

BUSY = "busy"
HOLDING = "holding"
IDLE = "idle"
STATES = (BUSY, HOLDING, IDLE)

_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function stamp(state, now)
  return state .. ' ' .. string.format('%d', now)
end
-- Live other workers (flat id, state list) and the stale ones, which are removed.
local function sweep(workers, me, now, timeout)
  local others, stale = {}, {}
  local all = redis.call('HGETALL', workers)
  for i = 1, #all, 2 do
    local id, value = all[i], all[i + 1]
    if id ~= me then
      local state, ts = string.match(value, '^(%S+) (%d+)$')
      if state == nil or now - tonumber(ts) > timeout then
        redis.call('HDEL', workers, id)
        stale[#stale + 1] = id
      else
        others[#others + 1] = id
        others[#others + 1] = state
      end
    end
  end
  return others, stale
end
"""

# KEYS: requests, dupefilter, workers, done. ARGV: worker, key ttl.
# 0 when the run already finished (its done marker is set), else 1.
_JOIN = (
    _PRELUDE
    + """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], stamp('busy', now_ms()))
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return 1
"""
)

# KEYS: requests, workers. ARGV: worker. The request with the lowest score (highest priority).
_POP = (
    _PRELUDE
    + """
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then return false end
redis.call('HSET', KEYS[2], ARGV[1], stamp('busy', now_ms()))
return popped[1]
"""
)

# KEYS: requests, dupefilter, workers. ARGV: worker, state, key ttl, worker timeout (ms).
# {queued, {id, state, ...} of live others, {stale ids}}
_BEAT = (
    _PRELUDE
    + """
local now = now_ms()
redis.call('HSET', KEYS[3], ARGV[1], stamp(ARGV[2], now))
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
local others, stale = sweep(KEYS[3], ARGV[1], now, tonumber(ARGV[4]))
return {redis.call('ZCARD', KEYS[1]), others, stale}
"""
)

# KEYS: requests, dupefilter, workers, done. ARGV: worker, worker timeout (ms), done ttl.
# {outcome, queued, {stale ids}}: outcome 0 = others remain, 1 = last out of an unfinished run
# (queue and dupefilter kept), 2 = last out of a finished run (keys deleted, done marker set).
_LEAVE = (
    _PRELUDE
    + """
redis.call('HDEL', KEYS[3], ARGV[1])
local others, stale = sweep(KEYS[3], ARGV[1], now_ms(), tonumber(ARGV[2]))
local queued = redis.call('ZCARD', KEYS[1])
if #others > 0 then return {0, queued, stale} end
if queued > 0 then return {1, queued, stale} end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[4], 'done', 'EX', ARGV[3]) end
return {2, 0, stale}
"""
)


def new_worker_id() -> str:
    """`host:pid:random`: unique per process, readable in the `workers` hash."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Snapshot:
    """The run as one heartbeat saw it."""

    queued: int
    #: Live other workers and their states.
    others: dict[str, str] = field(default_factory=dict)
    #: Workers this heartbeat found dead and removed.
    stale: tuple[str, ...] = ()

    @property
    def others_busy(self) -> bool:
        """Another worker may still push requests."""
        return any(state == BUSY for state in self.others.values())

    @property
    def others_active(self) -> bool:
        """Another worker is busy or holds requests back: not the time to close."""
        return any(state in (BUSY, HOLDING) for state in self.others.values())

    @property
    def run_idle(self) -> bool:
        """Nothing queued and no other worker active."""
        return not self.queued and not self.others_active


@dataclass(frozen=True)
class Departure:
    """What leaving the run did."""

    #: No other live worker was left in the run.
    last_out: bool
    #: The run's keys were deleted (the last worker left a finished run).
    removed: bool
    #: Requests still queued when the worker left.
    queued: int
    stale: tuple[str, ...] = ()


class WorkerRegistry:
    """One worker's view of a run's `workers` hash and request queue (see module docstring)."""

    def __init__(
        self,
        server: Redis,
        keys: RunKeys,
        worker_id: str,
        *,
        key_ttl: int,
        worker_timeout: float,
        done_ttl: int,
    ) -> None:
        self.server = server
        self.keys = keys
        self.worker_id = worker_id
        self.key_ttl = max(1, int(key_ttl))
        self.worker_timeout_ms = max(1, int(worker_timeout * 1000))
        self.done_ttl = max(0, int(done_ttl))
        self._join = server.register_script(_JOIN)
        self._pop = server.register_script(_POP)
        self._beat = server.register_script(_BEAT)
        self._leave = server.register_script(_LEAVE)

    def join(self) -> bool:
        """Enter the run as busy; False (and nothing written) when the run already finished."""
        keys = self.keys
        args = [self.worker_id, self.key_ttl]
        return bool(self._join(keys=list(keys.all()), args=args))

    def push(self, data: bytes, score: float) -> None:
        """Queue an encoded request (lowest score first) and refresh the run's TTL."""
        pipe = self.server.pipeline(transaction=False)
        pipe.execute_command("ZADD", self.keys.requests, score, data)
        pipe.expire(self.keys.requests, self.key_ttl)
        pipe.expire(self.keys.dupefilter, self.key_ttl)
        pipe.execute()

    def pop(self) -> bytes | None:
        """Take the next request and mark this worker busy, atomically; None when empty."""
        data = self._pop(keys=[self.keys.requests, self.keys.workers], args=[self.worker_id])
        return data or None

    def beat(self, state: str) -> Snapshot:
        """Write this worker's state (and refresh the TTL); read the queue and the others."""
        if state not in STATES:
            raise ValueError(f"unknown worker state {state!r}")
        keys = self.keys
        queued, others, stale = self._beat(
            keys=[keys.requests, keys.dupefilter, keys.workers],
            args=[self.worker_id, state, self.key_ttl, self.worker_timeout_ms],
        )
        pairs = [_text(value) for value in others]
        return Snapshot(
            queued=int(queued),
            others=dict(zip(pairs[::2], pairs[1::2], strict=True)),
            stale=tuple(_text(worker) for worker in stale),
        )

    def leave(self) -> Departure:
        """Leave the run; the last worker out of a finished run deletes its keys."""
        outcome, queued, stale = self._leave(
            keys=list(self.keys.all()),
            args=[self.worker_id, self.worker_timeout_ms, self.done_ttl],
        )
        return Departure(
            last_out=int(outcome) > 0,
            removed=int(outcome) == 2,
            queued=int(queued),
            stale=tuple(_text(worker) for worker in stale),
        )

    def queued(self) -> int:
        return int(self.server.zcard(self.keys.requests))
