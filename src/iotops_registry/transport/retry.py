"""``RetryTransport``: try again after transient failures, but only when that is safe.

The rule, by method:

- **GET, HEAD, OPTIONS, PUT, DELETE** are retried after 429, 502, 503, 504 and after
  transport errors (no response). PUT is safe here because distribution's PUTs are
  idempotent by content: a manifest PUT stores the same bytes under the same digest, and
  finishing an upload with ``?digest=`` either completes it or names a session that is gone;
- **POST** (starting an upload session, a mount) is retried only after a transport error,
  when no response arrived. At worst that opens a second session; the registry discards
  unused ones. A status answer to a POST is never retried;
- **PATCH** (an upload chunk) is never retried here: the server may have stored part of
  it. ``remote`` asks for the session's offset and resumes instead;
- a request whose body cannot be replayed, or that carries the ``iotops.no_retry``
  extension (token requests, which retry by themselves), is sent once.

Waits follow :class:`~.backoff.RetryPolicy`: ``Retry-After`` (seconds or HTTP date,
capped), else exponential backoff with jitter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from ..netutil import retry_after
from .backoff import RetryPolicy
from .body import FileBody
from .token_fetch import NO_TRANSPORT_RETRY

__all__ = ["RetryTransport"]

_ON_STATUS_AND_ERROR = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_ON_ERROR_ONLY = frozenset({"POST"})


class RetryTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._wall = wall

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.method.upper()
        on_error = (
            method in _ON_STATUS_AND_ERROR or method in _ON_ERROR_ONLY
        ) and self._replayable(request)
        on_status = on_error and method in _ON_STATUS_AND_ERROR
        attempts = max(1, self.policy.attempts) if on_error else 1
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError:
                if last:
                    raise
                await self._sleep(self.policy.delay(attempt))
                continue
            if last or not on_status or response.status_code not in self.policy.statuses:
                return response
            hint = retry_after(response.headers.get("Retry-After"), self._wall())
            await response.aclose()
            await self._sleep(self.policy.delay(attempt, hint))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _replayable(request: httpx.Request) -> bool:
        if request.extensions.get(NO_TRANSPORT_RETRY):
            return False
        return isinstance(request.stream, httpx.ByteStream | FileBody)

    async def aclose(self) -> None:
        await self.inner.aclose()
