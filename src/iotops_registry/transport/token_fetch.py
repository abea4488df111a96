"""Get a bearer token from a registry's token service (distribution's token spec, ACR).

- ``identity_token`` set → OAuth2: ``POST realm`` form ``grant_type=refresh_token``,
  ``service``, ``scope`` (space-separated), ``refresh_token``, ``client_id``;
- otherwise → ``GET realm?service=..&scope=..&scope=..``, with Basic if there is a
  username and password, anonymous if not;
- ``registry_token`` set → no request: that token is the bearer.

The answer may name the token ``token`` or ``access_token``; its lifetime is the smaller of
``expires_in`` and the JWT's ``exp`` when both are known, 60 s when neither is. 429 and
5xx are retried here (honouring ``Retry-After``), so these requests skip the transport's
own retries. Bodies are read with a 64 KiB cap. Nothing here decides whether the realm may
receive the credentials: :class:`~.realm.RealmPolicy` did, before the authenticator ran.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from ..authn import AuthConfig, unverified_expiry
from ..errors import RegistryAuthError, TokenEndpointError
from ..netutil import retry_after
from .backoff import RetryPolicy
from .body import TOKEN_BODY_LIMIT, read_bounded
from .failures import unreachable

__all__ = ["NO_TRANSPORT_RETRY", "fetch_token"]

NO_TRANSPORT_RETRY = "iotops.no_retry"
"""Request extension: this request does its own retries; the retry transport must not."""
CLIENT_ID = "iotops-registry"
DEFAULT_TTL = 60.0  # distribution's token spec: expires_in defaults to 60 s
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _token_request(
    http: httpx.AsyncClient,
    realm: httpx.URL,
    service: str | None,
    scopes: Sequence[str],
    config: AuthConfig,
) -> httpx.Request:
    extensions = {NO_TRANSPORT_RETRY: True}
    headers = {"Accept": "application/json"}
    if config.identity_token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": config.identity_token,
            "client_id": CLIENT_ID,
        }
        if service:
            form["service"] = service
        if scopes:
            form["scope"] = " ".join(scopes)
        return http.build_request("POST", realm, data=form, headers=headers, extensions=extensions)
    params: list[tuple[str, str | int | float | bool | None]] = (
        [("service", service)] if service else []
    )
    params += [("scope", scope) for scope in scopes]
    if config.username and config.password:
        pair = f"{config.username}:{config.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return http.build_request(
        "GET",
        realm.copy_merge_params(httpx.QueryParams(params)),
        headers=headers,
        extensions=extensions,
    )


def _parse(body: bytes, host: str, now: float) -> tuple[str, float]:
    try:
        doc: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise TokenEndpointError(f"The token service at {host} did not answer a JSON object.")
    token = doc.get("token") or doc.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenEndpointError(f"The token service at {host} answered no token.")
    lifetimes: list[float] = []
    expires_in = doc.get("expires_in")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        lifetimes.append(float(expires_in))
    exp = unverified_expiry(token)
    if exp is not None:
        lifetimes.append(exp - now)
    return token, min(lifetimes) if lifetimes else DEFAULT_TTL


async def fetch_token(
    http: httpx.AsyncClient,
    realm: httpx.URL,
    service: str | None,
    scopes: Sequence[str],
    config: AuthConfig,
    *,
    policy: RetryPolicy,
    wall: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[str, float]:
    """(token, lifetime in seconds) for ``scopes``, from the token service at ``realm``."""
    if config.registry_token:
        exp = unverified_expiry(config.registry_token)
        return config.registry_token, (exp - wall()) if exp is not None else DEFAULT_TTL
    host = realm.host
    status = 0
    for attempt in range(max(1, policy.attempts)):
        last = attempt + 1 >= max(1, policy.attempts)
        request = _token_request(http, realm, service, scopes, config)
        try:
            response = await http.send(request, auth=None, stream=True, follow_redirects=False)
            try:
                status = response.status_code
                hint = retry_after(response.headers.get("Retry-After"), wall())
                if status == 200:
                    body, truncated = await read_bounded(response, TOKEN_BODY_LIMIT)
                    if truncated:
                        raise TokenEndpointError(
                            f"The token service at {host} answered more than 64 KiB."
                        )
                    return _parse(body, host, wall())
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            if last:
                raise unreachable(exc, f"token service at {host}") from exc
            await sleep(policy.delay(attempt))
            continue
        if status in (401, 403):
            raise RegistryAuthError(
                f"The token service at {host} refused the credentials ({status}).",
                status=status,
                step="token",
            )
        if status not in _RETRY_STATUSES or last:
            break
        await sleep(policy.delay(attempt, hint))
    raise TokenEndpointError(f"The token service at {host} answered {status}.", status=status)
