"""HTTP/1.1 to the registry child on its private loopback port: pooled, streamed both ways.

The front relays every ``/v2/`` request through here. Bodies are never held: a request body
is an async iterator of chunks sent as they come (framed by ``Content-Length`` or chunked),
and a response body is handed on slice by slice as it arrives.

Why by hand, on the event loop's socket calls: measured on a 128 MiB blob, asyncio's
``StreamReader`` (and h11 on top of it, and httpcore's 64 KiB reads) cost 3 to 7 times the
CPU of ``loop.sock_recv`` with 1 MiB reads (uvloop: 0.44 s against 0.06 s), and the front
must keep 80 % of a direct pull's throughput while the client shares the machine. The
peer is always our own registry child, so the grammar needed is small: a status line,
headers, and a body framed by ``Content-Length``, chunks, or the end of the connection. A
connection goes back to the pool only after a complete exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from ..errors import BodyCut, RegistryUnreachable, StaleConnection, UnreachableKind

__all__ = ["Backend", "BackendResponse", "BodyCut"]

_READ = 1 << 20  # one socket read: large slices keep the per-chunk cost of Python small
_MAX_IDLE = 32
_CONNECT_TIMEOUT = 10.0
_HEAD_TIMEOUT = 300.0  # a manifest PUT or a blob commit may take the registry a while
_MAX_HEAD = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


def _unreachable(message: str, kind: UnreachableKind = "protocol") -> RegistryUnreachable:
    return RegistryUnreachable(message, kind=kind)


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()  # read past the end of the last thing parsed
        self.loop = asyncio.get_running_loop()

    async def recv(self, limit: int = _READ) -> bytes:
        if self.pending:
            data = bytes(self.pending[:limit])
            del self.pending[:limit]
            return data
        return await self.loop.sock_recv(self.sock, limit)

    async def read_until(self, marker: bytes, limit: int) -> bytes:
        while True:
            found = self.pending.find(marker)
            if found >= 0:
                end = found + len(marker)
                data = bytes(self.pending[:end])
                del self.pending[:end]
                return data
            if len(self.pending) > limit:
                raise _unreachable("the registry sent an oversized header")
            more = await self.loop.sock_recv(self.sock, 65536)
            if not more:
                raise EOFError
            self.pending += more

    async def read_exactly(self, size: int) -> AsyncIterator[bytes]:
        while size > 0:
            data = await self.recv(min(size, _READ))
            if not data:
                raise _unreachable("the registry closed the connection mid-answer")
            size -= len(data)
            yield data

    async def send(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _parse_head(raw: bytes) -> tuple[int, list[tuple[bytes, bytes]]]:
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise _unreachable("the registry's answer is not HTTP/1.1")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise _unreachable("the registry sent a malformed header")
        headers.append((name.strip().lower(), value.strip()))
    return int(parts[1]), headers


class BackendResponse:
    """An answer whose body is still on the wire: iterate :meth:`body` once, or ``close``."""

    def __init__(
        self,
        status: int,
        headers: list[tuple[bytes, bytes]],
        backend: Backend,
        conn: _Connection,
        *,
        head_only: bool,
    ) -> None:
        self.status = status
        self.headers = headers
        self._backend = backend
        self._conn: _Connection | None = conn
        self._done = False
        self._keep = True
        self._mode, self._length = self._framing(head_only)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def _framing(self, head_only: bool) -> tuple[str, int]:
        connection = (self.header(b"connection") or b"").lower()
        self._keep = b"close" not in connection
        if head_only or self.status in _NO_BODY_STATUS or 100 <= self.status < 200:
            return "none", 0
        if b"chunked" in (self.header(b"transfer-encoding") or b"").lower():
            return "chunked", 0
        length = self.header(b"content-length")
        if length is not None and length.isdigit():
            return "length", int(length)
        self._keep = False
        return "close", 0

    async def body(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            if self._mode == "length":
                async for data in conn.read_exactly(self._length):
                    yield data
            elif self._mode == "chunked":
                async for data in self._chunks(conn):
                    yield data
            elif self._mode == "close":
                while data := await conn.recv():
                    yield data
            self._done = True
        finally:
            self.close()

    @staticmethod
    async def _chunks(conn: _Connection) -> AsyncIterator[bytes]:
        try:
            while True:
                line = await conn.read_until(b"\r\n", 1024)
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise _unreachable("the registry sent a malformed chunk") from None
                if size == 0:
                    while await conn.read_until(b"\r\n", _MAX_HEAD) != b"\r\n":
                        pass  # trailers: none are used
                    return
                async for data in conn.read_exactly(size):
                    yield data
                if await conn.read_until(b"\r\n", 2) != b"\r\n":
                    raise _unreachable("the registry sent a malformed chunk")
        except EOFError:
            raise _unreachable("the registry closed the connection mid-answer") from None

    def close(self) -> None:
        """Give the connection back if the exchange completed, else drop it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if (self._done or self._mode == "none") and self._keep:
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
        if self._idle:
            return self._idle.pop(), True
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.wait_for(
                asyncio.get_running_loop().sock_connect(sock, (self.host, self.port)),
                _CONNECT_TIMEOUT,
            )
        except (OSError, TimeoutError) as exc:
            sock.close()
            raise _unreachable(f"the registry child does not answer: {exc}", "connect") from None
        return _Connection(sock), False

    def release(self, conn: _Connection) -> None:
        if len(self._idle) < _MAX_IDLE and not conn.pending:
            self._idle.append(conn)
        else:
            conn.close()

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: AsyncIterator[bytes] | None = None,
        *,
        chunked: bool = False,
    ) -> BackendResponse:
        """Send one request and read the answer's head. ``headers`` must frame the body as
        ``chunked`` says (``content-length``, or ``transfer-encoding: chunked``). A request
        on a pooled connection that the registry had closed meanwhile is sent again once,
        if none of its body was sent yet."""
        for attempt in (0, 1):
            conn, pooled = await self._connect()
            try:
                return await self._exchange(conn, method, target, headers, body, chunked)
            except StaleConnection:
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
        chunked: bool,
    ) -> BackendResponse:
        head = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        sent_body = False
        try:
            await conn.send(b"".join(head))
            if body is not None:
                try:
                    async for chunk in body:
                        if not chunk:
                            continue
                        sent_body = True
                        if chunked:
                            await conn.send(b"%x\r\n" % len(chunk))
                            await conn.send(chunk)
                            await conn.send(b"\r\n")
                        else:
                            await conn.send(chunk)
                except BodyCut:
                    if not chunked:  # a Content-Length body cannot end early
                        raise _unreachable("the request body ended early") from None
                if chunked:
                    await conn.send(b"0\r\n\r\n")
        except OSError:
            if not sent_body:
                raise StaleConnection() from None
            raise _unreachable("the registry closed the connection mid-request") from None
        try:
            raw = await asyncio.wait_for(conn.read_until(b"\r\n\r\n", _MAX_HEAD), _HEAD_TIMEOUT)
        except (EOFError, OSError):
            if not sent_body:
                raise StaleConnection() from None
            raise _unreachable("the registry closed the connection") from None
        except TimeoutError:
            raise _unreachable("the registry did not answer in time", "timeout") from None
        status, response_headers = _parse_head(raw[:-4])
        while 100 <= status < 200:  # 100 Continue: the real answer follows
            raw = await asyncio.wait_for(conn.read_until(b"\r\n\r\n", _MAX_HEAD), _HEAD_TIMEOUT)
            status, response_headers = _parse_head(raw[:-4])
        return BackendResponse(status, response_headers, self, conn, head_only=method == "HEAD")

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
