"""Entra ID → ACR: exchange an Azure identity for a registry refresh token.

The only module that imports ``azure.*``. Flow (Azure/acr ``docs/AAD-OAuth.md``):

1. get an Entra access token for ``scope`` (ARM, or the ACR audience) from any azure-core
   ``TokenCredential`` — a managed identity on a cluster, a workload identity, a service
   principal. The credential is synchronous, so it runs in a worker thread;
2. ``POST https://<realm host>/oauth2/exchange`` (form: ``grant_type=access_token``,
   ``service``, ``tenant``, ``access_token``) → ``{"refresh_token": ...}``;
3. hand the transport ``AuthConfig(username=00000000-..., identity_token=<refresh>)``; it does
   the OAuth2 ``refresh_token`` grant for each scope set.

Both tokens are reused until shortly before they expire, and fetched once however many
callers wait. This module does not decide whether the realm may receive an Entra token:
the transport calls :meth:`authorization` only for realms it trusts with credentials.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError

from ..errors import RegistryAuthError, RegistryUnreachable, TokenEndpointError
from ..netutil import (
    format_host_port,
    is_loopback,
    read_bounded,
    retry_after,
    split_host_port,
)
from .challenge import Challenge
from .claims import unverified_expiry
from .config import AuthConfig
from .reuse import ExpiringCache

__all__ = ["ACR_SCOPE", "ACR_USERNAME", "ARM_SCOPE", "EntraSource", "ManagedIdentityAuthenticator"]

ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
"""The username that goes with an ACR refresh token (``docker login`` convention)."""
ARM_SCOPE = "https://management.azure.com/.default"
ACR_SCOPE = "https://containerregistry.azure.net/.default"

_DEFAULT_REFRESH_TTL = 3 * 3600.0  # ACR documents 3 h when the token carries no exp
_MAX_BODY = 64 * 1024
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ManagedIdentityAuthenticator:
    """An Entra identity, exchanged for ACR refresh tokens (one per realm and service)."""

    def __init__(
        self,
        credential: TokenCredential,
        scope: str = ARM_SCOPE,
        *,
        tenant_id: str | None = None,
        http: httpx.AsyncClient,
        cache_key: str | None = None,
        attempts: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        skew: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._credential = credential
        self._scope = scope
        self._tenant_id = tenant_id
        self._http = http
        self._key = cache_key or (
            f"entra:{type(credential).__name__}:{id(credential):x}:{scope}:{tenant_id or '-'}"
        )
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._max_retry_after = max_retry_after
        self._wall = wall
        self._sleep = sleep
        self._entra: ExpiringCache[str, str] = ExpiringCache(max_entries=4, skew=skew, clock=clock)
        self._refresh: ExpiringCache[tuple[str, str], str] = ExpiringCache(
            max_entries=64, skew=skew, clock=clock
        )

    @property
    def cache_key(self) -> str:
        return self._key

    def __repr__(self) -> str:
        return f"ManagedIdentityAuthenticator(scope={self._scope!r}, key={self._key!r})"

    async def authorization(self, challenge: Challenge) -> AuthConfig:
        if not challenge.is_bearer:
            raise TokenEndpointError(
                "An Entra identity needs a registry with Bearer token authentication; "
                f"this one asked for {challenge.scheme!r}."
            )
        url, host = _exchange_url(challenge.realm)
        service = challenge.service or host
        refresh = await self._refresh.get_or_fetch(
            (url, service), partial(self._exchange, url, host, service)
        )
        return AuthConfig(username=ACR_USERNAME, identity_token=refresh)

    async def _entra_token(self) -> tuple[str, float]:
        kwargs: dict[str, Any] = {"tenant_id": self._tenant_id} if self._tenant_id else {}
        try:
            token = await asyncio.to_thread(self._credential.get_token, self._scope, **kwargs)
        except AzureError as exc:
            first = (str(exc).splitlines() or [""])[0][:200]
            raise TokenEndpointError(
                f"No Entra token for {self._scope} ({type(exc).__name__}: {first})."
            ) from exc
        return token.token, token.expires_on - self._wall()

    async def _exchange(self, url: str, host: str, service: str) -> tuple[str, float]:
        access = await self._entra.get_or_fetch(self._scope, self._entra_token)
        form = {"grant_type": "access_token", "service": service, "access_token": access}
        if self._tenant_id:
            form["tenant"] = self._tenant_id
        body = await self._post(url, host, form)
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            raise TokenEndpointError(f"The token exchange at {host} answered no refresh_token.")
        exp = unverified_expiry(refresh)
        ttl = exp - self._wall() if exp is not None else _DEFAULT_REFRESH_TTL
        return refresh, ttl

    async def _post(self, url: str, host: str, form: dict[str, str]) -> dict[str, Any]:
        status: int | None = None
        for attempt in range(self._attempts):
            last = attempt + 1 == self._attempts
            try:
                async with self._http.stream(
                    "POST", url, data=form, headers={"Accept": "application/json"}
                ) as response:
                    status = response.status_code
                    raw = await _read_body(response, host) if status == 200 else b""
                    hint = retry_after(response.headers.get("Retry-After"), self._wall())
            except httpx.TransportError as exc:
                if last:
                    raise RegistryUnreachable(
                        f"The token exchange at {host} did not answer ({type(exc).__name__}).",
                        kind="timeout" if isinstance(exc, httpx.TimeoutException) else "connect",
                    ) from exc
                await self._sleep(self._delay(attempt, None))
                continue
            if status == 200:
                return _json_object(raw, host)
            if status in (401, 403):
                raise RegistryAuthError(
                    f"The token exchange at {host} refused the Entra token ({status}).",
                    status=status,
                    step="token",
                )
            if status not in _RETRY_STATUSES or last:
                break
            await self._sleep(self._delay(attempt, hint))
        raise TokenEndpointError(f"The token exchange at {host} answered {status}.", status=status)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_retry_after)
        return random.uniform(0.5, 1.0) * self._backoff * (2.0**attempt)


def _exchange_url(realm: str) -> tuple[str, str]:
    """``https://<realm host[:port]>/oauth2/exchange`` (http only for a loopback realm)."""
    parts = urlsplit(realm)
    host = parts.hostname or ""
    if not host:
        raise TokenEndpointError("The registry's challenge has no usable realm URL.")
    scheme = "http" if parts.scheme == "http" and is_loopback(host) else "https"
    return f"{scheme}://{format_host_port(host, parts.port)}/oauth2/exchange", host


async def _read_body(response: httpx.Response, host: str) -> bytes:
    raw, more = await read_bounded(response.aiter_bytes(), _MAX_BODY)
    if more:
        raise TokenEndpointError(f"The token exchange at {host} answered more than 64 KiB.")
    return raw


def _json_object(raw: bytes, host: str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TokenEndpointError(f"The token exchange at {host} did not answer a JSON object.")
    return body



class _DefaultCredential:
    """``DefaultAzureCredential``, made on first use: importing azure-identity costs more
    than a whole small push, and most commands never need it."""

    def __init__(self) -> None:
        self._credential: TokenCredential | None = None

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        return self._credential.get_token(*scopes, **kwargs)


class EntraSource:
    """A credential source for Azure Container Registry (``*.azurecr.io``): the user's Entra
    identity from ``DefaultAzureCredential`` (environment, workload or managed identity,
    Azure CLI login ...), exchanged at the registry's ``/oauth2/exchange`` — what
    ``az acr login`` does. Other registries get no Entra token."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        credential: TokenCredential | None = None,
        suffixes: tuple[str, ...] = (".azurecr.io", ".azurecr.cn", ".azurecr.us"),
        scope: str = ARM_SCOPE,
    ) -> None:
        self._http = http
        self._credential = credential
        self._suffixes = suffixes
        self._scope = scope

    @property
    def name(self) -> str:
        return "Entra ID (DefaultAzureCredential)"

    def lookup(self, registry: str) -> ManagedIdentityAuthenticator | None:
        host = split_host_port(registry)[0].lower()
        if not host.endswith(self._suffixes):
            return None
        credential = self._credential or _DefaultCredential()
        return ManagedIdentityAuthenticator(
            credential, self._scope, http=self._http, cache_key=f"entra-default:{self._scope}"
        )
