"""``Session``: one registry's base URL over the shared client, with errors mapped once.

Every ``remote`` call goes through :meth:`Session.open`: it puts the call's scopes on the
request (for the auth flow), sends it, turns error statuses into ``RegistryHTTPError``
subclasses and transport failures into ``RegistryUnreachable`` — also those that happen
while the caller streams the body inside the ``async with``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ..errors import RegistryHTTPError, RegistryUnreachable
from ..oci import Digest
from ..transport import (
    SCOPES_EXTENSION,
    RegistryAuth,
    raise_for_status,
    read_bounded,
    unreachable,
)
from ..transport.failures import describe

__all__ = ["Session"]

_MAX_REMEMBERED = 4096

RequestContent = bytes | httpx.AsyncByteStream | None


_DRAIN_LIMIT = 64 << 10


async def _drain(response: httpx.Response) -> None:
    """Read the rest of a small answer the caller left unread (a 201, a 202, a HEAD's end),
    so that its connection goes back to the pool: closing a response whose body was not
    read to its end closes the connection, and the next request pays a new connect (and a
    TLS handshake). A large unread body is not read: closing is cheaper then."""
    if response.is_stream_consumed or response.is_closed:
        return
    length = response.headers.get("Content-Length", "")
    if (response.request.method == "HEAD" or response.status_code in (204, 304)
            or (length.isdigit() and int(length) <= _DRAIN_LIMIT)):
        await response.aread()


class Session:
    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = httpx.URL(base_url)
        self._prefix = str(self.base_url).rstrip("/")
        self.referrers_api_absent_until = 0.0
        """``time.monotonic()`` until which the registry is taken to have no referrers API
        (``referrers`` then goes straight to the tag schema)."""
        self._pushed: dict[Digest, str] = {}

    def remember(self, digest: Digest, repository: str) -> None:
        """``repository`` has ``digest`` now (this client pushed or mounted it there)."""
        if len(self._pushed) >= _MAX_REMEMBERED:
            self._pushed.clear()
        self._pushed[digest] = repository

    def mount_source(self, digest: Digest, repository: str) -> str | None:
        """Another repository this client put ``digest`` into, to mount it from: one
        request instead of an upload's two. Not on a registry with scoped bearer tokens:
        there the mount's extra pull scope costs a token fetch of its own."""
        source = self._pushed.get(digest)
        if source is None or source == repository:
            return None
        auth = self.http.auth
        if isinstance(auth, RegistryAuth) and auth.scoped_tokens:
            return None
        return source

    def url(self, path: str, params: Mapping[str, str] | None = None) -> httpx.URL:
        """``path`` (absolute, already validated) on the registry's origin."""
        url = httpx.URL(self._prefix + path)  # plain concatenation: URL.join costs 2x more
        return url.copy_merge_params(dict(params)) if params else url

    def same_origin(self, url: httpx.URL) -> bool:
        base = self.base_url
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    @asynccontextmanager
    async def open(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        scopes: Sequence[str],
        ok: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        content: RequestContent = None,
        follow_redirects: bool = True,
        extensions: Mapping[str, object] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Send and yield the streaming response; raise unless its status is in ``ok``."""
        request = self.http.build_request(
            method,
            url,
            headers=dict(headers or {}),
            content=content if isinstance(content, bytes) else None,
            extensions={**(extensions or {}), SCOPES_EXTENSION: tuple(scopes)},
        )
        if isinstance(content, httpx.AsyncByteStream):
            # As the stream itself (httpx would wrap it as a one-shot iterator): a
            # FileBody stays replayable for retries and auth. Callers set Content-Length.
            request = httpx.Request(
                method,
                request.url,
                headers=request.headers,
                stream=content,
                extensions=request.extensions,
            )
        try:
            response = await self.http.send(request, stream=True, follow_redirects=follow_redirects)
        except httpx.TransportError as exc:
            raise unreachable(exc, describe(request)) from exc
        except httpx.TooManyRedirects as exc:
            raise RegistryUnreachable(
                f"{describe(request)}: too many redirects", kind="protocol"
            ) from exc
        try:
            if response.status_code not in ok:
                await raise_for_status(response)
                raise RegistryHTTPError(
                    f"{describe(request)}: unexpected status {response.status_code}",
                    status=response.status_code,
                )
            yield response
            await _drain(response)
        except httpx.TransportError as exc:
            raise unreachable(exc, describe(request)) from exc
        finally:
            await response.aclose()

    async def fetch_json(
        self, url: httpx.URL | str, *, scopes: Sequence[str], limit: int
    ) -> tuple[httpx.Response, Any]:
        """GET a JSON document of at most ``limit`` bytes."""
        async with self.open(
            "GET", url, scopes=scopes, headers={"Accept": "application/json"}
        ) as response:
            body, truncated = await read_bounded(response, limit)
        if truncated:
            raise RegistryHTTPError(
                f"{describe(response.request)}: answer larger than {limit} bytes",
                status=response.status_code,
            )
        try:
            return response, json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RegistryHTTPError(
                f"{describe(response.request)}: answer is not JSON", status=response.status_code
            ) from None
