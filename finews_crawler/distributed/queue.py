"""The request queue of a shared run: scrapy-redis's priority queue (a sorted set of encoded
requests), pushing and popping through the run's `WorkerRegistry` so that a pop marks its worker
busy in the same atomic step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy_redis.queue import PriorityQueue

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Request, Spider

    from finews_crawler.distributed.workers import WorkerRegistry


class WorkerQueue(PriorityQueue):
    """scrapy-redis's priority queue, pushing and popping through the run's `WorkerRegistry`."""

    def __init__(
        self,
        server: Redis,
        spider: Spider,
        key: str,
        serializer: Any = None,
        *,
        registry: WorkerRegistry,
    ) -> None:
        super().__init__(server, spider, key, serializer)
        self.registry = registry

    def push(self, request: Request) -> None:
        self.registry.push(self._encode_request(request), -request.priority)

    def pop(self, timeout: int = 0) -> Request | None:
        data = self.registry.pop()
        return self._decode_request(data) if data else None
