"""The registry token cache: one bearer token per (registry, credential, scope set).

A thin naming layer over :class:`~iotops_registry.authn.ExpiringCache`: the key is
``(registry, authenticator.cache_key, merged sorted scopes)``, so clients for the same
registry and credential can share one cache (pass it to each ``RegistryClient``), while
different credentials never see each other's tokens. Bounded (LRU, 256 keys by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..authn import ExpiringCache
from .scopes import merge_scopes

__all__ = ["TokenCache", "TokenKey"]

TokenKey = tuple[str, str, tuple[str, ...]]


class TokenCache(ExpiringCache[TokenKey, str]):
    """Bearer tokens, refreshed ``skew`` seconds before they expire, fetched once per key."""

    def __init__(
        self,
        *,
        max_entries: int = 256,
        skew: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_entries=max_entries, skew=skew, clock=clock)

    @staticmethod
    def key(registry: str, cache_key: str, scopes: Iterable[str]) -> TokenKey:
        return (registry.lower(), cache_key, merge_scopes(scopes))
