"""``ExpiringCache``: reuse a credential until shortly before it expires, fetch it once.

Tokens are cheap to use and expensive to get (a round trip, sometimes a managed-identity
endpoint and a token exchange). So every cached credential is:

- **reused** until ``skew`` seconds before it expires (half its lifetime for short ones), so
  a request never leaves with a token that dies on the way;
- **fetched once**: concurrent callers that miss on the same key wait for one fetch, run as
  its own task (a caller that is cancelled does not cancel it for the others);
- **bounded**: least recently used keys are evicted beyond ``max_entries``, so per-scope
  keys cannot accumulate without limit.

Bound to the event loop that uses it (asyncio only).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

__all__ = ["ExpiringCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    refresh_at: float


class ExpiringCache(Generic[K, V]):
    """A small LRU map of expiring values with single-flight fetching."""

    def __init__(
        self,
        *,
        max_entries: int = 256,
        skew: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.skew = skew
        self._clock = clock
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._inflight: dict[K, asyncio.Task[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The cached value if it is still fresh, else None (and the stale entry is gone)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.refresh_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put(self, key: K, value: V, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds minus the skew. Nothing is kept if ``ttl`` <= 0."""
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        margin = min(self.skew, ttl / 2)
        self._entries[key] = _Entry(value, self._clock() + ttl - margin)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: K, value: V | None = None) -> None:
        """Forget ``key``; with ``value``, only if that is still what is cached (so a caller
        holding a rejected token does not throw away the fresh one another caller fetched)."""
        entry = self._entries.get(key)
        if entry is not None and (value is None or entry.value == value):
            del self._entries[key]

    async def get_or_fetch(self, key: K, fetch: Callable[[], Awaitable[tuple[V, float]]]) -> V:
        """The fresh cached value, or the result of ``fetch()`` (value, ttl seconds), fetched
        once for all concurrent callers. A failed fetch fails every waiter and is not cached."""
        value = self.get(key)
        if value is not None:
            return value
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fill(key, fetch))
            self._inflight[key] = task
            task.add_done_callback(partial(self._settled, key))
        return await asyncio.shield(task)

    async def _fill(self, key: K, fetch: Callable[[], Awaitable[tuple[V, float]]]) -> V:
        value, ttl = await fetch()
        self.put(key, value, ttl)
        return value

    def _settled(self, key: K, task: asyncio.Task[V]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" if all waiters left
