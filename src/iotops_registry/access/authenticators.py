"""The ONE place that switches over the four authentication methods of a registry endpoint.

Anonymous → ``ANONYMOUS``; ArtifactPullSecret → ``StaticBasic`` over the synced secret's
username and password (read from the vault); System/UserAssignedManagedIdentity →
``ManagedIdentityAuthenticator`` over an azure-identity ``ManagedIdentityCredential``
(system-assigned, or with the endpoint's client id), exchanged at the registry's
``/oauth2/exchange`` for ACR refresh tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from azure.core.credentials import TokenCredential

from ..authn import ANONYMOUS, Authenticator, StaticBasic
from ..authn.azure import ARM_SCOPE, ManagedIdentityAuthenticator
from ..domain import RegistryEndpointKey
from ..errors import ConfigurationError, ValidationError
from ..services import PullSecretResolver

__all__ = ["CredentialPlan", "IdentityFactory", "plan_for", "scope_for"]

# client id (None: system-assigned) -> a TokenCredential for that managed identity
IdentityFactory = Callable[[str | None], TokenCredential]


def scope_for(audience_or_scope: str | None) -> str:
    """``https://x/`` or ``https://x/.default`` -> ``https://x/.default``; default ARM."""
    if not audience_or_scope:
        return ARM_SCOPE
    if audience_or_scope.endswith("/.default"):
        return audience_or_scope
    return audience_or_scope.rstrip("/") + "/.default"


@dataclass(frozen=True)
class CredentialPlan:
    """What an endpoint authenticates with, before anything is fetched."""

    method: str
    client_id: str | None = None  # managed identities; None = system-assigned
    tenant_id: str | None = None
    scope: str | None = None  # Entra scope for managed identities
    secret_ref: str | None = None  # artifact pull secrets

    @property
    def is_identity(self) -> bool:
        return self.method.endswith("ManagedIdentity")


def plan_for(document: dict[str, Any], default_tenant: str) -> CredentialPlan:
    auth = document["properties"]["authentication"]
    method = auth["method"]
    if method == "Anonymous":
        return CredentialPlan(method)
    if method == "ArtifactPullSecret":
        return CredentialPlan(method, secret_ref=auth["artifactPullSecretSettings"]["secretRef"])
    if method == "SystemAssignedManagedIdentity":
        settings = auth.get("systemAssignedManagedIdentitySettings") or {}
        return CredentialPlan(
            method, tenant_id=default_tenant, scope=scope_for(settings.get("audience"))
        )
    if method == "UserAssignedManagedIdentity":
        settings = auth["userAssignedManagedIdentitySettings"]
        return CredentialPlan(
            method,
            client_id=settings["clientId"],
            tenant_id=settings["tenantId"],
            scope=scope_for(settings.get("scope")),
        )
    raise ValidationError(
        f"Unknown authentication method {method!r}.", code="InvalidAuthenticationMethod"
    )


class AuthenticatorFactory:
    """Builds (and keeps) the authenticator of each endpoint configuration."""

    def __init__(
        self,
        resolver: PullSecretResolver | None,
        identities: IdentityFactory,
        exchange_http: httpx.AsyncClient,
    ) -> None:
        self._resolver = resolver
        self._identities = identities
        self._http = exchange_http
        self._credentials: dict[str | None, TokenCredential] = {}

    def credential(self, client_id: str | None) -> TokenCredential:
        if client_id not in self._credentials:
            self._credentials[client_id] = self._identities(client_id)
        return self._credentials[client_id]

    async def build(
        self, key: RegistryEndpointKey, plan: CredentialPlan, *, fresh: bool = False
    ) -> Authenticator:
        if plan.method == "Anonymous":
            return ANONYMOUS
        if plan.method == "ArtifactPullSecret":
            if self._resolver is None:
                raise ConfigurationError("no vault is configured for artifact pull secrets")
            resolver = self._resolver
            resolved = await asyncio.to_thread(lambda: resolver.resolve(key, fresh=fresh))
            return StaticBasic(resolved.credential)
        return ManagedIdentityAuthenticator(
            self.credential(plan.client_id),
            plan.scope or ARM_SCOPE,
            tenant_id=plan.tenant_id,
            http=self._http,
            cache_key=f"mi:{plan.client_id or 'system'}:{plan.scope}:{plan.tenant_id}",
        )
