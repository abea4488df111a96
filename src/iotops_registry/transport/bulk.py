"""Bulk downloads: a GET whose body goes from the socket to the caller without h11 copies.

Why: through httpcore, every body byte is copied four times after the kernel's copy (into
h11's receive buffer, twice out of it, once more into ``bytes``) and allocated as often; for
a large blob that is a third of the client's CPU, the rest being SHA-256 and the file write.
Here h11 still parses (and writes) the head, where the protocol's subtleties are; only a
``Content-Length`` body is then passed on as the chunks the socket delivered, counted, and
never more than announced.

The price of the shortcut, and why it is only for requests that ask for it (the
``iotops.bulk`` extension, set by ``remote`` for blobs known to be large): the exchange uses
a connection of its own, outside the pool and closed afterwards, so no keep-alive state has
to be reconciled with bytes h11 never saw. A body without ``Content-Length`` (chunked, or
until close) goes through h11 as usual on that same connection. Requests with a body are
never bulk. Redirects, auth and retries stay with httpx and the layers above: each hop is a
request of its own.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import h11
import httpcore
import httpx

__all__ = ["BULK_EXTENSION", "is_bulk", "send_bulk"]

BULK_EXTENSION = "iotops.bulk"
READ_SIZE = 256 << 10


def is_bulk(request: httpx.Request) -> bool:
    """A bodiless GET that asked for the bulk path."""
    return (
        request.method == "GET"
        and bool(request.extensions.get(BULK_EXTENSION))
        and isinstance(request.stream, httpx.ByteStream)
        and not request.headers.get("Content-Length", "0").strip("0")
    )


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    value: Any = request.extensions.get("timeout") or {}
    return {k: value.get(k) for k in ("connect", "read", "write")}


async def _connect(
    backend: httpcore.AsyncNetworkBackend,
    ssl_context: Callable[[], ssl.SSLContext],
    url: httpx.URL,
    timeouts: dict[str, float | None],
) -> httpcore.AsyncNetworkStream:
    port = url.port or (443 if url.scheme == "https" else 80)
    stream = await backend.connect_tcp(url.host, port, timeout=timeouts["connect"])
    if url.scheme == "https":
        try:
            stream = await stream.start_tls(
                ssl_context(), server_hostname=url.host, timeout=timeouts["connect"]
            )
        except BaseException:
            await stream.aclose()
            raise
    return stream


async def _head(
    stream: httpcore.AsyncNetworkStream,
    state: h11.Connection,
    timeout: float | None,
) -> h11.Response:
    while True:
        event = state.next_event()
        if event is h11.NEED_DATA:
            state.receive_data(await stream.read(READ_SIZE, timeout=timeout))
        elif isinstance(event, h11.Response):
            return event
        elif isinstance(event, h11.ConnectionClosed):
            raise httpcore.RemoteProtocolError("server disconnected without sending a response")
        # h11.InformationalResponse (1xx): keep reading


def _content_length(response: h11.Response) -> int | None:
    """The announced length, or None when h11 must frame the body (chunked, until close)."""
    if response.status_code in (204, 304):
        return 0  # never a body, whatever the headers say
    length: int | None = None
    for name, value in response.headers:
        if name == b"transfer-encoding":
            return None
        if name == b"content-length":
            length = int(value)  # h11 validated it (digits, consistent duplicates)
    return length


class _Body(httpx.AsyncByteStream):
    def __init__(
        self,
        stream: httpcore.AsyncNetworkStream,
        state: h11.Connection,
        length: int | None,
        timeout: float | None,
    ) -> None:
        self._stream = stream
        self._state = state
        self._length = length
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._length is None:
            async for chunk in self._framed_by_h11():
                yield chunk
            return
        remaining = self._length
        buffered, _ = self._state.trailing_data
        if buffered:
            part = buffered[:remaining]
            remaining -= len(part)
            yield part
        while remaining > 0:
            chunk = await self._stream.read(READ_SIZE, timeout=self._timeout)
            if not chunk:
                raise httpcore.RemoteProtocolError(
                    f"server closed the connection {remaining} bytes before the end of the body"
                )
            if len(chunk) > remaining:
                chunk = chunk[:remaining]  # anything after the body is not ours to read
            remaining -= len(chunk)
            yield chunk

    async def _framed_by_h11(self) -> AsyncIterator[bytes]:
        while True:
            try:
                event = self._state.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpcore.RemoteProtocolError(str(exc)) from exc
            if event is h11.NEED_DATA:
                self._state.receive_data(await self._stream.read(READ_SIZE, timeout=self._timeout))
            elif isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return

    async def aclose(self) -> None:
        await self._stream.aclose()


async def send_bulk(
    backend: httpcore.AsyncNetworkBackend,
    ssl_context: Callable[[], ssl.SSLContext],
    request: httpx.Request,
) -> tuple[int, list[tuple[bytes, bytes]], httpx.AsyncByteStream, dict[str, Any]]:
    """(status, headers, body stream, extensions) of ``request`` on a connection of its own.

    Raises httpcore exceptions (the caller maps them to httpx's, as for pooled requests).
    """
    timeouts = _timeouts(request)
    stream = await _connect(backend, ssl_context, request.url, timeouts)
    try:
        state = h11.Connection(h11.CLIENT)
        head = state.send(
            h11.Request(method=b"GET", target=request.url.raw_path, headers=request.headers.raw)
        )
        end = state.send(h11.EndOfMessage()) or b""
        await stream.write(head + end, timeout=timeouts["write"])
        response = await _head(stream, state, timeouts["read"])
    except h11.RemoteProtocolError as exc:
        await stream.aclose()
        raise httpcore.RemoteProtocolError(str(exc)) from exc
    except h11.LocalProtocolError as exc:
        await stream.aclose()
        raise httpcore.LocalProtocolError(str(exc)) from exc
    except BaseException:
        await stream.aclose()
        raise
    body = _Body(stream, state, _content_length(response), timeouts["read"])
    extensions = {
        "http_version": b"HTTP/" + response.http_version,
        "reason_phrase": response.reason,
    }
    return response.status_code, list(response.headers), body, extensions
