"""The bearer-token handshake against the real registry (``auth.token``) and a token service.

The registry verifies every token's signature, audience and scopes; the token service
grants exactly what is asked (anonymous: pull on ``public/*`` only) and counts requests,
so these tests show both that the scopes are right and that tokens are reused.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from azure.core.credentials import AccessToken

from iotops_registry.authn import BasicCredential, StaticBasic
from iotops_registry.authn.azure import ManagedIdentityAuthenticator
from iotops_registry.errors import RegistryAuthError
from iotops_registry.oci import Manifest
from iotops_registry.oci import mediatypes as mt
from iotops_registry.remote import RegistryClient

if TYPE_CHECKING:
    from tests.support.registry import RegistryProcess

pytest_plugins = ["tests.support.registry"]


def repo(prefix: str = "team") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:10]}"


def basic(registry: RegistryProcess) -> StaticBasic:
    return StaticBasic(BasicCredential(registry.username, registry.password))


def counts(registry: RegistryProcess) -> dict[str, int]:
    assert registry.token_server is not None
    return {k: registry.token_server.count(k) for k in ("get", "post", "exchange")}


@pytest.mark.anyio
async def test_push_and_pull_with_scoped_tokens(token_registry: RegistryProcess) -> None:
    repository = repo()
    async with RegistryClient(
        token_registry.host, authenticator=basic(token_registry), plain_http=True
    ) as client:
        challenge = await client.ping()
        assert challenge is not None and challenge.scheme == "bearer"
        before = counts(token_registry)
        config = await client.push_blob(repository, mt.OCI_EMPTY_JSON, media_type=mt.OCI_EMPTY)
        blobs = [await client.push_blob(repository, os.urandom(1000)) for _ in range(5)]
        manifest = Manifest(config=config, layers=tuple(blobs))
        await client.put_manifest(repository, "v1", manifest)
        pushed = counts(token_registry)
        # one token for "pull,push" on the repository served every upload request
        assert pushed["get"] - before["get"] == 1

        for _ in range(3):
            for blob in blobs:
                await client.get_blob(repository, blob.digest)
        await client.get_manifest(repository, "v1")
        assert counts(token_registry)["get"] - pushed["get"] == 1  # one pull token
        await client.catalog()  # registry:catalog:* is its own scope
        assert counts(token_registry)["get"] - pushed["get"] == 2


@pytest.mark.anyio
async def test_more_first_requests_than_pooled_connections(
    token_registry: RegistryProcess,
) -> None:
    """Every first request meets a 401 and waits for one token: the pool must not deadlock."""
    repository = repo()
    async with RegistryClient(
        token_registry.host, authenticator=basic(token_registry), plain_http=True
    ) as client:
        blob = await client.push_blob(repository, b"pooled")
    async with RegistryClient(
        token_registry.host,
        authenticator=basic(token_registry),
        plain_http=True,
        max_connections=2,
        timeout=10,
    ) as client:
        results = await asyncio.gather(
            *(client.get_blob(repository, blob.digest) for _ in range(20))
        )
    assert results == [b"pooled"] * 20


@pytest.mark.anyio
async def test_mount_needs_pull_on_the_source_too(token_registry: RegistryProcess) -> None:
    source, target = repo(), repo()
    async with RegistryClient(
        token_registry.host, authenticator=basic(token_registry), plain_http=True
    ) as client:
        blob = await client.push_blob(source, os.urandom(5000))
        assert await client.mount_blob(target, blob.digest, source) is True
        assert await client.blob_exists(target, blob.digest)


@pytest.mark.anyio
async def test_anonymous_gets_public_pull_only(token_registry: RegistryProcess) -> None:
    public, private = repo("public"), repo()
    async with RegistryClient(
        token_registry.host, authenticator=basic(token_registry), plain_http=True
    ) as client:
        public_blob = await client.push_blob(public, b"open data")
        private_blob = await client.push_blob(private, b"closed data")
    async with RegistryClient(token_registry.host, plain_http=True) as anonymous:
        assert await anonymous.get_blob(public, public_blob.digest) == b"open data"
        with pytest.raises(RegistryAuthError) as info:
            await anonymous.get_blob(private, private_blob.digest)
        assert info.value.step == "registry" and info.value.status == 401
        with pytest.raises(RegistryAuthError):
            await anonymous.push_blob(public, b"vandalism")


@pytest.mark.anyio
async def test_wrong_password_is_refused_by_the_token_service(
    token_registry: RegistryProcess,
) -> None:
    wrong = StaticBasic(BasicCredential(token_registry.username, "not-the-password"))
    async with RegistryClient(token_registry.host, authenticator=wrong, plain_http=True) as c:
        with pytest.raises(RegistryAuthError) as info:
            await c.list_tags(repo())
    assert info.value.step == "token" and "not-the-password" not in str(info.value)


@pytest.mark.anyio
async def test_expired_tokens_are_replaced(token_registry: RegistryProcess) -> None:
    """Tokens that live 2 s: the cache refreshes them (half the lifetime) without 401s."""
    assert token_registry.token_server is not None
    repository = repo()
    async with RegistryClient(
        token_registry.host, authenticator=basic(token_registry), plain_http=True
    ) as client:
        blob = await client.push_blob(repository, b"short-lived")
        token_registry.token_server.expires_in = 2
        try:
            before = counts(token_registry)["get"]
            await client.get_blob(repository, blob.digest)
            await asyncio.sleep(1.1)
            await client.get_blob(repository, blob.digest)
        finally:
            token_registry.token_server.expires_in = 300
        assert counts(token_registry)["get"] - before == 2


class FakeEntraCredential:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        time.sleep(0.02)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.mark.anyio
async def test_managed_identity_exchange_end_to_end(token_registry: RegistryProcess) -> None:
    """Entra token → /oauth2/exchange → refresh token → refresh_token grant → registry."""
    repository = repo()
    async with RegistryClient(
        token_registry.host, authenticator=basic(token_registry), plain_http=True
    ) as client:
        blobs = [await client.push_blob(repository, os.urandom(512)) for _ in range(4)]
    credential = FakeEntraCredential(token_registry.entra_token)
    before = counts(token_registry)
    async with httpx.AsyncClient() as http:
        identity = ManagedIdentityAuthenticator(credential, http=http)  # type: ignore[arg-type]
        async with RegistryClient(
            token_registry.host, authenticator=identity, plain_http=True
        ) as client:
            results = await asyncio.gather(
                *(client.get_blob(repository, b.digest) for b in blobs for _ in range(25))
            )
    assert len(results) == 100
    after = counts(token_registry)
    assert credential.calls == 1
    assert after["exchange"] - before["exchange"] == 1
    assert after["post"] - before["post"] == 1  # one refresh_token grant for the pull scope
    assert after["get"] == before["get"]
