"""The hook through which the development tooling counts requests and injects faults.

The identity endpoint only knows this protocol; ``devregistry`` implements it, so the
identity package stays usable (and importable) without the development registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["InjectedFault", "RequestGate"]


@dataclass(frozen=True)
class InjectedFault:
    """An answer to give instead of the real one: a status and an optional Retry-After, or
    (``after_bytes``, the registry front's uploads) a connection dropped after that many
    bytes of the request body."""

    status: int
    retry_after: int | None = None
    after_bytes: int | None = None


class RequestGate(Protocol):
    def hit(self, target: str, key: str) -> InjectedFault | None:
        """Count one request to ``target`` (for ``key``); a fault to answer with, if any."""
        ...
