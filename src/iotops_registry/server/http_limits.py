"""Request-head limits for every listener: a client must send its request line and headers
within a deadline and within a size, else the connection is closed (431 for size). uvicorn
times out idle keep-alive connections but not a client that trickles its headers, so 600
such clients could hold 600 connections for as long as they liked."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEADER_TIMEOUT", "MAX_HEAD_BYTES", "limited_protocol"]

HEADER_TIMEOUT = 10.0  # seconds from a request's first byte (or the connection) to its last header
MAX_HEAD_BYTES = 64 * 1024  # request line + headers


def limited_protocol(header_timeout: float, max_head: int = MAX_HEAD_BYTES) -> type[Any]:
    """An ``HttpToolsProtocol`` with a request-head deadline and size cap."""

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _head_bytes = 0

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(header_timeout, self._head_expired)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_expired(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            self._head_bytes = 0
            self._arm()
            super().on_message_begin()

        def _count(self, n: int) -> None:
            self._head_bytes += n
            if self._head_bytes > max_head and not self.transport.is_closing():
                self._disarm()
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                    b"content-length: 0\r\nconnection: close\r\n\r\n"
                )
                self.transport.close()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

    return LimitedHttpToolsProtocol
