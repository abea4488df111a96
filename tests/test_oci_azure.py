"""ManagedIdentityAuthenticator: Entra token → ACR refresh token, reused and fetched once."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from iotops_registry.authn import Challenge
from iotops_registry.authn.azure import ACR_USERNAME, ARM_SCOPE, ManagedIdentityAuthenticator
from iotops_registry.errors import RegistryAuthError, RegistryUnreachable, TokenEndpointError
from iotops_registry.oci import Digest
from iotops_registry.remote import RegistryClient

CHALLENGE = Challenge("bearer", "https://myacr.azurecr.io/oauth2/token", "myacr.azurecr.io")


def jwt(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": int(exp)}).encode()).decode()
    return f"e30.{payload.rstrip('=')}.sig"


class FakeCredential:
    """A synchronous azure-core TokenCredential that counts calls and takes its time."""

    def __init__(self, lifetime: float = 3600, error: Exception | None = None) -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.error = error
        self.lock = threading.Lock()
        self.kwargs: list[dict[str, Any]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self.lock:
            self.calls += 1
            self.kwargs.append({"scopes": scopes, **kwargs})
        time.sleep(0.05)
        if self.error is not None:
            raise self.error
        return AccessToken(f"entra-{self.calls}", int(time.time() + self.lifetime))


class Exchange:
    """The ACR ``/oauth2/exchange`` endpoint (and nothing else)."""

    def __init__(self, *statuses: int, retry_after: str | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = list(statuses)
        self.retry_after = retry_after
        self.refresh_exp: float | None = time.time() + 3600

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await asyncio.sleep(0.02)
        if self.statuses:
            status = self.statuses.pop(0)
            if isinstance(status, Exception):
                raise status
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return httpx.Response(status, headers=headers)
        refresh = jwt(self.refresh_exp) if self.refresh_exp else "opaque-refresh"
        return httpx.Response(200, json={"refresh_token": refresh})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def authenticator(
    credential: FakeCredential, exchange: Exchange, **kwargs: Any
) -> tuple[ManagedIdentityAuthenticator, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(exchange))
    auth = ManagedIdentityAuthenticator(
        credential,  # type: ignore[arg-type]
        ARM_SCOPE,
        tenant_id="tenant-1",
        http=http,
        sleep=sleep,
        **kwargs,
    )
    return auth, slept


@pytest.mark.anyio
async def test_100_concurrent_callers_one_get_token_one_exchange() -> None:
    credential, exchange = FakeCredential(), Exchange()
    auth, _ = authenticator(credential, exchange)
    configs = await asyncio.gather(*(auth.authorization(CHALLENGE) for _ in range(100)))
    assert credential.calls == 1 and len(exchange.requests) == 1
    assert {c.username for c in configs} == {ACR_USERNAME}
    assert len({c.identity_token for c in configs}) == 1
    request = exchange.requests[0]
    assert str(request.url) == "https://myacr.azurecr.io/oauth2/exchange"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["access_token"],
        "service": ["myacr.azurecr.io"],
        "tenant": ["tenant-1"],
        "access_token": ["entra-1"],
    }
    assert credential.kwargs[0] == {"scopes": (ARM_SCOPE,), "tenant_id": "tenant-1"}
    token = configs[0].identity_token or ""
    assert "entra-1" not in repr(auth) + auth.cache_key and token not in repr(configs[0])


@pytest.mark.anyio
async def test_refresh_token_reused_until_near_its_exp_entra_token_too() -> None:
    clock = Clock()
    credential, exchange = FakeCredential(lifetime=7200), Exchange()
    auth, _ = authenticator(credential, exchange, clock=clock, skew=300)
    await auth.authorization(CHALLENGE)
    # (margins of a minute: the tokens' exp are wall-clock times, taken a moment earlier)
    clock.now = 3600 - 360
    await auth.authorization(CHALLENGE)
    assert len(exchange.requests) == 1
    clock.now = 3600 - 240  # within the skew (300 s) of the refresh token's exp
    await auth.authorization(CHALLENGE)
    assert len(exchange.requests) == 2 and credential.calls == 1  # Entra token still good
    clock.now = 7200
    await auth.authorization(CHALLENGE)
    assert credential.calls == 2
    # another registry (realm host) gets its own refresh token
    other = Challenge("bearer", "https://other.azurecr.io/oauth2/token", "other.azurecr.io")
    await auth.authorization(other)
    assert exchange.requests[-1].url.host == "other.azurecr.io"


@pytest.mark.anyio
async def test_refresh_without_exp_lasts_three_hours() -> None:
    clock = Clock()
    exchange = Exchange()
    exchange.refresh_exp = None
    auth, _ = authenticator(FakeCredential(lifetime=86400), exchange, clock=clock, skew=60)
    await auth.authorization(CHALLENGE)
    clock.now = 3 * 3600 - 61
    await auth.authorization(CHALLENGE)
    assert len(exchange.requests) == 1
    clock.now = 3 * 3600
    await auth.authorization(CHALLENGE)
    assert len(exchange.requests) == 2


@pytest.mark.anyio
async def test_429_waits_retry_after_and_5xx_and_connection_errors_are_retried() -> None:
    exchange = Exchange(429, 503, retry_after="4")
    auth, slept = authenticator(FakeCredential(), exchange)
    await auth.authorization(CHALLENGE)
    assert len(exchange.requests) == 3 and slept[:2] == [4.0, 4.0]
    exchange = Exchange(httpx.ConnectError("refused"), 502)  # type: ignore[arg-type]
    auth, slept = authenticator(FakeCredential(), exchange)
    await auth.authorization(CHALLENGE)
    assert len(exchange.requests) == 3 and len(slept) == 2


@pytest.mark.anyio
async def test_failures_are_typed_and_shared_by_all_waiters() -> None:
    exchange = Exchange(401)
    credential = FakeCredential()
    auth, _ = authenticator(credential, exchange)
    outcomes = await asyncio.gather(
        *(auth.authorization(CHALLENGE) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(o, RegistryAuthError) and o.step == "token" for o in outcomes)
    assert len(exchange.requests) == 1
    exchange = Exchange(503, 503, 503, 503)
    auth, _ = authenticator(FakeCredential(), exchange, attempts=4)
    with pytest.raises(TokenEndpointError, match="503"):
        await auth.authorization(CHALLENGE)
    exchange = Exchange(*[httpx.ConnectError("refused")] * 2)  # type: ignore[arg-type]
    auth, _ = authenticator(FakeCredential(), exchange, attempts=2)
    with pytest.raises(RegistryUnreachable):
        await auth.authorization(CHALLENGE)
    failing = FakeCredential(error=ClientAuthenticationError("IMDS endpoint unavailable"))
    auth, _ = authenticator(failing, Exchange())
    with pytest.raises(TokenEndpointError, match="IMDS endpoint unavailable"):
        await auth.authorization(CHALLENGE)
    with pytest.raises(TokenEndpointError, match="Bearer"):
        await auth.authorization(Challenge("basic", "realm"))


class FakeAcr:
    """ACR's whole dance: challenge, /oauth2/exchange, /oauth2/token, /v2/."""

    def __init__(self) -> None:
        self.counts = {"exchange": 0, "token": 0, "blob": 0}
        self.refresh = jwt(time.time() + 3600)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth2/exchange":
            self.counts["exchange"] += 1
            return httpx.Response(200, json={"refresh_token": self.refresh})
        if path == "/oauth2/token":
            self.counts["token"] += 1
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["refresh_token"]
            assert form["refresh_token"] == [self.refresh]
            return httpx.Response(200, json={"access_token": "acr-access", "expires_in": 3600})
        if request.headers.get("Authorization") != "Bearer acr-access":
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://myacr.azurecr.io/oauth2/token",'
                    'service="myacr.azurecr.io"'
                },
            )
        self.counts["blob"] += 1
        return httpx.Response(200, content=b"wasm")


@pytest.mark.anyio
async def test_through_a_registry_client_like_acr() -> None:
    acr = FakeAcr()
    credential = FakeCredential()
    mock = httpx.MockTransport(acr)
    async with httpx.AsyncClient(transport=mock) as http:
        auth = ManagedIdentityAuthenticator(credential, http=http)  # type: ignore[arg-type]
        async with RegistryClient(
            "myacr.azurecr.io", authenticator=auth, transport=mock
        ) as registry:
            blobs = await asyncio.gather(
                *(registry.get_blob("graphs/simple", Digest.of(b"wasm")) for _ in range(50))
            )
    assert blobs == [b"wasm"] * 50
    assert credential.calls == 1
    assert acr.counts == {"exchange": 1, "token": 1, "blob": 50}
