"""HTTP/1.1 to the registry child on its private loopback port: pooled, streamed both ways.

The front relays every ``/v2/`` request through here. Bodies are never held: a request body
is an async iterator of chunks sent as they come (framed by ``Content-Length`` or chunked),
and a response body is read from the socket in large slices and handed on as it arrives.
h11 frames the messages; asyncio streams move the bytes. A connection goes back to the pool
only after a complete exchange, so a half-read answer never leaks into the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import h11

from ..errors import RegistryUnreachable, UnreachableKind

__all__ = ["Backend", "BackendResponse", "BodyCut"]

_READ = 1 << 20  # one socket read: large slices keep the per-chunk cost of Python small
_MAX_IDLE = 32
_CONNECT_TIMEOUT = 10.0
_HEAD_TIMEOUT = 300.0  # a manifest PUT or a blob commit may take the registry a while
_MAX_HEAD = 64 * 1024


class BodyCut(Exception):
    """Raised by a request body iterator to end the body early but cleanly (chunked
    framing only): the registry gets what was sent so far as the whole body."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT, _MAX_HEAD))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


@dataclass
class BackendResponse:
    """An answer whose body is still on the wire: iterate :meth:`body` once, or ``close``."""

    status: int
    headers: list[tuple[bytes, bytes]]
    _backend: Backend
    _conn: _Connection | None
    _done: bool = False

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def body(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while True:
                event = conn.h11.next_event()
                if event is h11.NEED_DATA:
                    data = await conn.reader.read(_READ)
                    conn.h11.receive_data(data)
                    if not data and conn.h11.their_state is not h11.DONE:
                        raise _unreachable("the registry closed the connection mid-answer")
                    continue
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._done = True
                    return
                else:
                    raise _unreachable(f"unexpected {type(event).__name__} from the registry")
        finally:
            self.close()

    def close(self) -> None:
        """Give the connection back if the exchange completed, else drop it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            try:
                conn.h11.start_next_cycle()
            except h11.LocalProtocolError:
                conn.close()
                return
            self._backend.release(conn)
        else:
            conn.close()


class Backend:
    """A pool of keep-alive connections to one ``host:port`` (plain HTTP, loopback)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._idle: list[_Connection] = []

    async def _connect(self) -> tuple[_Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn, True
            conn.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=_READ), _CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            raise _unreachable(f"the registry child does not answer: {exc}", "connect") from None
        return _Connection(reader, writer), False

    def release(self, conn: _Connection) -> None:
        if len(self._idle) < _MAX_IDLE and not conn.writer.is_closing():
            self._idle.append(conn)
        else:
            conn.close()

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None = None,
    ) -> BackendResponse:
        """Send one request and read the answer's head. ``headers`` frame the body as the
        caller chose (``content-length`` or ``transfer-encoding: chunked``). A request on a
        pooled connection that the registry had closed meanwhile is sent again once, if
        no body was consumed yet."""
        for attempt in (0, 1):
            conn, pooled = await self._connect()
            try:
                return await self._exchange(conn, method, target, headers, body)
            except _Stale:
                conn.close()
                if attempt == 1 or not pooled:
                    raise _unreachable("the registry closed the connection") from None
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")

    async def _exchange(
        self,
        conn: _Connection,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None,
    ) -> BackendResponse:
        writer = conn.writer
        head = conn.h11.send(h11.Request(method=method, target=target, headers=headers))
        assert head is not None
        sent_body = False
        try:
            writer.write(head)
            if body is not None:
                try:
                    async for chunk in body:
                        if chunk:
                            sent_body = True
                            data = conn.h11.send(h11.Data(data=chunk))
                            if data:
                                writer.write(data)
                                await writer.drain()
                except BodyCut:
                    pass
            try:
                tail = conn.h11.send(h11.EndOfMessage())
            except h11.LocalProtocolError:  # a Content-Length body that ended early
                raise _unreachable("the request body ended early") from None
            if tail:
                writer.write(tail)
            await writer.drain()
        except (ConnectionError, OSError):
            if not sent_body:
                raise _Stale() from None
            raise _unreachable("the registry closed the connection mid-request") from None
        response = await asyncio.wait_for(self._head(conn, sent_body), _HEAD_TIMEOUT)
        return response

    async def _head(self, conn: _Connection, sent_body: bool) -> BackendResponse:
        while True:
            event = conn.h11.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await conn.reader.read(_READ)
                except (ConnectionError, OSError):
                    data = b""
                if not data and not sent_body and conn.h11.their_state is h11.SEND_RESPONSE:
                    raise _Stale()
                try:
                    conn.h11.receive_data(data)
                except h11.RemoteProtocolError as exc:
                    raise _unreachable(f"the registry's answer is malformed: {exc}") from None
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                return BackendResponse(event.status_code, list(event.headers), self, conn)
            if isinstance(event, h11.ConnectionClosed):
                if not sent_body:
                    raise _Stale()
                raise _unreachable("the registry closed the connection")
            raise _unreachable(f"unexpected {type(event).__name__} from the registry")

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _unreachable(message: str, kind: UnreachableKind = "protocol") -> RegistryUnreachable:
    return RegistryUnreachable(message, kind=kind)


class _Stale(Exception):
    """A pooled connection the registry had closed: safe to send the request again."""
