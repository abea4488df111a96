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
from typing import Any

from ..domain import RegistryEndpointKey
from ..errors import NotFoundError
from ..netutil import is_loopback
from ..remote import RegistryClient
from ..store import Store
from ..transport import TokenCache
from .authenticators import AuthenticatorFactory, CredentialPlan, plan_for

__all__ = ["ConnectionSettings", "EndpointTarget", "RegistryAccess"]


@dataclass(frozen=True)
class ConnectionSettings:
    """Our extension, stored beside an endpoint: how to reach its registry."""

    ca_bundle: str | None = None  # PEM: a private registry's CA
    plain_http: bool = False  # loopback registries only
    allowed_realm_hosts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: str | None) -> ConnectionSettings:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            data.get("caBundle"),
            bool(data.get("plainHttp")),
            tuple(data.get("allowedRealmHosts") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "caBundle": self.ca_bundle,
            "plainHttp": self.plain_http,
            "allowedRealmHosts": list(self.allowed_realm_hosts),
        }


@dataclass(frozen=True)
class EndpointTarget:
    """An endpoint, read from the store, ready to be tested or pulled through."""

    key: RegistryEndpointKey
    document: dict[str, Any]
    settings: ConnectionSettings
    plan: CredentialPlan

    @property
    def host(self) -> str:
        return str(self.document["properties"]["host"])

    @property
    def registry(self) -> str:
        return self.host.split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The repository path prefix in the host (``ghcr.io/org`` -> ``org``)."""
        return self.host.partition("/")[2]


@dataclass
class _Entry:
    fingerprint: str
    client: RegistryClient
    authenticator_key: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RegistryAccess:
    def __init__(
        self,
        store: Store,
        factory: AuthenticatorFactory,
        *,
        default_tenant: str,
        extra_ca_file: str | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self._store = store
        self.factory = factory
        self._tenant = default_tenant
        self._extra_ca = extra_ca_file
        self._tokens = token_cache or TokenCache()
        self._clients: dict[str, _Entry] = {}

    def target(self, key: RegistryEndpointKey) -> EndpointTarget:
        p = key.parent
        with self._store.read() as r:
            state = r.endpoint_state(p.sub_key, p.rg_key, p.instance, key.name)
        if state is None:
            raise NotFoundError(
                f"The registry endpoint '{key.name}' was not found.", code="ResourceNotFound"
            )
        document = json.loads(state.document)
        settings = ConnectionSettings.parse(state.connection_settings)
        return EndpointTarget(key, document, settings, plan_for(document, self._tenant))

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
        self, target: EndpointTarget, authenticator: Any, *, fresh: bool = False
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

    async def client(self, key: RegistryEndpointKey) -> tuple[RegistryClient, EndpointTarget]:
        """The shared client of an endpoint (do not close it)."""
        target = await asyncio.to_thread(self.target, key)
        fingerprint = json.dumps(
            [target.document["properties"], target.settings.to_dict()], sort_keys=True
        )
        entry = self._clients.get(key.id)
        if entry is None or entry.fingerprint != fingerprint:
            authenticator = await self.factory.build(key, target.plan)
            entry = _Entry(
                fingerprint, self.new_client(target, authenticator), authenticator.cache_key
            )
            old = self._clients.pop(key.id, None)
            self._clients[key.id] = entry
            if old is not None:
                await old.client.aclose()
        elif target.plan.method == "ArtifactPullSecret":
            # A rotated secret shows up through the resolver's TTL cache: new credentials.
            authenticator = await self.factory.build(key, target.plan)
            if authenticator.cache_key != entry.authenticator_key:
                fresh = _Entry(
                    fingerprint, self.new_client(target, authenticator), authenticator.cache_key
                )
                self._clients[key.id] = fresh
                await entry.client.aclose()
                entry = fresh
        return entry.client, target

    async def aclose(self) -> None:
        for entry in self._clients.values():
            await entry.client.aclose()
        self._clients.clear()
