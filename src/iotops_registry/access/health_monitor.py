"""Keeps every endpoint's ``healthState`` current: a test after each create or update, a
sweep on an interval, and on demand. PUT never waits for it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..domain import RegistryEndpointKey
from ..errors import NotFoundError
from ..services import (
    CodeSigningCaService,
    EndpointTarget,
    HealthService,
    RegistryEndpointService,
)
from .connection_test import run_connection_test
from .registry_access import RegistryAccess

__all__ = ["HealthMonitor"]

log = logging.getLogger("iotops_registry.health")


class HealthMonitor:
    def __init__(
        self,
        endpoints: RegistryEndpointService,
        access: RegistryAccess,
        health: HealthService,
        *,
        interval: float = 300.0,
        concurrency: int = 4,
        code_signing: CodeSigningCaService | None = None,
    ) -> None:
        self._code_signing = code_signing
        self._endpoints = endpoints
        self._access = access
        self._health = health
        self._interval = interval
        self._queue: asyncio.Queue[RegistryEndpointKey] = asyncio.Queue()
        self._pending: set[str] = set()
        self._concurrency = concurrency
        self._tasks: list[asyncio.Task[None]] = []

    async def test(
        self, target: EndpointTarget, repository: str | None = None
    ) -> dict[str, Any]:
        """Run the connection test now and keep its verdict as the endpoint's health."""
        cas = None
        if self._code_signing is not None and target.ca_sources:
            cas = await asyncio.to_thread(self._code_signing.resolve, target.ca_sources)
        report = await run_connection_test(self._access, target, repository, cas)
        await asyncio.to_thread(self._health.record, target.key, report)
        return report

    def schedule(self, key: RegistryEndpointKey) -> None:
        """Test soon, in the background (coalesced per endpoint)."""
        if key.id in self._pending:
            return
        self._pending.add(key.id)
        self._queue.put_nowait(key)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        if self._interval > 0:
            self._tasks.append(asyncio.create_task(self._sweep()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key.id)
            try:
                await self.test(await asyncio.to_thread(self._endpoints.target, key))
            except NotFoundError:
                pass  # deleted meanwhile
            except Exception:  # keep the monitor alive; the next sweep retries
                log.exception("health check of %s failed", key.id)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                keys = await asyncio.to_thread(self._endpoints.all_keys)
            except Exception:
                log.exception("health sweep could not list endpoints")
                continue
            for key in keys:
                self.schedule(key)
