"""An httpcore network backend on plain asyncio protocols, tuned for bulk reads.

Why it exists: httpcore asks its network stream for 64 KiB at a time, and the default
(anyio) stream wraps each read in a cancel scope. For a 256 MiB blob that is 4,096 rounds
through anyio, h11 and httpx, and it made the client CPU-bound at ~250 MB/s on a 2-core
machine. Here asyncio's socket transport fills a buffer (up to 256 KiB per ``recv``) and
each ``read`` hands h11 a whole received chunk (small ones joined up to 256 KiB): a
quarter of the rounds or fewer, no copy, and a timer only when a read has to wait. h11
accepts data in any amount; in httpcore's HTTP/1.1 path nothing else depends on the size
of a read, so ``max_bytes`` is treated as a floor. (Joining up to 1 MiB was measured too:
the extra copy and the page faults of larger buffers cost more than the rounds saved.)

Backpressure both ways: the socket stops being read while 4 MiB sit unread, and a write
waits until the transport's buffer drains. Errors are httpcore's (``ConnectError``,
``ReadTimeout`` ...), chained to the OS error, so callers can tell DNS from TLS from refusal.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

import httpcore

__all__ = ["AsyncioBackend"]

READ_SIZE = 256 << 10
HIGH_WATER = 4 << 20
LOW_WATER = 1 << 20
WRITE_HIGH_WATER = 1 << 20


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Protocol(asyncio.Protocol):
    """Collects received data; wakes the one reader and the one writer that may wait."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self._reading_paused = False
        self._writable = True
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake_reader()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._writable = True
        self._wake_reader()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def _wake_reader(self) -> None:
        if self._read_waiter is not None and not self._read_waiter.done():
            self._read_waiter.set_result(None)

    # used by the stream
    def take(self, limit: int) -> bytes:
        data = self.chunks.popleft()
        if len(data) < limit and self.chunks:
            parts, size = [data], len(data)
            while self.chunks and size + len(self.chunks[0]) <= limit:
                part = self.chunks.popleft()
                parts.append(part)
                size += len(part)
            data = b"".join(parts)
        self.buffered -= len(data)
        if self._reading_paused and self.buffered <= LOW_WATER and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def wait(self, kind: str, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        if kind == "read":
            self._read_waiter = waiter
        else:
            self._drain_waiter = waiter
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if kind == "read":
                self._read_waiter = None
            else:
                self._drain_waiter = None

    @property
    def writable(self) -> bool:
        return self._writable


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof:
            try:
                await protocol.wait("read", timeout)
            except TimeoutError as exc:
                raise httpcore.ReadTimeout("timed out reading from the server") from exc
        if protocol.chunks:
            return protocol.take(max(max_bytes, READ_SIZE))
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.eof or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed") from protocol.error
        self._transport.write(buffer)
        if not protocol.writable:
            try:
                await protocol.wait("drain", timeout)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout("timed out writing to the server") from exc
            if protocol.error is not None:
                raise httpcore.WriteError(str(protocol.error)) from protocol.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # pragma: no cover - only for server-side TLS
            raise httpcore.ConnectError("TLS could not be started")
        self._protocol.transport = transport
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle pooled connection that is readable was closed by the server.
            return self._protocol.eof or bool(self._protocol.chunks)
        mapped = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return self._transport.get_extra_info(mapped)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connect with ``loop.create_connection``; streams as described in the module doc."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._ready(transport, protocol, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_unix_connection(_Protocol, path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self._ready(transport, protocol, socket_options)

    @staticmethod
    def _ready(
        transport: asyncio.BaseTransport,
        protocol: _Protocol,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> _Stream:
        stream_transport = cast(asyncio.Transport, transport)
        sock = stream_transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        stream_transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        return _Stream(stream_transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
