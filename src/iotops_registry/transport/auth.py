"""``RegistryAuth``: the registry handshake as an ``httpx.Auth`` flow.

It overrides ``async_auth_flow`` because answering a challenge does I/O (token requests)
and waits on shared state (the token cache). It leaves ``requires_response_body`` False:
httpx would otherwise read every response body, blobs included, into memory. Only token
responses are read, explicitly and with a cap.

Per request (the order is also in the package docstring):

1. a request to another host (a redirect target, a blob store) passes untouched;
2. if the registry's challenge is known, credentials go on the first attempt: Basic, or a
   bearer token for the request's scopes from the cache (fetched once if missing);
3. on 401 from the registry: read the 401 to its end (that returns its connection to the
   pool before any token I/O), parse the challenge and remember it. If the request carried
   a token that came from the cache, drop that token; then fetch for the request's scopes
   merged with the challenge's, and send once more. A 401 to credentials fetched for this
   very request is final (it goes back to the caller), unless the challenge asks for
   scopes the request did not have.

Until the first answer from the registry, one request goes alone (the probe) and the others
wait for it: without that, each of the first concurrent requests would draw its own 401
(four blobs in flight: four 401s and four token fetches instead of one).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from functools import partial

import httpx

from ..authn import Anonymous, AuthConfig, Authenticator, Challenge
from ..netutil import split_host_port
from .backoff import RetryPolicy
from .challenge import select_challenge
from .realm import RealmPolicy
from .scopes import merge_scopes, request_scopes
from .token_cache import TokenCache, TokenKey
from .token_fetch import fetch_token

__all__ = ["RegistryAuth"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class _Sent:
    """What went on an attempt: the token and its cache key (Bearer), and whether the
    credentials were obtained for this request (then a 401 is final)."""

    key: TokenKey | None
    token: str | None
    fresh: bool


class RegistryAuth(httpx.Auth):
    """Basic or Bearer authentication for one registry, driven by its challenges."""

    def __init__(
        self,
        registry: str,
        authenticator: Authenticator,
        *,
        http: httpx.AsyncClient | None = None,
        token_cache: TokenCache | None = None,
        allowed_realm_hosts: Iterable[str] = (),
        token_retry: RetryPolicy | None = None,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.registry = registry.lower()
        host, self._port = split_host_port(registry)
        self._host = host.lower()
        self._authenticator = authenticator
        self._http = http
        self.token_cache = token_cache if token_cache is not None else TokenCache()
        self._policy = RealmPolicy(self._host, allowed_realm_hosts)
        self._token_retry = token_retry or RetryPolicy(attempts=3)
        self._wall = wall
        self._sleep = sleep
        self.challenge: Challenge | None = None
        self._probing = False
        self._probed = asyncio.Event()  # set once the first request has its answer

    @property
    def scoped_tokens(self) -> bool:
        """Whether requests may need a bearer token per scope set: True for a Bearer
        challenge, and while the registry has not answered yet (not known)."""
        if self.challenge is not None:
            return self.challenge.is_bearer
        return not self._probed.is_set()

    def bind(self, http: httpx.AsyncClient) -> None:
        """The client token requests go through (usually the one this auth is attached to)."""
        self._http = http

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("RegistryAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._is_registry(request.url):
            yield request
            return
        probe = False
        if self.challenge is None and not self._probed.is_set():
            if self._probing:
                await self._probed.wait()
            else:
                self._probing = probe = True
        try:
            scopes = request_scopes(request)
            sent = None
            if self.challenge is not None:
                sent = await self._authorize(request, self.challenge, scopes)
            response = yield request
            if response.status_code != 401 or not self._is_registry(response.url):
                return
            # httpx runs this flow while the 401 still holds its pooled connection. Finish
            # it now: otherwise as many 401s as the pool has connections, all waiting for a
            # token that needs a connection itself, deadlock the pool.
            await response.aread()
            challenge = select_challenge(response.headers.get_list("WWW-Authenticate"))
            if challenge is None:
                return
            wanted = merge_scopes(scopes, challenge.scope)
            if sent is not None and sent.fresh and wanted == merge_scopes(scopes):
                return  # just-fetched credentials for everything asked were refused: final
            if sent is not None and sent.key is not None:
                self.token_cache.discard(sent.key, sent.token)
            self.challenge = Challenge(challenge.scheme, challenge.realm, challenge.service)
            authorized = await self._authorize(request, challenge, wanted)
            if probe:  # the others may go now: the challenge is known, the token cached
                self._probed.set()
            if authorized is not None:
                yield request
        finally:
            if probe:
                self._probed.set()

    def _is_registry(self, url: httpx.URL) -> bool:
        port = url.port or _DEFAULT_PORTS.get(url.scheme)
        return url.host.lower() == self._host and port == (
            self._port or _DEFAULT_PORTS.get(url.scheme)
        )

    async def _authorize(
        self, request: httpx.Request, challenge: Challenge, scopes: tuple[str, ...]
    ) -> _Sent | None:
        """Put credentials on ``request``; None if there are none to put."""
        if challenge.is_basic:
            config = await self._authenticator.authorization(challenge)
            if not (config.username and config.password):
                return None
            pair = f"{config.username}:{config.password}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
            return _Sent(None, None, fresh=True)
        if not challenge.is_bearer:
            return None
        key = TokenCache.key(self.registry, self._authenticator.cache_key, scopes)
        token = self.token_cache.get(key)
        fresh = token is None
        if token is None:
            token = await self.token_cache.get_or_fetch(
                key, partial(self._fetch, challenge, key[2])
            )
        request.headers["Authorization"] = f"Bearer {token}"
        return _Sent(key, token, fresh)

    async def _fetch(self, challenge: Challenge, scopes: tuple[str, ...]) -> tuple[str, float]:
        if self._http is None:
            raise RuntimeError("RegistryAuth.bind(client) was not called")
        anonymous = isinstance(self._authenticator, Anonymous)
        # The policy runs before the authenticator: some authenticators send a secret to
        # the realm while producing credentials (the ACR exchange sends an Entra token).
        realm = self._policy.check(challenge.realm, with_credentials=not anonymous)
        config = AuthConfig() if anonymous else await self._authenticator.authorization(challenge)
        return await fetch_token(
            self._http,
            realm,
            challenge.service,
            scopes,
            config,
            policy=self._token_retry,
            wall=self._wall,
            sleep=self._sleep,
        )
