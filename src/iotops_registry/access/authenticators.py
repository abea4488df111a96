"""Authenticators for endpoints: the one place that builds an ``authn.Authenticator`` from an
endpoint's credential plan. It switches over the three credential kinds of
``domain.auth_methods`` (none, managed identity, pull secret), never over method names:

- none → ``ANONYMOUS``;
- pull secret → ``StaticBasic`` over the synced secret's username and password, read from
  the vault by ``services.PullSecretResolver``;
- managed identity → ``ManagedIdentityAuthenticator`` over an azure-identity
  ``ManagedIdentityCredential`` (system-assigned, or with the endpoint's client id),
  exchanged at the registry's ``/oauth2/exchange`` for ACR refresh tokens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from azure.core.credentials import TokenCredential

from ..authn import ANONYMOUS, Authenticator, StaticBasic
from ..authn.azure import ARM_SCOPE, ManagedIdentityAuthenticator
from ..domain.auth_methods import MANAGED_IDENTITY, NO_CREDENTIAL, PULL_SECRET, CredentialPlan
from ..errors import ConfigurationError
from ..services import EndpointTarget, PullSecretResolver

__all__ = ["AuthenticatorFactory", "IdentityFactory"]

# client id (None: system-assigned) -> a TokenCredential for that managed identity
IdentityFactory = Callable[[str | None], TokenCredential]


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

    async def build(self, target: EndpointTarget, *, fresh: bool = False) -> Authenticator:
        plan: CredentialPlan = target.plan
        if plan.kind == NO_CREDENTIAL:
            return ANONYMOUS
        if plan.kind == PULL_SECRET:
            if self._resolver is None:
                raise ConfigurationError("no vault is configured for artifact pull secrets")
            resolver = self._resolver
            resolved = await asyncio.to_thread(lambda: resolver.resolve(target, fresh=fresh))
            return StaticBasic(resolved.credential)
        assert plan.kind == MANAGED_IDENTITY
        return ManagedIdentityAuthenticator(
            self.credential(plan.client_id),
            plan.scope or ARM_SCOPE,
            tenant_id=plan.tenant_id,
            http=self._http,
            cache_key=f"mi:{plan.client_id or 'system'}:{plan.scope}:{plan.tenant_id}",
        )
