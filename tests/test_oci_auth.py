"""The registry handshake against an in-memory registry (httpx.MockTransport).

Edge cases the real registry cannot easily produce: token lifetimes, revoked tokens,
realms on other hosts, redirects to a blob store, 100 concurrent first requests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from iotops_registry.authn import (
    ANONYMOUS,
    AuthConfig,
    BasicCredential,
    Challenge,
    StaticBasic,
)
from iotops_registry.errors import RegistryAuthError, TokenEndpointError
from iotops_registry.oci import Digest
from iotops_registry.remote import RegistryClient
from iotops_registry.transport import RegistryAuth, RetryPolicy, TokenCache

REGISTRY = "registry.test"
BLOB = b"blob bytes"
DIGEST = Digest.of(BLOB)
NO_WAIT = RetryPolicy(attempts=3, base_delay=0, max_delay=0)


def jwt_with_exp(exp: float) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': int(exp)})}.sig"


class FakeRegistry:
    """Bearer-protected ``/v2/`` plus a token service at ``realm``.

    ``valid`` holds the tokens the registry accepts; the token service issues
    ``token-<n>`` and records every request. Blob GETs redirect to ``blobs.test`` when
    ``redirect`` is set.
    """

    def __init__(self, realm: str = f"https://{REGISTRY}/token") -> None:
        self.realm = realm
        self.valid: set[str] = set()
        self.issued = 0
        self.token_requests: list[httpx.Request] = []
        self.registry_requests: list[httpx.Request] = []
        self.registry_auth: list[str | None] = []  # as sent: httpx reuses request objects
        self.other_host_requests: list[httpx.Request] = []
        self.expires_in: int | None = 300
        self.token_delay = 0.0
        self.token_status = 200
        self.token_headers: dict[str, str] = {}
        self.token_body: Callable[[str], dict[str, object]] | None = None
        self.redirect = False
        self.users = {"alice": "s3cret"}
        self.accept_new = True

    def challenge(self, request: httpx.Request) -> httpx.Response:
        repo = re.sub(r"^/v2/(.+?)/(blobs|manifests|tags)/.*$", r"\1", request.url.path)
        return httpx.Response(
            401,
            headers={
                "WWW-Authenticate": f'Bearer realm="{self.realm}",service="{REGISTRY}",'
                f'scope="repository:{repo}:pull"'
            },
            json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
        )

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == REGISTRY and url.path.startswith("/v2/"):
            self.registry_requests.append(request)
            self.registry_auth.append(request.headers.get("Authorization"))
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.valid:
                return self.challenge(request)
            if url.path.endswith(f"/blobs/{DIGEST}"):
                if self.redirect:
                    return httpx.Response(
                        307, headers={"Location": f"https://blobs.test/data?sig=SECRET&d={DIGEST}"}
                    )
                return httpx.Response(200, content=BLOB)
            return httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN"}]})
        if str(url.copy_with(query=None)) == self.realm:
            return await self.token(request)
        self.other_host_requests.append(request)
        if url.host == "blobs.test":
            return httpx.Response(200, content=BLOB)
        return httpx.Response(404)

    async def token(self, request: httpx.Request) -> httpx.Response:
        self.token_requests.append(request)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.token_status != 200:
            return httpx.Response(self.token_status, headers=self.token_headers)
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return httpx.Response(401, json={"details": "bad credentials"})
        self.issued += 1
        token = f"token-{self.issued}"
        if self.accept_new:
            self.valid.add(token)
        body: dict[str, object] = {"token": token}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        if self.token_body is not None:
            body = self.token_body(token)
            if self.accept_new:
                self.valid.add(str(body.get("token") or body.get("access_token")))
        return httpx.Response(200, json=body)


def client(
    fake: FakeRegistry, *, authenticator: object = ANONYMOUS, **kwargs: object
) -> RegistryClient:
    return RegistryClient(
        REGISTRY,
        authenticator=authenticator,  # type: ignore[arg-type]
        transport=httpx.MockTransport(fake),
        retry=NO_WAIT,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.anyio
async def test_anonymous_token_flow_and_preemptive_reuse() -> None:
    fake = FakeRegistry()
    async with client(fake) as registry:
        for _ in range(10):
            assert await registry.get_blob("team/app", DIGEST) == BLOB
    assert len(fake.token_requests) == 1
    token_request = fake.token_requests[0]
    assert token_request.method == "GET"
    assert parse_qs(token_request.url.query.decode()) == {
        "service": [REGISTRY],
        "scope": ["repository:team/app:pull"],
    }
    assert "Authorization" not in token_request.headers
    # one 401 to learn the challenge; every later request carried the token
    assert fake.registry_auth.count(None) == 1
    assert fake.registry_auth[1:] == ["Bearer token-1"] * 10


@pytest.mark.anyio
async def test_100_concurrent_first_requests_fetch_one_token() -> None:
    fake = FakeRegistry()
    fake.token_delay = 0.05
    async with client(fake) as registry:
        results = await asyncio.gather(*(registry.get_blob("team/app", DIGEST) for _ in range(100)))
    assert results == [BLOB] * 100
    assert len(fake.token_requests) == 1


@pytest.mark.anyio
async def test_scopes_get_their_own_tokens_and_the_cache_is_bounded() -> None:
    fake = FakeRegistry()
    cache = TokenCache(max_entries=4)
    async with client(fake, token_cache=cache) as registry:
        for i in range(10):
            await registry.get_blob(f"repo{i}", DIGEST)
        assert len(cache) == 4
        scopes = [parse_qs(r.url.query.decode())["scope"] for r in fake.token_requests]
        assert scopes == [[f"repository:repo{i}:pull"] for i in range(10)]
        await registry.get_blob("repo9", DIGEST)  # still cached
        await registry.get_blob("repo0", DIGEST)  # evicted: fetched again
    assert len(fake.token_requests) == 11


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_token_refreshed_before_expires_in_and_jwt_exp() -> None:
    fake = FakeRegistry()
    fake.expires_in = 60
    clock = Clock()
    async with client(fake, token_cache=TokenCache(skew=10, clock=clock)) as registry:
        await registry.get_blob("a", DIGEST)
        clock.now = 49
        await registry.get_blob("a", DIGEST)
        assert len(fake.token_requests) == 1
        clock.now = 50.5  # within 10 s of expiry
        await registry.get_blob("a", DIGEST)
        assert len(fake.token_requests) == 2
    # a JWT whose exp is sooner than expires_in wins
    fake = FakeRegistry()
    fake.token_body = lambda _: {"access_token": jwt_with_exp(time.time() + 40), "expires_in": 3600}
    clock = Clock()
    async with client(fake, token_cache=TokenCache(skew=10, clock=clock)) as registry:
        await registry.get_blob("a", DIGEST)
        clock.now = 31
        await registry.get_blob("a", DIGEST)
    assert len(fake.token_requests) == 2


@pytest.mark.anyio
async def test_default_lifetime_is_60_seconds() -> None:
    fake = FakeRegistry()
    fake.expires_in = None
    clock = Clock()
    async with client(fake, token_cache=TokenCache(skew=5, clock=clock)) as registry:
        await registry.get_blob("a", DIGEST)
        clock.now = 54
        await registry.get_blob("a", DIGEST)
        assert len(fake.token_requests) == 1
        clock.now = 56
        await registry.get_blob("a", DIGEST)
    assert len(fake.token_requests) == 2


@pytest.mark.anyio
async def test_revoked_cached_token_is_dropped_and_fetched_once_more() -> None:
    fake = FakeRegistry()
    async with client(fake) as registry:
        await registry.get_blob("a", DIGEST)
        fake.valid.clear()  # the registry forgets every token it issued
        assert await registry.get_blob("a", DIGEST) == BLOB
        assert len(fake.token_requests) == 2
        # a registry that refuses even a brand-new token: one more fetch, then give up
        fake.valid.clear()
        fake.accept_new = False
        with pytest.raises(RegistryAuthError) as info:
            await registry.get_blob("a", DIGEST)
    assert info.value.step == "registry" and info.value.status == 401
    assert info.value.codes == ("UNAUTHORIZED",)
    assert len(fake.token_requests) == 3


@pytest.mark.anyio
async def test_basic_credentials_go_to_a_realm_on_the_registry_host() -> None:
    fake = FakeRegistry()
    alice = StaticBasic(BasicCredential("alice", "s3cret"))
    async with client(fake, authenticator=alice) as registry:
        assert await registry.get_blob("a", DIGEST) == BLOB
    sent = fake.token_requests[0].headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    fake = FakeRegistry()
    wrong = StaticBasic(BasicCredential("alice", "wrong"))
    async with client(fake, authenticator=wrong) as registry:
        with pytest.raises(RegistryAuthError) as info:
            await registry.get_blob("a", DIGEST)
    assert info.value.step == "token" and "s3cret" not in str(info.value)


class Recording:
    """An authenticator that records whether it was asked."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.calls = 0

    @property
    def cache_key(self) -> str:
        return "recording"

    async def authorization(self, challenge: Challenge) -> AuthConfig:
        self.calls += 1
        return self.config


@pytest.mark.anyio
async def test_credentials_never_go_to_a_realm_on_another_host() -> None:
    fake = FakeRegistry(realm="https://evil.test/token")
    auth = Recording(AuthConfig(username="alice", password="s3cret"))
    async with client(fake, authenticator=auth) as registry:
        with pytest.raises(TokenEndpointError, match="allowedRealmHosts"):
            await registry.get_blob("a", DIGEST)
    assert auth.calls == 0  # not even asked: an Entra exchange would already leak a token
    assert fake.token_requests == [] and fake.other_host_requests == []
    # listed explicitly, the same realm is fine
    fake = FakeRegistry(realm="https://auth.test/token")
    async with client(fake, authenticator=auth, allowed_realm_hosts=["auth.test"]) as registry:
        assert await registry.get_blob("a", DIGEST) == BLOB
    assert fake.token_requests[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.anyio
async def test_anonymous_may_use_any_https_realm_but_not_plain_http() -> None:
    fake = FakeRegistry(realm="https://auth.test/token")
    async with client(fake) as registry:
        assert await registry.get_blob("a", DIGEST) == BLOB
    fake = FakeRegistry(realm="http://auth.test/token")
    async with client(fake) as registry:
        with pytest.raises(TokenEndpointError, match="plain-HTTP"):
            await registry.get_blob("a", DIGEST)


@pytest.mark.anyio
async def test_refresh_token_is_posted_as_an_oauth2_grant() -> None:
    fake = FakeRegistry()
    auth = Recording(AuthConfig(username="0000", identity_token="refresh-abc"))
    async with client(fake, authenticator=auth) as registry:
        await registry.get_blob("a", DIGEST)
        await registry.get_blob("b", DIGEST)
    assert [r.method for r in fake.token_requests] == ["POST", "POST"]
    request = fake.token_requests[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["refresh-abc"],
        "client_id": ["iotops-registry"],
        "service": [REGISTRY],
        "scope": ["repository:a:pull"],
    }


@pytest.mark.anyio
async def test_registry_token_is_used_as_is() -> None:
    fake = FakeRegistry()
    fake.valid.add("ready-made")
    auth = Recording(AuthConfig(registry_token="ready-made"))
    async with client(fake, authenticator=auth) as registry:
        assert await registry.get_blob("a", DIGEST) == BLOB
    assert fake.token_requests == []


@pytest.mark.anyio
async def test_redirect_to_blob_store_carries_no_authorization() -> None:
    fake = FakeRegistry()
    fake.redirect = True
    async with client(fake) as registry:
        assert await registry.get_blob("a", DIGEST) == BLOB
        assert await registry.get_blob("a", DIGEST) == BLOB
    assert len(fake.other_host_requests) == 2
    for request in fake.other_host_requests:
        assert "Authorization" not in request.headers
    # while the registry itself got the token
    assert fake.registry_auth[-1] == "Bearer token-1"


@pytest.mark.anyio
async def test_token_endpoint_429_waits_for_retry_after() -> None:
    fake = FakeRegistry()
    slept: list[float] = []
    statuses = iter([429, 503, 200])
    original = fake.token

    async def flaky(request: httpx.Request) -> httpx.Response:
        fake.token_status = next(statuses)
        fake.token_headers = {"Retry-After": "7"} if fake.token_status == 429 else {}
        return await original(request)

    fake.token = flaky  # type: ignore[method-assign]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        auth = RegistryAuth(REGISTRY, ANONYMOUS, http=http, sleep=sleep, token_retry=NO_WAIT)
        http.auth = auth
        response = await http.get(f"https://{REGISTRY}/v2/a/blobs/{DIGEST}")
    assert response.status_code == 200
    assert len(fake.token_requests) == 3 and slept[0] == 7.0


@pytest.mark.anyio
async def test_token_endpoint_failures_are_typed() -> None:
    for status, error in ((403, RegistryAuthError), (500, TokenEndpointError)):
        fake = FakeRegistry()
        fake.token_status = status
        async with client(fake) as registry:
            with pytest.raises(error):
                await registry.get_blob("a", DIGEST)
    fake = FakeRegistry()
    fake.token_body = lambda _: {"token": "x" * 70_000}
    async with client(fake) as registry:
        with pytest.raises(TokenEndpointError, match="64 KiB"):
            await registry.get_blob("a", DIGEST)
    fake = FakeRegistry()
    fake.token_body = lambda _: {"nothing": "here"}
    async with client(fake) as registry:
        with pytest.raises(TokenEndpointError, match="no token"):
            await registry.get_blob("a", DIGEST)


@pytest.mark.anyio
async def test_basic_challenge_sends_basic_to_the_registry() -> None:
    seen: Counter[str] = Counter()

    def handler(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization", "none")
        seen[header] += 1
        if header == "Basic " + base64.b64encode(b"alice:s3cret").decode():
            return httpx.Response(200, content=BLOB)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="reg"'})

    alice = StaticBasic(BasicCredential("alice", "s3cret"))
    async with RegistryClient(
        REGISTRY, authenticator=alice, transport=httpx.MockTransport(handler), retry=NO_WAIT
    ) as registry:
        for _ in range(3):
            assert await registry.get_blob("a", DIGEST) == BLOB
    assert seen["none"] == 1 and sum(seen.values()) == 4
    wrong = StaticBasic(BasicCredential("alice", "nope"))
    async with RegistryClient(
        REGISTRY, authenticator=wrong, transport=httpx.MockTransport(handler), retry=NO_WAIT
    ) as registry:
        with pytest.raises(RegistryAuthError) as info:
            await registry.get_blob("a", DIGEST)
    assert info.value.step == "registry" and "nope" not in str(info.value)


def test_secrets_stay_out_of_reprs_and_keys() -> None:
    config = AuthConfig(username="u", password="pw", identity_token="rt", registry_token="bt")
    text = repr(config) + str(StaticBasic(BasicCredential("u", "pw")))
    for secret in ("pw", "rt", "bt"):
        assert f"'{secret}'" not in text and f"={secret}" not in text
    key = StaticBasic(BasicCredential("u", "pw")).cache_key
    assert "pw" not in key.split(":")[2:] or len(key.split(":")[2]) == 24
    assert key == StaticBasic(BasicCredential("u", "pw")).cache_key
    assert key != StaticBasic(BasicCredential("u", "pw2")).cache_key
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(config)
