"""Registry clients for endpoints: TLS trust, plain-HTTP rule, authenticator, shared tokens.

One long-lived :class:`RegistryClient` per endpoint configuration, so the ping result, the
bearer tokens and the managed-identity refresh tokens are reused by every pull. A rotated
artifact pull secret (seen through the resolver's TTL cache) gets a new client.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass, field

from ..authn import Authenticator
from ..domain.connection import ConnectionSettings
from ..netutil import is_loopback
from ..remote import RegistryClient
from ..services import EndpointTarget
from ..transport import TokenCache
from .authenticators import AuthenticatorFactory

__all__ = ["RegistryAccess"]


@dataclass
class _Entry:
    fingerprint: str
    client: RegistryClient
    authenticator_key: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RegistryAccess:
    def __init__(
        self,
        factory: AuthenticatorFactory,
        *,
        extra_ca_file: str | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.factory = factory
        self._extra_ca = extra_ca_file
        self._tokens = token_cache or TokenCache()
        self._clients: dict[str, _Entry] = {}

    def ssl_context(self, settings: ConnectionSettings) -> ssl.SSLContext:
        """System roots, the project's own CA, and the endpoint's CA bundle. Verification is
        never turned off."""
        context = ssl.create_default_context()
        if self._extra_ca:
            context.load_verify_locations(cafile=self._extra_ca)
        if settings.ca_bundle:
            context.load_verify_locations(cadata=settings.ca_bundle)
        return context

    def plain_http(self, target: EndpointTarget) -> bool:
        return target.settings.plain_http and is_loopback(target.registry)

    def new_client(
        self, target: EndpointTarget, authenticator: Authenticator, *, fresh: bool = False
    ) -> RegistryClient:
        """A client; ``fresh`` gives it its own token cache (the connection test must see
        revoked permissions at once)."""
        return RegistryClient(
            target.registry,
            authenticator=authenticator,
            verify=self.ssl_context(target.settings),
            plain_http=self.plain_http(target),
            allowed_realm_hosts=target.settings.allowed_realm_hosts,
            token_cache=TokenCache() if fresh else self._tokens,
        )

    async def client(self, target: EndpointTarget) -> RegistryClient:
        """The shared client of an endpoint (do not close it)."""
        key = target.key
        fingerprint = json.dumps(
            [target.document["properties"], target.settings.to_dict()], sort_keys=True
        )
        entry = self._clients.get(key.id)
        if entry is None or entry.fingerprint != fingerprint:
            authenticator = await self.factory.build(target)
            entry = _Entry(
                fingerprint, self.new_client(target, authenticator), authenticator.cache_key
            )
            old = self._clients.pop(key.id, None)
            self._clients[key.id] = entry
            if old is not None:
                await old.client.aclose()
        elif target.method.rotates:
            # A rotated secret shows up through the resolver's TTL cache: new credentials.
            authenticator = await self.factory.build(target)
            if authenticator.cache_key != entry.authenticator_key:
                fresh = _Entry(
                    fingerprint, self.new_client(target, authenticator), authenticator.cache_key
                )
                self._clients[key.id] = fresh
                await entry.client.aclose()
                entry = fresh
        return entry.client

    async def aclose(self) -> None:
        for entry in self._clients.values():
            await entry.client.aclose()
        self._clients.clear()
