"""``HTTP11Transport``: httpx over httpcore's HTTP/1.1 connection pool and our asyncio
backend (:mod:`.netio`). The same request/response plumbing as
``httpx.AsyncHTTPTransport``, with the faster network streams, plus the bulk-download path
(:mod:`.bulk`) for requests that ask for it; no proxy support (with a proxy,
:func:`~.stack.build_transport` uses httpx's own transport instead).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpcore
import httpx

from .bulk import is_bulk, send_bulk
from .netio import AsyncioBackend

__all__ = ["HTTP11Transport"]


# Most specific first: the first match wins.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _EXCEPTIONS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _mapped():
                await close()


class _Pool(httpcore.AsyncConnectionPool):
    """A pool that makes its TLS context when it opens its first TLS connection."""

    def __init__(self, tls: Callable[[], ssl.SSLContext], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tls = tls

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        if origin.scheme == b"https" and self._ssl_context is None:
            self._ssl_context = self._tls()
        return super().create_connection(origin)


class HTTP11Transport(httpx.AsyncBaseTransport):
    """``ssl_context`` may be a function that makes it: it is then called at the first TLS
    connection (loading the trusted roots costs tens of milliseconds; a plain-HTTP
    loopback registry never needs them)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        max_connections: int = 32,
        keepalive_expiry: float = 30.0,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._ssl_context = ssl_context if isinstance(ssl_context, ssl.SSLContext) else None
        self._make_tls = ssl_context
        self._backend = backend or AsyncioBackend()
        self._pool = _Pool(
            self.tls,
            ssl_context=self._ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self._backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if is_bulk(request):
            with _mapped():
                status, headers, body, bulk_extensions = await send_bulk(
                    self._backend, self.tls, request
                )
            return httpx.Response(
                status, headers=headers, stream=_ResponseBody(body), extensions=bulk_extensions
            )
        stream = cast(AsyncIterable[bytes], request.stream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=stream,
            extensions=request.extensions,
        )
        with _mapped():
            response = await self._pool.handle_async_request(core_request)
        extensions: dict[str, Any] = dict(response.extensions)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(cast(AsyncIterable[bytes], response.stream)),
            extensions=extensions,
        )

    def tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            assert callable(self._make_tls)
            self._ssl_context = self._make_tls()
        return self._ssl_context

    async def aclose(self) -> None:
        await self._pool.aclose()
