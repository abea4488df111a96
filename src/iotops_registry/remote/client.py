"""``RegistryClient``: WHAT you do with a registry — the OCI distribution verbs.

One client per registry (and credential), long-lived: it owns one ``httpx.AsyncClient``
(HTTP/1.1 keep-alive, a pool sized for concurrency) whose auth remembers the registry's
challenge and caches tokens per scope set, so each verb costs its own requests and nothing
else. Use it as an async context manager, or call :meth:`aclose`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType

import httpx

from .._version import __version__
from ..authn import ANONYMOUS, Authenticator, Challenge
from ..errors import ConfigurationError
from ..netutil import is_loopback, split_host_port
from ..oci import (
    Descriptor,
    Digest,
    Index,
    Manifest,
    check_registry,
    check_repository,
    mediatypes,
)
from ..transport import (
    RegistryAuth,
    RetryPolicy,
    TokenCache,
    build_transport,
    install_httpx_redaction,
    ping,
)
from . import blobs, listing, manifests, referrers, upload
from .manifests import FetchedManifest
from .session import Session

__all__ = ["RegistryClient"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class RegistryClient:
    """An async client for one OCI registry (``host[:port]``).

    ``plain_http`` is for loopback registries only (tests, a local dev registry); any other
    host raises :class:`ConfigurationError`. ``allowed_realm_hosts`` lists token-service
    hosts, besides the registry's own, that may receive credentials. ``transport`` replaces
    the network layer (tests); retries and logging still wrap it. ``token_cache`` may be
    shared between clients.
    """

    def __init__(
        self,
        registry: str,
        *,
        authenticator: Authenticator = ANONYMOUS,
        verify: ssl.SSLContext | bool = True,
        plain_http: bool = False,
        allowed_realm_hosts: Iterable[str] = (),
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
        token_cache: TokenCache | None = None,
        proxy: str | None = None,
        user_agent: str = f"iotops-registry/{__version__}",
    ) -> None:
        host, _ = split_host_port(check_registry(registry))
        if plain_http and not is_loopback(host):
            raise ConfigurationError(
                f"plain HTTP is allowed for loopback registries only, not {host}"
            )
        install_httpx_redaction()
        self.registry = registry.lower()
        self.base_url = f"{'http' if plain_http else 'https'}://{self.registry}"
        self.auth = RegistryAuth(
            self.registry,
            authenticator,
            token_cache=token_cache,
            allowed_realm_hosts=allowed_realm_hosts,
        )
        self._http = httpx.AsyncClient(
            auth=self.auth,
            transport=build_transport(
                verify=verify,
                max_connections=max_connections,
                retry=retry,
                proxy=proxy,
                inner=transport,
            ),
            timeout=timeout,
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": user_agent},
            trust_env=False,
        )
        self.auth.bind(self._http)
        self._session = Session(self._http, self.base_url)

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"RegistryClient({self.base_url!r})"

    # -- the registry -------------------------------------------------------------------

    async def ping(self) -> Challenge | None:
        """Check that this is a registry and that our credentials get us in.

        Returns the challenge it asked for (None if it is open to anonymous clients), and
        primes the auth with it. Raises ``RegistryAuthError`` if the credentials fail.
        """
        challenge = await ping(self._http, self.base_url)
        if challenge is not None:
            self.auth.challenge = Challenge(challenge.scheme, challenge.realm, challenge.service)
            async with self._session.open("GET", self._session.url("/v2/"), scopes=()):
                pass
        return challenge

    async def catalog(self, *, page_size: int | None = None) -> list[str]:
        return await listing.catalog(self._session, page_size=page_size)

    # -- manifests and tags -------------------------------------------------------------

    async def list_tags(self, repository: str, *, page_size: int | None = None) -> list[str]:
        return await listing.list_tags(
            self._session, check_repository(repository), page_size=page_size
        )

    async def acr_tags(self, repository: str) -> dict[str, str]:
        """Tag -> digest of a repository through ACR's listing API (one request per page)."""
        return await listing.acr_tags(self._session, check_repository(repository))

    async def get_manifest(
        self,
        repository: str,
        ref: str | Digest,
        accept: Sequence[str] = mediatypes.ALL_MANIFEST_TYPES,
    ) -> FetchedManifest:
        """(bytes, media type, digest) of a manifest or index, by tag or digest, verified."""
        return await manifests.get_manifest(
            self._session, check_repository(repository), ref, accept
        )

    async def head_manifest(
        self,
        repository: str,
        ref: str | Digest,
        accept: Sequence[str] = mediatypes.ALL_MANIFEST_TYPES,
    ) -> Descriptor:
        return await manifests.head_manifest(
            self._session, check_repository(repository), ref, accept
        )

    async def put_manifest(
        self,
        repository: str,
        ref: str | Digest,
        data: bytes | Manifest | Index,
        media_type: str | None = None,
    ) -> Digest:
        return await manifests.put_manifest(
            self._session, check_repository(repository), ref, data, media_type
        )

    async def delete_manifest(self, repository: str, digest: Digest) -> None:
        await manifests.delete_manifest(self._session, check_repository(repository), digest)

    async def referrers(
        self, repository: str, digest: Digest, artifact_type: str | None = None
    ) -> list[Descriptor]:
        return await referrers.referrers(
            self._session, check_repository(repository), digest, artifact_type
        )

    async def attach_referrer(
        self, repository: str, data: bytes, media_type: str = mediatypes.OCI_MANIFEST
    ) -> Descriptor:
        """Push a manifest that has a ``subject`` (exact bytes, by digest) so that
        :meth:`referrers` finds it, on registries with or without the referrers API."""
        return await referrers.attach(
            self._session, check_repository(repository), data, media_type
        )

    # -- blobs --------------------------------------------------------------------------

    async def blob_exists(self, repository: str, digest: Digest) -> bool:
        return await blobs.blob_exists(self._session, check_repository(repository), digest)

    async def get_blob(self, repository: str, digest: Digest, *, size: int | None = None) -> bytes:
        return await blobs.get_blob(self._session, check_repository(repository), digest, size=size)

    async def download_blob(
        self,
        repository: str,
        digest: Digest,
        path: str | os.PathLike[str],
        *,
        size: int | None = None,
        fsync: bool = False,
    ) -> int:
        return await blobs.download_blob(
            self._session, check_repository(repository), digest, path, size=size, fsync=fsync
        )

    async def push_blob(
        self,
        repository: str,
        data: upload.BlobSource,
        *,
        media_type: str = mediatypes.OCTET_STREAM,
        chunk_size: int | None = None,
        digest: Digest | None = None,
    ) -> Descriptor:
        """Upload bytes, a file (path) or a slice of one (``FileBody``), unless present."""
        return await upload.push_blob(
            self._session,
            check_repository(repository),
            data,
            media_type=media_type,
            chunk_size=chunk_size,
            digest=digest,
        )

    def open_blob(
        self, repository: str, digest: Digest, size: int
    ) -> AbstractAsyncContextManager[AsyncIterator[bytes]]:
        """``async with client.open_blob(...) as chunks``: the raw bytes as they arrive."""
        return blobs.open_blob(self._session, check_repository(repository), digest, size)

    async def push_stream(
        self, repository: str, descriptor: Descriptor, chunks: AsyncIterable[bytes]
    ) -> bool:
        """Upload a blob of known descriptor from a stream; False if it was there already."""
        return await upload.push_stream(
            self._session, check_repository(repository), descriptor, chunks
        )

    async def mount_blob(self, repository: str, digest: Digest, from_repository: str) -> bool:
        return await upload.mount_blob(
            self._session, check_repository(repository), digest, check_repository(from_repository)
        )
